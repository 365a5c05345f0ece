/**
 * Event streams (`text/event-stream`) for the inbound scan: the stream is split into events as
 * chunks arrive (any line end; an event ends at an empty line), and each event's data (its
 * `data:` lines joined with `\n`) is scanned as a message on its own (`verdict.ts`) and, for
 * LLM-style token streams, together with the streamed text of the events before it (for JSON
 * events: the text fields, `text`, `delta`, `content`…), a rolling window of
 * {@linkcode WINDOW_CHARS}. A neutralised event is written again with its other lines as they
 * were and its data lines rebuilt from the edited data.
 *
 * @module
 */

import type { InboundPolicy } from "./policy.ts";
import { type InboundVerdict, inspectMessage } from "./verdict.ts";

/** Chars of earlier events kept for instructions split across events. */
export const WINDOW_CHARS = 1024;

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

/** The streamed text of a JSON event, in order; the data itself when it is not JSON. */
export function streamedText(data: string): string {
  const first = data.trimStart()[0];
  if (first !== "{" && first !== "[") return data;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return data;
  }
  let out = "";
  const visit = (v: unknown, depth: number) => {
    if (depth > 16 || v === null || typeof v !== "object") return;
    for (const [key, child] of Object.entries(v)) {
      if (typeof child === "string") {
        if (TEXT_KEYS.has(key)) out += child;
      } else visit(child, depth + 1);
    }
  };
  visit(value, 0);
  return out;
}

/** One event: its raw text (the blank line that ends it included) and its data. */
export interface SseEvent {
  raw: string;
  data: string;
  /** Whether it has `data:` lines. */
  hasData: boolean;
}

const LINE_END = /\r\n|\r|\n/g;

/**
 * The complete events at the start of `text`, and what is left after them (an event not yet
 * ended). A `\r` at the very end is left too (a `\n` may follow).
 *
 * @example
 * ```ts
 * splitEvents("data: a\n\ndata: b").events.map((e) => e.data); // ["a"]
 * ```
 */
export function splitEvents(text: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  let eventStart = 0;
  let lineStart = 0;
  let data: string[] = [];
  LINE_END.lastIndex = 0;
  for (let m = LINE_END.exec(text); m !== null; m = LINE_END.exec(text)) {
    if (m[0] === "\r" && m.index === text.length - 1) break;
    const line = text.slice(lineStart, m.index);
    lineStart = m.index + m[0].length;
    if (line === "") {
      events.push({
        raw: text.slice(eventStart, lineStart),
        data: data.join("\n"),
        hasData: data.length > 0,
      });
      eventStart = lineStart;
      data = [];
    } else if (line.startsWith("data")) {
      const colon = line.indexOf(":");
      if (colon === 4) data.push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
      else if (line === "data") data.push("");
    }
  }
  return { events, rest: text.slice(eventStart) };
}

/**
 * An event with its data replaced: the lines other than `data:` kept in place, the data lines
 * written from `data` where the first one was (with its `data:` or `data: ` prefix).
 */
export function withData(event: SseEvent, data: string): string {
  const lines = event.raw.split(/(?<=\r\n|\r(?!\n)|\n)/);
  let out = "";
  let written = false;
  for (const line of lines) {
    const body = line.replace(/\r\n$|\r$|\n$/, "");
    const end = line.slice(body.length) || "\n";
    if (body === "data" || (body.startsWith("data") && body.charCodeAt(4) === 58)) {
      if (written) continue;
      written = true;
      const prefix = body.charCodeAt(5) === 32 ? "data: " : "data:";
      out += data.split("\n").map((l) => `${prefix}${l}${end}`).join("");
    } else out += line;
  }
  return out;
}

/** The inbound scan of one event stream (see the module doc). */
export class InboundEventStream {
  readonly #policy: InboundPolicy;
  #window = "";

  constructor(policy: InboundPolicy) {
    this.#policy = policy;
  }

  /**
   * Scans one complete event; returns its verdict and its raw text to forward (rewritten when
   * neutralised).
   */
  event(event: SseEvent): { verdict: InboundVerdict | null; raw: string } {
    if (!event.hasData) return { verdict: null, raw: event.raw };
    const text = streamedText(event.data);
    const { verdict, text: data } = inspectMessage(event.data, this.#policy, "sse event", {
      before: this.#window,
      text,
    });
    this.#window = (this.#window + text).slice(-WINDOW_CHARS);
    const raw = data === event.data ? event.raw : withData(event, data);
    return { verdict, raw };
  }
}
