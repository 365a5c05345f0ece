/**
 * JSON-lines progress streams of `POST /build`, `POST /images/create` and friends. These calls
 * answer 200 and report failures as `error`/`errorDetail` lines inside the stream (LESSONS 13),
 * so every line is parsed and an error line throws.
 *
 * @module
 */
import { EngineApiError } from "./errors.ts";

/** One progress message. */
export interface ProgressMessage {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/**
 * Receives each human-readable progress line and the message it came from: `stream` text split
 * into whole lines (without the newline), `status` messages as `id: status progress`.
 */
export type ProgressCallback = (line: string, message: ProgressMessage) => void;

/** Splits text into complete lines, keeping a partial last line for the next push. */
export class JsonLineSplitter {
  #partial = "";

  /** Adds text; returns the JSON values of the lines it completed. */
  push(text: string): ProgressMessage[] {
    const lines = (this.#partial + text).split(/\r?\n/);
    this.#partial = lines.pop() ?? "";
    return lines.flatMap(parseLine);
  }

  /** The values of a last line without a newline. */
  flush(): ProgressMessage[] {
    const rest = this.#partial;
    this.#partial = "";
    return parseLine(rest);
  }
}

function parseLine(line: string): ProgressMessage[] {
  const text = line.trim();
  if (!text) return [];
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" ? [value as ProgressMessage] : [];
  } catch {
    return [{ stream: text }];
  }
}

/** The readable text of a message, or `undefined` when it has none. */
export function progressText(message: ProgressMessage): string | undefined {
  if (typeof message.stream === "string") return message.stream.replace(/\n$/, "");
  if (typeof message.status === "string") {
    const id = message.id ? `${message.id}: ` : "";
    const progress = message.progress ? ` ${message.progress}` : "";
    return `${id}${message.status}${progress}`;
  }
  return undefined;
}

/**
 * Throws when a message reports an error.
 *
 * @throws {EngineApiError} with `<action>: <error message>`.
 */
export function checkProgressMessage(message: ProgressMessage, action: string): void {
  const detail = message.errorDetail?.message ?? message.error;
  if (detail === undefined) return;
  const text = String(detail).trim().split("\n")[0] || "the engine reported an error";
  throw new EngineApiError(`${action}: ${text}`, { engineMessage: text });
}

/** Options of {@linkcode consumeProgress}. */
export interface ConsumeProgressOptions {
  /** What failed, for the error message. */
  action: string;
  onProgress?: ProgressCallback;
}

/**
 * Reads a whole progress stream, passing readable lines to `onProgress`.
 *
 * @returns every message, in order.
 * @throws {EngineApiError} on the first `error`/`errorDetail` line.
 */
export async function consumeProgress(
  stream: ReadableStream<Uint8Array> | null,
  options: ConsumeProgressOptions,
): Promise<ProgressMessage[]> {
  const all: ProgressMessage[] = [];
  if (!stream) return all;
  const splitter = new JsonLineSplitter();
  // `stream` text is not line-aligned: one message may hold several lines or half of one.
  let pendingText = "";
  let pendingMessage: ProgressMessage | undefined;
  const emitLines = (final: boolean) => {
    const lines = pendingText.split("\n");
    pendingText = final ? "" : lines.pop() ?? "";
    if (final && lines[lines.length - 1] === "") lines.pop();
    for (const line of lines) options.onProgress?.(line.replace(/\r$/, ""), pendingMessage!);
  };
  const handle = (messages: ProgressMessage[]) => {
    for (const message of messages) {
      all.push(message);
      checkProgressMessage(message, options.action);
      if (typeof message.stream === "string") {
        pendingText += message.stream;
        pendingMessage = message;
        emitLines(false);
        continue;
      }
      const text = progressText(message);
      if (text !== undefined) options.onProgress?.(text, message);
    }
  };
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      handle(splitter.push(value));
    }
    handle(splitter.flush());
    emitLines(true);
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  return all;
}
