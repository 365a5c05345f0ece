/**
 * Small byte helpers shared by the engine modules.
 *
 * @module
 */
import { concatBytes as concatNew } from "../lib/bytes.ts";

/** An empty byte array. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Concatenates byte arrays into one (a single array is returned as is, not copied). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  return chunks.length === 1 ? chunks[0] : concatNew(chunks);
}

/** Reads a whole stream into one byte array. */
export async function readAllBytes(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return concatBytes(chunks);
}

/** Wraps bytes in a one-chunk stream. */
export function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** Writes all bytes to a writer (Deno `write` may write fewer bytes than asked). */
export async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await writer.write(bytes.subarray(offset));
}
