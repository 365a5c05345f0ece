/**
 * The little CSS the inbound scan reads to tell what a person cannot see: inline `style`
 * declarations and simple class or id rules of `<style>` blocks that hide an element
 * (`display:none`, `visibility:hidden`, zero opacity or font size, zero size with overflow
 * hidden, clipping, off-screen positions or indents, `scale(0)`), and text colours, so text
 * coloured like its background (white on white) counts as hidden. Selectors other than `.class`
 * and `#id` are not read; neither are external stylesheets or scripts.
 *
 * @module
 */

/** The declarations of a `style` value, lower-cased, `!important` dropped. */
export function declarations(style: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of style.slice(0, 4096).split(";")) {
    const colon = part.indexOf(":");
    if (colon < 0) continue;
    const name = part.slice(0, colon).trim().toLowerCase();
    const value = part.slice(colon + 1).replace(/!\s*important/i, "").trim().toLowerCase();
    if (name) out.set(name, value);
  }
  return out;
}

const ZERO = /^-?0*(?:\.0+)?(?:px|em|rem|pt|%|vh|vw|ex|ch)?$/;
const FAR = /^-\d{3,}(?:\.\d+)?(?:px|em|rem|pt|vw|vh)?$/;

function length(value: string | undefined): string {
  return (value ?? "").split(/\s+/)[0];
}

/** Whether declarations hide their element (see the module doc); colours aside. */
export function hidesElement(d: ReadonlyMap<string, string>): boolean {
  if (d.size === 0) return false;
  const display = d.get("display");
  if (display === "none") return true;
  const visibility = d.get("visibility");
  if (visibility === "hidden" || visibility === "collapse") return true;
  if (ZERO.test(d.get("opacity") ?? "x")) return true;
  const fontSize = d.get("font-size");
  if (fontSize !== undefined && (ZERO.test(fontSize) || /^(?:0?\.\d+|1)px$/.test(fontSize))) {
    return true;
  }
  const overflow = d.get("overflow") ?? d.get("overflow-y") ?? d.get("overflow-x");
  if (
    overflow === "hidden" &&
    ["height", "width", "max-height", "max-width"].some((p) => ZERO.test(length(d.get(p)) || "x"))
  ) return true;
  const clip = d.get("clip");
  if (
    clip !== undefined &&
    /rect\(\s*0(?:px)?[\s,]+0(?:px)?[\s,]+0(?:px)?[\s,]+0(?:px)?\s*\)/.test(clip)
  ) {
    return true;
  }
  if (/inset\(\s*(?:50|100)%/.test(d.get("clip-path") ?? "")) return true;
  const position = d.get("position");
  if (
    (position === "absolute" || position === "fixed") &&
    ["left", "top", "right"].some((p) => FAR.test(length(d.get(p))))
  ) return true;
  if (FAR.test(length(d.get("text-indent")))) return true;
  if (/scale\(\s*0(?:\.0+)?\s*(?:,\s*0(?:\.0+)?\s*)?\)/.test(d.get("transform") ?? "")) return true;
  return false;
}

const NAMED_COLORS: Record<string, string> = {
  white: "#ffffff",
  black: "#000000",
  snow: "#fffafa",
  ivory: "#fffff0",
  whitesmoke: "#f5f5f5",
  ghostwhite: "#f8f8ff",
  floralwhite: "#fffaf0",
  red: "#ff0000",
  blue: "#0000ff",
  green: "#008000",
  gray: "#808080",
  grey: "#808080",
  silver: "#c0c0c0",
  yellow: "#ffff00",
};

/**
 * A colour as `#rrggbb`, `transparent`, or null when it is not one this reads.
 *
 * @example
 * ```ts
 * normalizeColor("#FFF"); // "#ffffff"
 * normalizeColor("rgba(0, 0, 0, 0)"); // "transparent"
 * ```
 */
export function normalizeColor(value: string): string | null {
  const v = value.trim().toLowerCase();
  if (v === "transparent") return "transparent";
  if (NAMED_COLORS[v]) return NAMED_COLORS[v];
  let m = /^#([0-9a-f]{3,4})$/.exec(v);
  if (m) {
    const [r, g, b, a] = [...m[1]];
    if (a === "0") return "transparent";
    return `#${r}${r}${g}${g}${b}${b}`;
  }
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/.exec(v);
  if (m) return m[2] === "00" ? "transparent" : `#${m[1]}`;
  m = /^rgba?\(\s*(\d{1,3})[\s,]+(\d{1,3})[\s,]+(\d{1,3})(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(v);
  if (m) {
    if (m[4] !== undefined && parseFloat(m[4]) === 0) return "transparent";
    return "#" +
      [m[1], m[2], m[3]].map((n) => Math.min(255, Number(n)).toString(16).padStart(2, "0"))
        .join("");
  }
  return null;
}

/** The text colour and background colour the declarations set (null: not set or unread). */
export function colorsOf(
  d: ReadonlyMap<string, string>,
): { color: string | null; bg: string | null } {
  const color = d.has("color") ? normalizeColor(d.get("color")!) : null;
  let bg: string | null = null;
  if (d.has("background-color")) bg = normalizeColor(d.get("background-color")!);
  else if (d.has("background")) {
    bg = normalizeColor(d.get("background")!.split(/\s+(?![^(]*\))/)[0]);
  }
  return { color, bg };
}

/** What the rules of a `<style>` block hide: class names and ids. */
export interface HidingRules {
  classes: Set<string>;
  ids: Set<string>;
}

/**
 * Adds to `rules` the `.class` and `#id` selectors whose declarations hide an element, or set a
 * transparent text colour. Linear: blocks are found with `indexOf`.
 */
export function readStyleBlock(css: string, rules: HidingRules): void {
  let i = 0;
  while (i < css.length) {
    const open = css.indexOf("{", i);
    if (open < 0) return;
    const close = css.indexOf("}", open + 1);
    if (close < 0) return;
    const selectors = css.slice(i, open);
    const body = css.slice(open + 1, close);
    i = close + 1;
    if (selectors.includes("@") || selectors.length > 2000) continue; // at-rules: skip the head
    const d = declarations(body);
    if (!hidesElement(d) && colorsOf(d).color !== "transparent") continue;
    for (const sel of selectors.split(",")) {
      const m = /^\s*[a-z0-9]*([.#])([A-Za-z_][\w-]{0,80})\s*$/.exec(
        sel.replace(/\/\*[^]*?\*\//g, ""),
      );
      if (m) (m[1] === "." ? rules.classes : rules.ids).add(m[2]);
    }
  }
}

/** Class names that hide by convention (Bootstrap, WordPress, Tailwind, screen-reader-only). */
export const HIDING_CLASSES = new Set([
  "hidden",
  "d-none",
  "sr-only",
  "visually-hidden",
  "visuallyhidden",
  "screen-reader-text",
  "invisible",
  "hide",
  "is-hidden",
  "u-hidden",
]);
