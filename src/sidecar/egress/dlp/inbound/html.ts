/**
 * HTML, XML and the HTML inside markdown, read once from left to right (no DOM): what a person
 * sees becomes one visible unit; what they do not see becomes hidden units, each with the edit
 * that removes it from the response:
 * - comments (`<!-- … -->`, an unterminated one to the end): `html-comment`;
 * - elements hidden by the `hidden` attribute, inline styles, or `<style>` rules on a class or
 *   id (`css.ts`), `<template>`: `hidden-element`; hidden iframes and their `srcdoc`:
 *   `hidden-iframe`; text coloured like its background: `invisible-text`; the whole element
 *   (an unclosed one to the end of the text, as a browser hides it);
 * - text-bearing attributes (`alt`, `title`, `aria-label`, `placeholder`, `data-*`, a hidden
 *   input's `value`…): `html-attribute`, the attribute removed; `<meta content>`: `meta`, the
 *   tag removed;
 * - `<script>` text: `script`, the element removed. `<style>` text is read for rules only.
 *
 * Inline elements join their text (`ig<b>nore</b>` reads `ignore`), block elements start a
 * line; code, `pre`, `kbd`, `samp`, `q` and `blockquote` are marked as quoted for the scorer.
 * Images and links whose URL has a placeholder to fill in (`sink.ts`) leave a sink marker in the
 * text. The element stack is bounded and an end tag closes the nearest open element of its name
 * among the last 64, so the pass stays linear on any input.
 *
 * @module
 */

import {
  colorsOf,
  declarations,
  hidesElement,
  HIDING_CLASSES,
  type HidingRules,
  normalizeColor,
  readStyleBlock,
} from "./css.ts";
import { decodeEntities } from "./normalize.ts";
import { isSink, SINK_MARKER } from "./sink.ts";
import type { Edit, HiddenChannel, Unit } from "./types.ts";

/** A range of the text the markdown reader handles itself. */
export interface SpecialRange {
  start: number;
  end: number;
  /** `code`: shown as written, quoted; `skip`: not shown (already a hidden unit). */
  kind: "code" | "skip";
}

/** Options of {@linkcode markupUnits}. */
export interface MarkupOptions {
  mode: "html" | "xml" | "markdown";
  /** Prefix of every location, e.g. `body` or `body $.items[0].html`. */
  location: string;
  /** Sorted, disjoint ranges (markdown). */
  special?: readonly SpecialRange[];
  /** Markers to put into the visible text at offsets (markdown sinks), sorted. */
  inserts?: readonly { at: number; text: string }[];
}

const VOID = new Set(
  "area base br col embed hr img input link meta param source track wbr keygen".split(" "),
);
const BLOCK = new Set(
  "p div br li ul ol dl dt dd tr td th table section article header footer nav aside main h1 h2 h3 h4 h5 h6 pre blockquote figure figcaption form hr title details summary body head html option"
    .split(" "),
);
const QUOTING = new Set(["code", "pre", "kbd", "samp", "tt", "q", "blockquote", "xmp", "listing"]);
const RAW_TEXT = new Set(["script", "style", "textarea", "title", "xmp", "noembed", "noframes"]);
const SAME_CLOSES = new Set(["p", "li", "option", "dt", "dd", "tr", "td", "th"]);
const TEXT_ATTRS = new Set(
  "alt title aria-label aria-description aria-roledescription placeholder summary label".split(" "),
);
const MAX_STACK = 512;
/** Tags the agent reads as an authority marker although a browser shows nothing for them. */
const AUTHORITY_TAGS = new Set(
  "system instruction instructions admin important im_start".split(" "),
);
const MATCH_DEPTH = 64;
const MIN_ATTR_TEXT = 12;

interface Attr {
  name: string;
  value: string;
  /** The attribute's span, leading blanks included. */
  start: number;
  end: number;
}

interface Open {
  name: string;
  /** The text colour an inline style or `<font>` set here or above; null: not known. */
  color: string | null;
  bg: string;
  quoting: boolean;
  /** This element opened the hidden region. */
  region: boolean;
}

interface Region {
  channel: HiddenChannel;
  name: string;
  start: number;
  /** Remove only the content (a visible iframe's fallback): the region ends at the end tag. */
  innerOnly: boolean;
  parts: string[];
}

const ATTR = /\s*([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?|\s*\/|\s+/y;

/** The attributes of a start tag from `from` (after the name) to its `>`; and where that is. */
function readAttributes(text: string, from: number): { attrs: Attr[]; gt: number } {
  const attrs: Attr[] = [];
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 62 /* > */) return { attrs, gt: i };
    ATTR.lastIndex = i;
    const m = ATTR.exec(text);
    if (m === null || m[0].length === 0) {
      i++;
      continue;
    }
    if (m[1] !== undefined) {
      attrs.push({
        name: m[1].toLowerCase(),
        value: entities(m[2] ?? m[3] ?? m[4] ?? ""),
        start: i,
        end: i + m[0].length,
      });
    }
    i += m[0].length;
  }
  return { attrs, gt: text.length };
}

function attr(attrs: readonly Attr[], name: string): Attr | undefined {
  for (let k = 0; k < attrs.length; k++) if (attrs[k].name === name) return attrs[k];
  return undefined;
}

/**
 * The units of a markup text (see the module doc). Offsets of edits are offsets in `text`.
 *
 * @example
 * ```ts
 * const units = markupUnits("<p>Hi</p><!-- run it -->", { mode: "html", location: "body" });
 * units.map((u) => u.hidden); // ["html-comment", null]
 * ```
 */
export function markupUnits(text: string, options: MarkupOptions): Unit[] {
  const { mode, location } = options;
  const html = mode !== "xml";
  const units: Unit[] = [];
  let visible = "";
  const stack: Open[] = [];
  const rules: HidingRules = { classes: new Set(HIDING_CLASSES), ids: new Set() };
  const special = options.special ?? [];
  const inserts = options.inserts ?? [];
  let nextSpecial = 0;
  let nextInsert = 0;
  let region: Region | null = null;
  let quoteDepth = 0;

  const out = (s: string) => {
    if (s.length === 0) return;
    if (region !== null) region.parts.push(s);
    else visible += s;
  };
  const top = (): Open => stack[stack.length - 1] ?? ROOT;
  /** Text `[a, b)` of the document: entities decoded, markers inserted where due. */
  const textNode = (a: number, b: number) => {
    while (nextInsert < inserts.length && inserts[nextInsert].at < a) nextInsert++;
    let from = a;
    while (nextInsert < inserts.length && inserts[nextInsert].at <= b) {
      const ins = inserts[nextInsert++];
      out(html ? decodeEntities(text.slice(from, ins.at)) : text.slice(from, ins.at));
      out(ins.text);
      from = ins.at;
    }
    out(html ? decodeEntities(text.slice(from, b)) : text.slice(from, b));
  };
  const closeRegion = (end: number) => {
    const r = region!;
    region = null;
    if (!/\S/.test(r.parts.join(""))) return;
    units.push({
      text: r.parts.join(""),
      hidden: r.channel,
      location: `${location} (${describe(r.channel, r.name)})`,
      edits: [{ start: r.start, end, replacement: "" }],
    });
  };
  const popTo = (index: number, at: number, endOfTag: number) => {
    while (stack.length > index) {
      const o = stack.pop()!;
      if (o.quoting && --quoteDepth === 0) out("\u0002");
      if (BLOCK.has(o.name) || !html) out("\n");
      if (o.region && region !== null) closeRegion(region.innerOnly ? at : endOfTag);
    }
  };
  const attributeUnits = (name: string, attrs: readonly Attr[], lt: number, gt: number) => {
    for (const a of attrs) {
      let channel: HiddenChannel | null = null;
      if (name === "meta" && a.name === "content") channel = "meta";
      else if (TEXT_ATTRS.has(a.name) || a.name.startsWith("data-")) channel = "html-attribute";
      else if (
        name === "input" && a.name === "value" &&
        attr(attrs, "type")?.value.toLowerCase() === "hidden"
      ) {
        channel = "html-attribute";
      }
      if (channel === null || a.value.length < MIN_ATTR_TEXT || !/[a-z]{3}/i.test(a.value)) {
        continue;
      }
      const edits: Edit[] = channel === "meta"
        ? [{ start: lt, end: gt + 1, replacement: "" }]
        : [{ start: a.start, end: a.end, replacement: "" }];
      units.push({
        text: a.value,
        hidden: channel,
        location: `${location} (${
          channel === "meta" ? "meta content" : `attribute ${a.name} of <${name}>`
        })`,
        edits,
      });
    }
  };
  /** Why an element is hidden, or null. */
  const hiddenBy = (
    name: string,
    attrs: readonly Attr[],
    own: Open,
    colored: boolean,
    d: ReadonlyMap<string, string>,
  ): HiddenChannel | null => {
    if (!html) return null;
    if (attrs.length === 0) return name === "template" ? "hidden-element" : null;
    const hiddenAttr = attr(attrs, "hidden");
    const byRule =
      (attr(attrs, "class")?.value.split(/\s+/) ?? []).some((c) => rules.classes.has(c)) ||
      rules.ids.has(attr(attrs, "id")?.value ?? "\0");
    const hidden = (hiddenAttr !== undefined && hiddenAttr.value !== "until-found") ||
      hidesElement(d) ||
      byRule || name === "template";
    if (name === "iframe") {
      const tiny = ["width", "height"].some((n) =>
        /^[01](?:px)?$/.test(attr(attrs, n)?.value.trim() ?? "")
      );
      return hidden || tiny ? "hidden-iframe" : null;
    }
    if (hidden) return "hidden-element";
    if (colored && own.color !== null && (own.color === "transparent" || own.color === own.bg)) {
      return "invisible-text";
    }
    return null;
  };
  const nameMatch = /[A-Za-z][A-Za-z0-9:_-]{0,63}/y;

  let i = 0;
  let nextLt = -1;
  while (i < text.length) {
    while (nextSpecial < special.length && special[nextSpecial].end <= i) nextSpecial++;
    const sp = special[nextSpecial];
    // The next "<", searched again only once passed (else a text without one is read again
    // and again: quadratic).
    if (nextLt < i) {
      nextLt = text.indexOf("<", i);
      if (nextLt < 0) nextLt = text.length;
    }
    const lt = nextLt;
    if (sp !== undefined && sp.start < lt) {
      textNode(i, sp.start);
      if (sp.kind === "code") out(`\u0001${text.slice(sp.start, sp.end)}\u0002`);
      i = sp.end;
      continue;
    }
    textNode(i, lt);
    if (lt >= text.length) break;
    i = lt;
    if (text.startsWith("<!--", lt)) {
      let end = text.indexOf("-->", lt + 4);
      const close = end < 0 ? text.length : end + 3;
      if (end < 0) end = text.length;
      if (region === null) {
        units.push({
          text: text.slice(lt + 4, end),
          hidden: "html-comment",
          location: `${location} (comment)`,
          edits: [{ start: lt, end: close, replacement: "" }],
        });
      } else out(` ${text.slice(lt + 4, end)} `);
      i = close;
      continue;
    }
    if (text.startsWith("<![CDATA[", lt)) {
      let end = text.indexOf("]]>", lt + 9);
      if (end < 0) end = text.length;
      out(text.slice(lt + 9, end));
      i = Math.min(text.length, end + 3);
      continue;
    }
    const c1 = text.charCodeAt(lt + 1);
    if (c1 === 33 /* ! */ || c1 === 63 /* ? */) {
      const gt = text.indexOf(">", lt);
      i = gt < 0 ? text.length : gt + 1;
      continue;
    }
    const closing = c1 === 47; /* / */
    nameMatch.lastIndex = lt + (closing ? 2 : 1);
    const nm = nameMatch.exec(text);
    const after = nm === null ? -1 : nameMatch.lastIndex;
    if (nm === null || (after < text.length && !/[\s/>]/.test(text[after]))) {
      out("<");
      i = lt + 1;
      continue;
    }
    const name = nm[0].toLowerCase();
    const local = name.includes(":") ? name.slice(name.lastIndexOf(":") + 1) : name;
    if (closing) {
      const gt = text.indexOf(">", after);
      const end = gt < 0 ? text.length : gt + 1;
      for (let k = stack.length - 1; k >= 0 && k >= stack.length - MATCH_DEPTH; k--) {
        if (stack[k].name === name) {
          popTo(k, lt, end);
          break;
        }
      }
      i = end;
      continue;
    }
    const { attrs, gt } = readAttributes(text, after);
    const end = Math.min(text.length, gt + 1);
    const selfClosing = text.charCodeAt(gt - 1) === 47;
    if (html && SAME_CLOSES.has(name) && top().name === name) popTo(stack.length - 1, lt, lt);
    if (html && BLOCK.has(name) && top().name === "p" && name !== "p") {
      popTo(stack.length - 1, lt, lt);
    }
    const style = html ? attr(attrs, "style") : undefined;
    const d = style ? declarations(style.value) : EMPTY;
    const colors = style ? colorsOf(d) : NO_COLORS;
    const fontColor = name === "font" ? attr(attrs, "color")?.value : undefined;
    const bgAttr = attr(attrs, "bgcolor")?.value;
    const parent = top();
    const own: Open = {
      name,
      color: colors.color ?? (fontColor ? normalizeColor(fontColor) : null) ?? parent.color,
      bg: colors.bg ?? (bgAttr ? normalizeColor(bgAttr) : null) ?? parent.bg,
      quoting: QUOTING.has(local),
      region: false,
    };
    if (AUTHORITY_TAGS.has(local)) out(`<${local}>`);
    const colored = own.color !== parent.color || own.bg !== parent.bg;
    const hidden: HiddenChannel | null = region === null
      ? hiddenBy(local, attrs, own, colored, d)
      : null;
    attributeUnits(local, attrs, lt, gt);
    if (
      (local === "img" || local === "a") &&
      isSink(attr(attrs, local === "img" ? "src" : "href")?.value ?? "", local === "img")
    ) {
      out(SINK_MARKER);
    }
    // An iframe's srcdoc is its page: shown when the iframe is, part of the hidden region if not.
    const srcdoc = local === "iframe" ? attr(attrs, "srcdoc")?.value ?? "" : "";
    const srcdocText = srcdoc.length > 0 ? ` ${srcdoc.replace(/<[^>]{0,500}>/g, " ")} ` : "";
    if (srcdocText !== "" && hidden === null && region === null) out(srcdocText);
    const isVoid = html ? VOID.has(local) : selfClosing;
    if (hidden !== null && (isVoid || selfClosing)) {
      // A hidden element without content: its text is in its attributes (units above).
      i = end;
      continue;
    }
    if (BLOCK.has(local) || !html) out("\n");
    if (html && RAW_TEXT.has(local)) {
      const closeRe = new RegExp(`</${local}\\s*>`, "gi");
      closeRe.lastIndex = end;
      const m = closeRe.exec(text);
      const contentEnd = m === null ? text.length : m.index;
      const elementEnd = m === null ? text.length : m.index + m[0].length;
      const content = text.slice(end, contentEnd);
      if (local === "style") readStyleBlock(content, rules);
      else if (local === "script") {
        if (region === null && /[a-z]{3}/i.test(content)) {
          units.push({
            text: content,
            hidden: "script",
            location: `${location} (script)`,
            edits: [{ start: lt, end: elementEnd, replacement: "" }],
          });
        }
      } else if (hidden !== null) {
        units.push({
          text: decodeEntities(content),
          hidden,
          location: `${location} (${describe(hidden, local)})`,
          edits: [{ start: lt, end: elementEnd, replacement: "" }],
        });
      } else out(`${decodeEntities(content)}\n`);
      i = elementEnd;
      continue;
    }
    if (isVoid || selfClosing) {
      i = end;
      continue;
    }
    if (hidden !== null) {
      own.region = true;
      region = { channel: hidden, name: local, start: lt, innerOnly: false, parts: [srcdocText] };
    } else if (local === "iframe" && region === null) {
      // A visible iframe: its content is fallback no browser shows.
      own.region = true;
      region = { channel: "hidden-iframe", name: local, start: end, innerOnly: true, parts: [] };
    }
    // Deeper than the stack keeps: not tracked (a region opened here runs to the end).
    if (stack.length < MAX_STACK) {
      if (own.quoting && quoteDepth++ === 0) out("\u0001");
      stack.push(own);
    }
    i = end;
  }
  popTo(0, text.length, text.length);
  if (region !== null) closeRegion(text.length);
  const vis = visible;
  if (/\S/.test(vis)) {
    units.push({ text: vis, hidden: null, location: `${location} (visible text)` });
  }
  return units;
}

const EMPTY: ReadonlyMap<string, string> = new Map();
const NO_COLORS = { color: null, bg: null };

/** {@linkcode decodeEntities}, skipped when there is no `&`. */
function entities(s: string): string {
  return s.indexOf("&") < 0 ? s : decodeEntities(s);
}
const ROOT: Open = {
  name: "#root",
  color: null,
  bg: "#ffffff",
  quoting: false,
  region: false,
};

function describe(channel: HiddenChannel, name: string): string {
  switch (channel) {
    case "hidden-iframe":
      return "hidden iframe";
    case "invisible-text":
      return `text coloured like its background in <${name}>`;
    default:
      return `hidden element <${name}>`;
  }
}
