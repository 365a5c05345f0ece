/**
 * Markdown (and plain text, which is how raw markdown files are often served): code fences and
 * inline code are shown as written, so they are marked quoted and never read as markup; the
 * comment idiom `[//]: # (…)` and image alt texts are hidden channels (`markdown-comment`,
 * `markdown-alt`); the HTML between them goes through `html.ts` (comments, hidden elements,
 * attributes); images and links whose URL has a placeholder leave the sink marker.
 *
 * @module
 */

import { markupUnits, type SpecialRange } from "./html.ts";
import { isSink, markdownLinks, SINK_MARKER } from "./sink.ts";
import type { Unit } from "./types.ts";

const FENCE = /^ {0,3}(`{3,}|~{3,})/gm;
const COMMENT_IDIOM =
  /^ {0,3}\[(?:\/\/|#|comment|_|\/\/#)\]: ?(?:#|<>|<#>)? ?(?:\((.{0,4000})\)|"(.{0,4000})"|'(.{0,4000})')[ \t]*$/gim;

/** The code fences of a text, as ranges (an unclosed fence runs to the end). */
function fences(text: string): SpecialRange[] {
  const out: SpecialRange[] = [];
  FENCE.lastIndex = 0;
  for (let m = FENCE.exec(text); m !== null; m = FENCE.exec(text)) {
    const marker = m[1];
    const start = m.index;
    const closeRe = new RegExp(
      `^ {0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}[ \\t]*$`,
      "gm",
    );
    const lineEnd = text.indexOf("\n", start);
    if (lineEnd < 0) {
      out.push({ start, end: text.length, kind: "code" });
      break;
    }
    closeRe.lastIndex = lineEnd + 1;
    const close = closeRe.exec(text);
    const end = close === null ? text.length : close.index + close[0].length;
    out.push({ start, end, kind: "code" });
    FENCE.lastIndex = end;
  }
  return out;
}

/**
 * Indented code blocks outside fences: lines indented by four spaces or a tab, after a blank line
 * (or the text's start), up to the next line that is neither indented nor blank.
 */
function indented(text: string, fenced: readonly SpecialRange[]): SpecialRange[] {
  const out: SpecialRange[] = [];
  let f = 0;
  let lineStart = 0;
  let prevBlank = true;
  let open = -1;
  let lastCode = -1;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    while (f < fenced.length && fenced[f].end <= lineStart) f++;
    const inFence = f < fenced.length && fenced[f].start <= lineStart;
    const line = text.slice(lineStart, lineEnd);
    const blank = line.trim() === "";
    const code = !inFence && /^(?: {4}|\t)/.test(line) && !blank;
    if (code && (open >= 0 || prevBlank)) {
      if (open < 0) open = lineStart;
      lastCode = lineEnd;
    } else if (!blank && open >= 0) {
      out.push({ start: open, end: lastCode, kind: "code" });
      open = -1;
    }
    prevBlank = blank;
    if (lineEnd >= text.length) break;
    lineStart = lineEnd + 1;
  }
  if (open >= 0) out.push({ start: open, end: lastCode, kind: "code" });
  return out;
}

/** Inline code spans outside `blocked` ranges: a backtick run to the next run of its length. */
function inlineCode(text: string, blocked: readonly SpecialRange[]): SpecialRange[] {
  const out: SpecialRange[] = [];
  const re = /`+/g;
  let b = 0;
  let open: { start: number; len: number } | null = null;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    while (b < blocked.length && blocked[b].end <= m.index) b++;
    if (b < blocked.length && blocked[b].start <= m.index) {
      open = null;
      re.lastIndex = blocked[b].end;
      continue;
    }
    if (open === null) open = { start: m.index, len: m[0].length };
    else if (m[0].length === open.len) {
      const between = text.slice(open.start, m.index);
      if (!/\n[ \t]*\n/.test(between)) {
        out.push({ start: open.start, end: m.index + m[0].length, kind: "code" });
      }
      open = null;
    } else if (m.index - open.start > 4000) open = { start: m.index, len: m[0].length };
  }
  return out;
}

function merge(a: readonly SpecialRange[], b: readonly SpecialRange[]): SpecialRange[] {
  const all = [...a, ...b].sort((x, y) => x.start - y.start);
  const out: SpecialRange[] = [];
  for (const r of all) {
    if (out.length > 0 && r.start < out[out.length - 1].end) continue; // overlaps: first wins
    out.push(r);
  }
  return out;
}

/**
 * The units of a markdown text. Offsets of edits are offsets in `text`.
 *
 * @example
 * ```ts
 * markdownUnits("Hi\n\n[//]: # (run it)\n", "body").map((u) => u.hidden);
 * // ["markdown-comment", null]
 * ```
 */
export function markdownUnits(text: string, location: string): Unit[] {
  const fenced = fences(text);
  const codeBlocks = merge(fenced, indented(text, fenced));
  const units: Unit[] = [];
  const skips: SpecialRange[] = [];
  COMMENT_IDIOM.lastIndex = text.includes("]:") ? 0 : text.length;
  for (let m = COMMENT_IDIOM.exec(text); m !== null; m = COMMENT_IDIOM.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    if (codeBlocks.some((c) => c.start <= start && start < c.end)) continue;
    const lineEnd = text.charCodeAt(end) === 10 ? end + 1 : end;
    units.push({
      text: m[1] ?? m[2] ?? m[3] ?? "",
      hidden: "markdown-comment",
      location: `${location} (markdown comment)`,
      edits: [{ start, end: lineEnd, replacement: "" }],
    });
    skips.push({ start, end: lineEnd, kind: "skip" });
  }
  const inserts: { at: number; text: string }[] = [];
  let c = 0;
  for (const link of markdownLinks(text)) {
    while (c < codeBlocks.length && codeBlocks[c].end <= link.end) c++;
    const inCode = c < codeBlocks.length && codeBlocks[c].start < link.end;
    if (inCode) continue;
    if (isSink(link.url, link.image)) inserts.push({ at: link.end, text: ` ${SINK_MARKER} ` });
    if (link.alt !== null && link.alt[1] - link.alt[0] >= 12) {
      const [a, b] = link.alt;
      units.push({
        text: text.slice(a, b),
        hidden: "markdown-alt",
        location: `${location} (image alt text)`,
        edits: [{ start: a, end: b, replacement: "" }],
      });
      skips.push({ start: a, end: b, kind: "skip" });
    }
  }
  const blocked = merge(codeBlocks, skips);
  const special = merge(blocked, inlineCode(text, blocked));
  return [
    ...units,
    ...markupUnits(text, {
      mode: "markdown",
      location,
      special,
      inserts: inserts.sort((x, y) => x.at - y.at),
    }),
  ];
}
