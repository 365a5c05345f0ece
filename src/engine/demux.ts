/**
 * The stdout/stderr multiplexing of attach, exec and logs streams when the container or exec
 * has `Tty: false` (LESSONS 12): each frame is an 8-byte header — stream type (0 stdin,
 * 1 stdout, 2 stderr, 3 engine error), three zero bytes, big-endian uint32 payload length —
 * then the payload. Frames split and merge arbitrarily across reads, so the decoder buffers.
 * Pure; the decision to demultiplex is the caller's, by the `Tty` flag it set, never by
 * Content-Type.
 *
 * @module
 */
import { concatBytes, EMPTY_BYTES } from "./bytes.ts";
import { EngineApiError } from "./errors.ts";

/** Stream type byte: stdout. */
export const STREAM_STDOUT = 1;
/** Stream type byte: stderr. */
export const STREAM_STDERR = 2;
/** Stream type byte: an engine error message (moby `stdcopy.Systemerr`). */
export const STREAM_SYSTEMERR = 3;

/** One decoded frame. */
export interface Frame {
  /** The stream type byte. */
  stream: number;
  payload: Uint8Array;
}

const HEADER = 8;

/**
 * Incremental frame decoder: `push` chunks in, complete frames out; incomplete bytes stay
 * buffered until the next push.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder();
 * decoder.push(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 2, 104])); // [] (payload incomplete)
 * decoder.push(new Uint8Array([105])); // [{ stream: 1, payload: "hi" }]
 * ```
 */
export class FrameDecoder {
  #buffer: Uint8Array = EMPTY_BYTES;

  /** Adds a chunk and returns the frames it completed, in order. */
  push(chunk: Uint8Array): Frame[] {
    let buffer = this.#buffer.length === 0 ? chunk : concatBytes([this.#buffer, chunk]);
    const frames: Frame[] = [];
    while (buffer.length >= HEADER) {
      const size = new DataView(buffer.buffer, buffer.byteOffset + 4, 4).getUint32(0, false);
      if (buffer.length < HEADER + size) break;
      frames.push({ stream: buffer[0], payload: buffer.slice(HEADER, HEADER + size) });
      buffer = buffer.subarray(HEADER + size);
    }
    this.#buffer = buffer.length === 0 ? EMPTY_BYTES : buffer.slice();
    return frames;
  }

  /** Bytes of an incomplete frame still buffered. */
  get pending(): number {
    return this.#buffer.length;
  }

  /** The buffered bytes of an incomplete frame. */
  leftover(): Uint8Array {
    return this.#buffer;
  }
}

/** Encodes one frame (for tests and fakes). */
export function encodeFrame(stream: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length, false);
  out.set(payload, HEADER);
  return out;
}

/** Demultiplexed output. */
export interface DemuxedBytes {
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/**
 * Demultiplexes a complete multiplexed byte sequence.
 *
 * @throws {EngineApiError} on a truncated frame or an engine error frame (type 3).
 */
export function demuxBytes(bytes: Uint8Array): DemuxedBytes {
  const decoder = new FrameDecoder();
  const stdout: Uint8Array[] = [];
  const stderr: Uint8Array[] = [];
  for (const frame of decoder.push(bytes)) {
    if (frame.stream === STREAM_SYSTEMERR) throw systemError(frame.payload);
    (frame.stream === STREAM_STDERR ? stderr : stdout).push(frame.payload);
  }
  if (decoder.pending > 0) {
    throw new EngineApiError(
      `Cannot read the output stream: it ends inside a frame (${decoder.pending} bytes left)`,
    );
  }
  return { stdout: concatBytes(stdout), stderr: concatBytes(stderr) };
}

function systemError(payload: Uint8Array): EngineApiError {
  const text = new TextDecoder().decode(payload).trim();
  return new EngineApiError(`Cannot read the output stream: ${text}`, { engineMessage: text });
}

/** Demultiplexed output streams. */
export interface DemuxedStreams {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
}

/**
 * Splits a multiplexed byte stream into stdout and stderr streams. Both are fed as the source
 * is read; a stream nobody reads buffers its data. Cancelling both cancels the source.
 */
export function demuxStream(source: ReadableStream<Uint8Array>): DemuxedStreams {
  const decoder = new FrameDecoder();
  const reader = source.getReader();
  let outController!: ReadableStreamDefaultController<Uint8Array>;
  let errController!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled = 0;
  let finished = false;
  const onCancel = async () => {
    if (++cancelled === 2 && !finished) await reader.cancel().catch(() => {});
  };
  const stdout = new ReadableStream<Uint8Array>({
    start: (c) => void (outController = c),
    cancel: onCancel,
  });
  const stderr = new ReadableStream<Uint8Array>({
    start: (c) => void (errController = c),
    cancel: onCancel,
  });
  const safely = (fn: () => void) => {
    try {
      fn();
    } catch {
      // the consumer cancelled this stream
    }
  };
  (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of decoder.push(value)) {
          if (frame.stream === STREAM_SYSTEMERR) throw systemError(frame.payload);
          if (frame.payload.length === 0) continue;
          const target = frame.stream === STREAM_STDERR ? errController : outController;
          safely(() => target.enqueue(frame.payload));
        }
      }
      finished = true;
      if (decoder.pending > 0) {
        throw new EngineApiError(
          `Cannot read the output stream: it ends inside a frame (${decoder.pending} bytes left)`,
        );
      }
      safely(() => outController.close());
      safely(() => errController.close());
    } catch (error) {
      finished = true;
      safely(() => outController.error(error));
      safely(() => errController.error(error));
    }
  })();
  return { stdout, stderr };
}
