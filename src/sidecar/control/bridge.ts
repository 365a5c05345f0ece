/**
 * The `bridge` subcommand: what the host runs as a long-lived, non-TTY exec with stdin attached
 * (`BRIDGE_COMMAND`). It copies stdin to the control socket and the socket to stdout, chunk by
 * chunk with no line buffering, and ends when either side does: on stdin EOF it closes the
 * socket's write side (the server then closes the connection), and when the socket closes it
 * exits. Exit 0 on either end; 1 when it cannot connect.
 *
 * @module
 */

import { controlSocketPath, type EnvLookup, readRunDir } from "../settings.ts";
import { connectUnix } from "./unix_socket.ts";

/** After stdin ends, how long to wait for the server to close the connection (ms). */
const LINGER_MS = 2000;

/** Bytes moved per read. */
const CHUNK_BYTES = 64 * 1024;

/** Something bytes can be written to. */
interface Sink {
  write(bytes: Uint8Array): Promise<number>;
}

/** Something bytes can be read from. */
interface Source {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Writes every byte, looping over partial writes. */
async function writeAll(sink: Sink, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await sink.write(bytes.subarray(written));
}

/** Copies until the source ends; resolves when it does. */
async function pump(source: Source, sink: Sink): Promise<void> {
  const buffer = new Uint8Array(CHUNK_BYTES);
  for (;;) {
    const n = await source.read(buffer);
    if (n === null) return;
    await writeAll(sink, buffer.subarray(0, n));
  }
}

/**
 * Runs the bridge and resolves with the exit code once either side has ended.
 *
 * @throws {SidecarError} when the control socket cannot be reached.
 */
export async function runBridge(env: EnvLookup): Promise<number> {
  const path = controlSocketPath(readRunDir(env));
  const conn = await connectUnix(path, { what: "control socket" });
  const done = Promise.withResolvers<number>();

  pump(conn, Deno.stdout).then(() => done.resolve(0), () => done.resolve(0));
  pump(Deno.stdin, conn).then(
    async () => {
      await conn.closeWrite().catch(() => {});
      setTimeout(() => done.resolve(0), LINGER_MS);
    },
    () => done.resolve(0),
  );

  const code = await done.promise;
  try {
    conn.close();
  } catch {
    // already closed by the peer
  }
  return code;
}
