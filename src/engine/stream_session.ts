/**
 * Turns a hijacked connection into stdin/stdout/stderr web streams. Framing is decided by
 * the `Tty` flag the caller set (LESSONS 12): TTY → raw bytes on stdout; otherwise 8-byte
 * header frames demultiplexed into stdout and stderr. Closing stdin half-closes the
 * connection (`closeWrite()`), which the engine passes on as EOF.
 *
 * @module
 */
import { bytesStream, EMPTY_BYTES, writeAll } from "./bytes.ts";
import { demuxStream } from "./demux.ts";
import type { HijackedConnection } from "./hijack.ts";

/** An interactive stream to an exec or an attached container. */
export interface StreamSession extends AsyncDisposable {
  /** The process's stdin; closing it signals EOF. */
  stdin: WritableStream<Uint8Array>;
  /** stdout (with a TTY: the terminal's whole output). */
  stdout: ReadableStream<Uint8Array>;
  /** stderr; with a TTY it is empty and closed (the terminal merges it into stdout). */
  stderr: ReadableStream<Uint8Array>;
  /** Resolves when the output stream ended (the process exited or detached). */
  done: Promise<void>;
  /** Resizes the TTY. */
  resize(rows: number, cols: number): Promise<void>;
  /** The exit code once the stream ended. */
  exitCode(): Promise<number>;
  /** Closes the connection (idempotent). */
  close(): void;
}

/** What a session needs besides the connection. */
export interface StreamSessionOptions {
  /** The `Tty` flag the exec/container was created with. */
  tty: boolean;
  resize: (rows: number, cols: number) => Promise<void>;
  exitCode: () => Promise<number>;
}

/** Builds a {@linkcode StreamSession} on a hijacked connection. */
export function openStreamSession(
  hijacked: HijackedConnection,
  options: StreamSessionOptions,
): StreamSession {
  const { conn } = hijacked;
  let closed = false;
  let writeClosed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let leftover: Uint8Array = hijacked.leftover;
  const raw = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (leftover.length > 0) {
        controller.enqueue(leftover);
        leftover = EMPTY_BYTES;
        return;
      }
      const buf = new Uint8Array(64 * 1024);
      let n: number | null = null;
      try {
        n = closed ? null : await conn.read(buf);
      } catch (error) {
        if (!closed) {
          close();
          resolveDone();
          controller.error(error);
          return;
        }
      }
      if (n === null) {
        close();
        resolveDone();
        controller.close();
        return;
      }
      controller.enqueue(buf.slice(0, n));
    },
    cancel() {
      close();
      resolveDone();
    },
  });
  let stdout: ReadableStream<Uint8Array>;
  let stderr: ReadableStream<Uint8Array>;
  if (options.tty) {
    stdout = raw;
    stderr = bytesStream(EMPTY_BYTES);
  } else {
    ({ stdout, stderr } = demuxStream(raw));
  }
  const stdin = new WritableStream<Uint8Array>({
    async write(chunk) {
      await writeAll(conn, chunk);
    },
    async close() {
      if (writeClosed || closed) return;
      writeClosed = true;
      await conn.closeWrite();
    },
    abort() {
      close();
    },
  });
  return {
    stdin,
    stdout,
    stderr,
    done,
    resize: options.resize,
    async exitCode() {
      await done;
      return await options.exitCode();
    },
    close,
    async [Symbol.asyncDispose]() {
      close();
      await Promise.allSettled([stdout.cancel(), stderr.cancel()]);
    },
  };
}
