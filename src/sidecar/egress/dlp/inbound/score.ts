/**
 * The scorer: from the atoms of one unit to its verdict and evidence. Phrases alone decide
 * nothing; what counts is an **instruction addressed to the reader** together with a **harmful
 * action**, or such text in a hidden channel, within a window of {@linkcode WINDOW} chars.
 *
 * Features, each with a position:
 * - strong instructions (3): `override`, `authority`, `addressee`; weak ones (1): `directive`;
 * - actions: `execute` (a download piped to a shell 2, decode-and-execute 3, a dangerous command
 *   3, "run the following command" 1), `tool_call`, `disclose_prompt` (3), `read_secrets`
 *   (a revealing verb within 60 chars before a secret file: 2, a secret word: 1), `exfiltrate` (a sending
 *   verb, data, then a URL or address within 100 chars: 2; a URL to fill in: 2), `conceal` (2),
 *   `navigate` (1, only with a strong instruction). An action after "never", "do not"… counts
 *   nothing.
 *
 * Context: a strong instruction, a prompt disclosure, concealment or a URL to fill in, in visible text, is
 * *discounted* (weighs as a hint) when it is quoted (quotes, inline code, code blocks, `<q>`,
 * blockquotes) in a document that discusses prompt injection, or when a discussion signal
 * ("prompt injection", "example", "attackers"…) is within 300 chars. Text in a hidden channel is never discounted:
 * nobody quotes an example where the reader cannot see it.
 *
 * Verdicts over every window (S: strong instruction classes not discounted, W: a directive,
 * A: action points, H: harmful action classes weighing ≥ 2 other than a piped download or
 * navigation):
 * - high: S ≥ 1 and A ≥ 2; S ≥ 2; a prompt disclosure with W or S; W and H ≥ 2; a URL to fill
 *   in with W;
 * - medium: S ≥ 1; a prompt disclosure; W and H ≥ 1; A ≥ 5; a discounted instruction and A ≥ 2;
 *   a URL to fill in;
 * - hidden text is instruction-like when: S ≥ 1; a prompt disclosure; concealment; W and A ≥ 2;
 *   A ≥ 3; a URL to fill in. Scripts only count with S ≥ 1 or a prompt disclosure.
 *
 * Linear: pairs are made with last-seen positions, windows with two pointers.
 *
 * @module
 */

import { type Hit, ROLE } from "./signals.ts";
import type { Evidence, EvidenceClass, HiddenChannel, InboundLevel } from "./types.ts";

/** Width of the window an instruction and an action must share. */
export const WINDOW = 400;
const DISCUSSION_NEAR = 300;
/** Actions that a quote or a discussion also lowers (they are what articles show as examples). */
const DISCOUNTABLE = new Set([
  "output your system prompt",
  "URL to fill in",
  "do not tell the user",
  "silently",
]);

const STRONG = new Set<EvidenceClass>(["override", "authority", "addressee"]);
const ACTIONS: readonly EvidenceClass[] = [
  "execute",
  "tool_call",
  "disclose_prompt",
  "read_secrets",
  "exfiltrate",
  "conceal",
  "navigate",
];
const CLASS_INDEX = new Map<EvidenceClass, number>(
  [...STRONG, "directive" as const, ...ACTIONS].map((c, i) => [c, i]),
);
const N_CLASSES = CLASS_INDEX.size;

interface Feature {
  pos: number;
  cls: EvidenceClass;
  signal: string;
  points: number;
  /** A strong instruction that reads as quoted or discussed. */
  discounted: boolean;
}

/** The verdict on one unit. */
export interface UnitVerdict {
  level: InboundLevel;
  /** For hidden units: whether the text is instruction-like. */
  flagged: boolean;
  evidence: Evidence[];
}

/** A preposition (and "the URL", "this endpoint"…) just before a URL or an address. */
const TO_TARGET =
  /\b(?:to|at|into|via|on|in)\s(?:this\s|the\s|my\s|our\s|following\s)?(?:url\s|endpoint\s|webhook\s|server\s|address\s|site\s|domain\s|link\s|query\sstring\sof\s)?:?\s?[\w.+-]{0,64}$/i;
/** Data the agent has: what an exfiltration sends. */
const DATA =
  /\b(?:it|them|this\sdata|the\s(?:output|result|results|contents?|file|files|conversation|history|summary|response|values?|keys?|tokens?|secrets?|credentials|code|data|environment|repository)|your\s(?:data|keys?|tokens?|secrets?|credentials|conversation|history|files?|code|environment|env|context|memory)|everything|the\suser'?s?\s\w{1,20}|api\s?keys?|tokens|passwords?|credentials|secrets|environment\svariables|\.env|~\/\.ssh|id_rsa)\b/i;

/** Whether a send verb at `verb` sends data (named between it and the target) to the target. */
function sentTo(text: string, verb: number, target: number): boolean {
  const between = text.slice(verb, target);
  return TO_TARGET.test(between) && DATA.test(between);
}

const NEGATED =
  /\b(?:never|not|don't|dont|cannot|can't|won't|shouldn't|mustn't|avoid|refuse to|without|no need to)\s(?:\S+\s)?$/i;

/** Quoted state at each of `positions` (ascending) in `text`. */
function quotedAt(text: string, positions: readonly number[]): boolean[] {
  const out: boolean[] = [];
  let q = 0;
  let depth = 0;
  let open = -1;
  for (const p of positions) {
    for (; q < p; q++) {
      const c = text.charCodeAt(q);
      if (c === 1) depth++;
      else if (c === 2) depth = Math.max(0, depth - 1);
      else if (c === 34 || c === 96) open = open >= 0 ? -1 : q;
      else if (c === 0x201c || c === 0xab || c === 0x300c) open = q;
      else if (c === 0x201d || c === 0xbb || c === 0x300d) open = -1;
      if (open >= 0 && q - open > 600) open = -1;
    }
    out.push(depth > 0 || open >= 0);
  }
  return out;
}

/** Whether a discussion atom is within {@linkcode DISCUSSION_NEAR} of each position. */
function discussedAt(discussion: readonly number[], positions: readonly number[]): boolean[] {
  let d = 0;
  return positions.map((p) => {
    while (d < discussion.length && discussion[d] < p - DISCUSSION_NEAR) d++;
    return d < discussion.length && discussion[d] <= p + DISCUSSION_NEAR;
  });
}

const FEATURE_OF: Record<string, { cls: EvidenceClass; signal: string; points: number }> = {
  pipe: { cls: "execute", signal: "download piped to a shell", points: 2 },
  decode: { cls: "execute", signal: "decode and execute", points: 3 },
  secret: { cls: "read_secrets", signal: "read a secret", points: 1 },
  secretFile: { cls: "read_secrets", signal: "read a secret file", points: 2 },
  send: { cls: "exfiltrate", signal: "send data to a URL", points: 2 },
};

/** The features of a unit's hits (see the module doc). */
function features(
  text: string,
  hits: readonly Hit[],
  hidden: boolean,
  docDiscussion: boolean,
): Feature[] {
  const out: Feature[] = [];
  const discussion = hits.filter((h) => h.atom.cls === "discussion").map((h) => h.start);
  const strongHits = hits.filter((h) => DISCOUNTABLE.has(h.atom.id) || STRONG.has(h.atom.cls));
  const quoted = quotedAt(text, strongHits.map((h) => h.start));
  const discussed = discussedAt(discussion, strongHits.map((h) => h.start));
  const discountOf = new Map<Hit, boolean>();
  strongHits.forEach((h, i) => {
    discountOf.set(h, !hidden && ((quoted[i] && docDiscussion) || discussed[i]));
  });
  const negated = (h: Hit) => NEGATED.test(text.slice(Math.max(0, h.start - 28), h.start));
  let lastFetch = -Infinity;
  let lastRun = -Infinity;
  let lastDecode = -Infinity;
  let lastReveal = -Infinity;
  let lastSend = -Infinity;
  const add = (pos: number, key: keyof typeof FEATURE_OF) =>
    out.push({ pos, ...FEATURE_OF[key], discounted: false });
  for (const h of hits) {
    const { atom } = h;
    if (atom.id === "verb") {
      if (negated(h)) continue;
      if (h.roles & ROLE.fetch) lastFetch = h.start;
      if (h.roles & ROLE.run) {
        lastRun = h.start;
        if (h.start - lastDecode <= 120) add(h.start, "decode");
      }
      if (h.roles & ROLE.reveal) lastReveal = h.start;
      if (h.roles & ROLE.send) lastSend = h.start;
      continue;
    }
    switch (atom.pair) {
      case "pipe":
        if (h.start - lastFetch <= 200) add(h.start, "pipe");
        continue;
      case "decode":
        lastDecode = h.start;
        if (h.start - lastRun <= 120) add(h.start, "decode");
        continue;
      case "secret":
        if (h.start - lastReveal <= 60) add(h.start, atom.points >= 2 ? "secretFile" : "secret");
        continue;
      case "target":
        if (h.start - lastSend <= 100 && sentTo(text, lastSend, h.start)) add(h.start, "send");
        continue;
    }
    if (atom.cls === "discussion" || atom.points === 0) continue;
    const discounted = discountOf.get(h) ?? false;
    if (!STRONG.has(atom.cls) && atom.cls !== "directive" && atom.cls !== "conceal" && negated(h)) {
      continue;
    }
    const points = discounted && !STRONG.has(atom.cls) ? 1 : atom.points;
    out.push({ pos: h.start, cls: atom.cls, signal: atom.id, points, discounted });
  }
  return out.sort((a, b) => a.pos - b.pos);
}

interface WindowCounts {
  /** Per class: counts of features by points (0–3), discounted strong ones apart. */
  byPoints: Int32Array;
  discounted: number;
}

function maxPoints(w: WindowCounts, cls: EvidenceClass): number {
  const base = CLASS_INDEX.get(cls)! * 4;
  for (let p = 3; p >= 1; p--) if (w.byPoints[base + p] > 0) return p;
  return 0;
}

/** The verdict of one window's counts. */
function judge(
  w: WindowCounts,
  channel: HiddenChannel | null,
): { level: InboundLevel; flagged: boolean } {
  let s = 0;
  for (const c of STRONG) if (maxPoints(w, c) > 0) s++;
  const weak = maxPoints(w, "directive") > 0;
  const pts = (c: EvidenceClass) => maxPoints(w, c);
  let a = 0;
  let harm = 0;
  for (const c of ACTIONS) {
    const p = pts(c);
    if (c === "navigate") {
      if (s > 0) a += p;
      continue;
    }
    a += p;
    if (p >= 2 && (c !== "execute" || p >= 3)) harm++;
  }
  const disclose = pts("disclose_prompt") >= 3;
  const conceal = pts("conceal") >= 2;
  const sink = pts("exfiltrate") >= 2;
  const discounted = w.discounted > 0;
  let level: InboundLevel = "none";
  if (
    (s >= 1 && a >= 2) || s >= 2 || (disclose && (weak || s >= 1)) || (weak && harm >= 2) ||
    (sink && weak)
  ) {
    level = "high";
  } else if (
    s >= 1 || disclose || (weak && harm >= 1) || a >= 5 || (discounted && a >= 2) || sink
  ) level = "medium";
  const flagged = channel === "script"
    ? s >= 1 || disclose
    : s >= 1 || disclose || conceal || (weak && a >= 2) || a >= 3 || sink;
  return { level, flagged };
}

const RANK: Record<InboundLevel, number> = { none: 0, medium: 1, high: 2 };

/**
 * The verdict on one unit from its hits (ordered by position) in its normalised `text`.
 *
 * @param docDiscussion the document as a whole discusses prompt injection (quoted instructions
 *   in it are examples).
 */
export function scoreUnit(
  text: string,
  hits: readonly Hit[],
  channel: HiddenChannel | null,
  location: string,
  docDiscussion: boolean,
): UnitVerdict {
  const fs = features(text, hits, channel !== null, docDiscussion);
  const counts: WindowCounts = { byPoints: new Int32Array(N_CLASSES * 4), discounted: 0 };
  const put = (f: Feature, d: number) => {
    if (f.discounted && STRONG.has(f.cls)) counts.discounted += d;
    else counts.byPoints[CLASS_INDEX.get(f.cls)! * 4 + f.points] += d;
  };
  let best: { level: InboundLevel; flagged: boolean } = { level: "none", flagged: false };
  let bestWindow: Feature[] = [];
  let bestRank = 0;
  let l = 0;
  for (let r = 0; r < fs.length; r++) {
    put(fs[r], 1);
    while (fs[r].pos - fs[l].pos > WINDOW) put(fs[l++], -1);
    const v = judge(counts, channel);
    const rank = RANK[v.level] * 2 + (v.flagged ? 1 : 0);
    if (rank > bestRank || (rank === bestRank && rank > 0 && r + 1 - l > bestWindow.length)) {
      best = v;
      bestRank = rank;
      bestWindow = fs.slice(l, r + 1);
    }
  }
  if (best.level === "none" && !best.flagged) return { ...best, evidence: [] };
  const seen = new Set<string>();
  const evidence: Evidence[] = [];
  for (const f of bestWindow) {
    const key = `${f.cls}:${f.signal}`;
    if (seen.has(key) || evidence.length >= 12) continue;
    seen.add(key);
    evidence.push({
      class: f.cls,
      signal: f.discounted ? `${f.signal} (quoted)` : f.signal,
      location,
    });
  }
  return { ...best, evidence };
}

/** Whether hits (of the visible units) show a document that discusses prompt injection. */
export function discussesInjection(hits: readonly Hit[]): boolean {
  let n = 0;
  for (const h of hits) if (h.atom.cls === "discussion" && ++n >= 2) return true;
  return false;
}
