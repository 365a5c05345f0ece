/**
 * Normalisation before the signals are matched, so spelling tricks read as plain words: NFKC
 * (fullwidth and mathematical letters, ligatures) when the text is not ASCII; invisible and
 * bidirectional control characters dropped; Cyrillic and Greek letters that look Latin mapped
 * to Latin; markdown emphasis dropped (`**ig**nore` reads `ignore`); blanks collapsed to one
 * space and line ends to one `\n`. The markers of `signals.ts` (U+0001–U+0005) are kept.
 * Offsets change: normalised text is only scored, never edited.
 *
 * Also {@linkcode decodeEntities}, HTML character references in text and attribute values.
 *
 * @module
 */

/** Characters that render as nothing (zero-width, joiners, bidi controls, variation selectors). */
export const INVISIBLE =
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]|\udb40[\udc00-\udc7f\udd00-\uddef]/g;

const CONFUSABLE: Record<string, string> = {
  "а": "a",
  "е": "e",
  "о": "o",
  "р": "p",
  "с": "c",
  "у": "y",
  "х": "x",
  "і": "i",
  "ј": "j",
  "ѕ": "s",
  "ԁ": "d",
  "ɡ": "g",
  "һ": "h",
  "ӏ": "l",
  "ո": "n",
  "А": "A",
  "В": "B",
  "Е": "E",
  "К": "K",
  "М": "M",
  "Н": "H",
  "О": "O",
  "Р": "P",
  "С": "C",
  "Т": "T",
  "У": "Y",
  "Х": "X",
  "І": "I",
  "Ѕ": "S",
  "α": "a",
  "ο": "o",
  "ν": "v",
  "ι": "i",
  "ρ": "p",
  "τ": "t",
  "Α": "A",
  "Β": "B",
  "Ε": "E",
  "Ζ": "Z",
  "Η": "H",
  "Ι": "I",
  "Κ": "K",
  "Μ": "M",
  "Ν": "N",
  "Ο": "O",
  "Ρ": "P",
  "Τ": "T",
  "Υ": "Y",
  "Χ": "X",
};
const CONFUSABLE_RE = new RegExp(`[${Object.keys(CONFUSABLE).join("")}]`, "g");
const NON_ASCII = /[^\u0020-\u007e\t\n\r]/;

/**
 * Normalises a text for the signals (see the module doc).
 *
 * @example
 * ```ts
 * normalizeText("**IG**\u200bNORE   all\r\n\r\nprevious"); // "IGNORE all\nprevious"
 * ```
 */
export function normalizeText(text: string): string {
  let t = text;
  if (NON_ASCII.test(t)) {
    // NFKC also maps the other Unicode spaces to U+0020: only ASCII blanks are left after it.
    t = t.replace(INVISIBLE, "").normalize("NFKC").replace(CONFUSABLE_RE, (c) => CONFUSABLE[c]);
  }
  if (EMPHASIS_CHAR.test(t)) t = t.replace(EMPHASIS, "");
  return collapseBlanks(t);
}

const EMPHASIS_CHAR = /[*~_]/;
const EMPHASIS = /[*~]+|(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9])/g;

/** ASCII blank (space, tab, line ends, form feed, vertical tab). */
function isBlank(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Runs of blanks to one space, or one `\n` when the run has a line end; a heading's `#` marks
 * after a line end dropped. One pass; the text between changes is copied in slices.
 */
function collapseBlanks(t: string): string {
  let out = "";
  let last = 0;
  const n = t.length;
  for (let i = 0; i < n; i++) {
    const c = t.charCodeAt(i);
    if (!isBlank(c) || (c === 32 && !isBlank(t.charCodeAt(i + 1)))) continue;
    let j = i;
    let newline = false;
    for (; j < n && isBlank(t.charCodeAt(j)); j++) {
      const d = t.charCodeAt(j);
      if (d === 10 || d === 13) newline = true;
    }
    if (newline) {
      let k = j;
      while (k < n && k - j < 6 && t.charCodeAt(k) === 35 /* # */) k++;
      if (k > j && t.charCodeAt(k) === 32) {
        for (j = k; j < n && (t.charCodeAt(j) === 32 || t.charCodeAt(j) === 9); j++);
      }
    }
    out += t.slice(last, i) + (newline ? "\n" : " ");
    last = j;
    i = j - 1;
  }
  return last === 0 ? t : out + t.slice(last);
}

const NAMED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  ldquo: "\u201c",
  rdquo: "\u201d",
  lsquo: "\u2018",
  rsquo: "\u2019",
  hellip: "\u2026",
  mdash: "\u2014",
  ndash: "\u2013",
  zwj: "\u200d",
  zwnj: "\u200c",
  shy: "\u00ad",
  lrm: "\u200e",
  rlm: "\u200f",
  colon: ":",
  sol: "/",
  vert: "|",
  verbar: "|",
  lpar: "(",
  rpar: ")",
  lsqb: "[",
  rsqb: "]",
  lbrack: "[",
  rbrack: "]",
  excl: "!",
  period: ".",
  comma: ",",
  semi: ";",
  num: "#",
  dollar: "$",
  percnt: "%",
  ast: "*",
  equals: "=",
  tilde: "~",
  grave: "`",
  bsol: "\\",
  lowbar: "_",
  hyphen: "-",
  dash: "-",
  newline: "\n",
  tab: "\t",
};

/**
 * Decodes HTML character references (`&amp;`, `&#105;`, `&#x69;`, the common named ones); an
 * unknown name is kept as written.
 *
 * @example
 * ```ts
 * decodeEntities("&#105;gnore &amp; run"); // "ignore & run"
 * ```
 */
export function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(?:#[xX]([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([a-zA-Z]{2,10}));?/g, (
    whole,
    hex: string | undefined,
    dec: string | undefined,
    name: string | undefined,
  ) => {
    if (name !== undefined) return NAMED[name.toLowerCase()] ?? whole;
    const code = hex !== undefined ? parseInt(hex, 16) : Number(dec);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\ufffd";
    return String.fromCodePoint(code);
  });
}
