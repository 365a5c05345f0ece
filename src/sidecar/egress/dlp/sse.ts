/**
 * `SseScanner`: splits a `text/event-stream` into events as chunks arrive (any line end, a line
 * end split across chunks, `data:` lines joined with `\n`) and runs the inbound scan per event
 * without buffering the stream. LLM streams send a few tokens per event, so the text of each
 * event (for JSON events, the streamed text fields: `text`, `delta`, `content`…) is appended to a
 * short rolling window and phrases are matched in the window: a phrase cut across events is
 * still found. The verdict is cumulative over the stream.
 *
 * @module
 */

import { inboundLevel, inboundPhrases, normalizeInbound } from "./inbound.ts";
import type { InboundLevel } from "./types.ts";

/** Chars of earlier events kept for phrases that span events (longer than any phrase). */
const WINDOW_CHARS = 1024;
/** Longest line or event kept before it is scanned in pieces. */
const MAX_PENDING_CHARS = 1024 * 1024;

const TEXT_KEYS = new Set([
  "text",
  "content",
  "delta",
  "partial_json",
  "thinking",
  "completion",
  "arguments",
  "output_text",
  "refusal",
  "message",
  "value",
]);

/** The streamed text of a JSON event, in order; null if the data is not JSON. */
function streamedText(data: string): string | null {
  const first = data.trimStart()[0];
  if (first !== "{" && first !== "[") return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  let out = "";
  const stack: unknown[] = [value];
  const visit = (v: unknown, depth: number) => {
    if (depth > 16 || v === null || typeof v !== "object") return;
    for (const [key, child] of Object.entries(v)) {
      if (typeof child === "string") {
        if (TEXT_KEYS.has(key)) out += child;
      } else visit(child, depth + 1);
    }
  };
  visit(stack[0], 0);
  return out;
}

/** Splits an SSE stream into events and scans each (see the module doc). */
export class SseScanner {
  #line = "";
  #data: string[] = [];
  #dataChars = 0;
  #window = "";
  #found = new Set<string>();
  #level: InboundLevel = "none";

  /**
   * Feeds the next chunk (decoded text). Returns the `data` of each event completed by it and
   * the verdict so far.
   *
   * @example
   * ```ts
   * const sse = new SseScanner();
   * sse.push("data: a\n\nda"); // { events: ["a"], verdict: "none" }
   * sse.push("ta: b\n\n"); // { events: ["b"], verdict: "none" }
   * ```
   */
  push(chunk: string): { events: string[]; verdict: InboundLevel } {
    const events: string[] = [];
    const text = this.#line + chunk;
    let start = 0;
    for (;;) {
      const lf = text.indexOf("\n", start);
      const cr = text.indexOf("\r", start);
      const end = cr >= 0 && (lf < 0 || cr < lf) ? cr : lf;
      if (end < 0) break;
      if (end === cr && cr === text.length - 1) break; // "\r" last: a "\n" may follow
      const next = end === cr && text.charCodeAt(cr + 1) === 10 ? cr + 2 : end + 1;
      this.#lineDone(text.slice(start, end), events);
      start = next;
    }
    this.#line = text.slice(start);
    if (this.#line.length > MAX_PENDING_CHARS) {
      // A line without an end: scan what there is and keep only a tail to finish the line.
      this.#scan(this.#line);
      this.#line = this.#line.slice(-WINDOW_CHARS);
    }
    return { events, verdict: this.#level };
  }

  /** The verdict so far. */
  get verdict(): InboundLevel {
    return this.#level;
  }

  /** The phrases found so far. */
  get reasons(): string[] {
    return [...this.#found];
  }

  #lineDone(line: string, events: string[]): void {
    if (line === "") {
      if (this.#data.length > 0) {
        const data = this.#data.join("\n");
        events.push(data);
        this.#scan(streamedText(data) ?? data + " ");
      }
      this.#data = [];
      this.#dataChars = 0;
      return;
    }
    if (line.startsWith(":")) return; // comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== "data") return;
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    this.#data.push(value);
    this.#dataChars += value.length;
    if (this.#dataChars > MAX_PENDING_CHARS) {
      this.#scan(this.#data.join("\n"));
      this.#data = [];
      this.#dataChars = 0;
    }
  }

  #scan(text: string): void {
    if (text.length === 0) return;
    const combined = normalizeInbound(this.#window + text);
    for (const id of inboundPhrases(combined)) this.#found.add(id);
    this.#level = inboundLevel(this.#found);
    this.#window = combined.slice(-WINDOW_CHARS);
  }
}
