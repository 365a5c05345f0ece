import assert from "node:assert/strict";
import { openStreamSession } from "../../../src/engine/stream_session.ts";
import { encodeFrame } from "../../../src/engine/demux.ts";
import { concatBytes, readAllBytes } from "../../../src/engine/bytes.ts";
import { HeadFields } from "../../../src/engine/http1.ts";
import { dec, enc } from "../../helpers/bytes.ts";

/** A fake connection that serves scripted reads and records writes. */
class FakeConn {
  reads: Uint8Array[];
  written: Uint8Array[] = [];
  closedWrite = false;
  closed = false;
  /** Resolves a read that waits for more data (when `hang` is set). */
  #wake?: () => void;
  constructor(reads: Uint8Array[], readonly hang = false) {
    this.reads = [...reads];
  }
  async read(buf: Uint8Array): Promise<number | null> {
    const next = this.reads.shift();
    if (!next && this.hang && !this.closed) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      return null;
    }
    if (!next) return Promise.resolve(null);
    buf.set(next);
    return Promise.resolve(next.length);
  }
  write(bytes: Uint8Array): Promise<number> {
    const n = Math.min(bytes.length, 3);
    this.written.push(bytes.slice(0, n));
    return Promise.resolve(n);
  }
  closeWrite(): Promise<void> {
    this.closedWrite = true;
    return Promise.resolve();
  }
  close() {
    this.closed = true;
    this.#wake?.();
  }
}

function session(conn: FakeConn, leftover: Uint8Array, tty: boolean) {
  return openStreamSession(
    {
      conn: conn as unknown as Deno.Conn,
      head: { status: 101, statusText: "", headers: new HeadFields(), headerLength: 0 },
      leftover,
    },
    { tty, resize: () => Promise.resolve(), exitCode: () => Promise.resolve(7) },
  );
}

Deno.test("a non-TTY session emits leftover bytes first and demuxes frames split over reads", async () => {
  const all = concatBytes([
    encodeFrame(1, enc("hello ")),
    encodeFrame(2, enc("warn")),
    encodeFrame(1, enc("world")),
  ]);
  const conn = new FakeConn([all.subarray(5, 13), all.subarray(13, 20), all.subarray(20)]);
  const s = session(conn, all.subarray(0, 5), false);
  const [out, err] = await Promise.all([readAllBytes(s.stdout), readAllBytes(s.stderr)]);
  assert.equal(dec(out), "hello world");
  assert.equal(dec(err), "warn");
  await s.done;
  assert.equal(conn.closed, true, "the connection is closed at EOF");
  assert.equal(await s.exitCode(), 7);
});

Deno.test("a TTY session passes raw bytes to stdout and leaves stderr empty", async () => {
  const conn = new FakeConn([enc("\x01raw"), enc(" bytes")]);
  const s = session(conn, enc("pre:"), true);
  assert.equal(dec(await readAllBytes(s.stdout)), "pre:\x01raw bytes");
  assert.equal((await readAllBytes(s.stderr)).length, 0);
});

Deno.test("stdin writes everything despite short writes and close half-closes the connection", async () => {
  const conn = new FakeConn([], true);
  const s = session(conn, new Uint8Array(0), false);
  const writer = s.stdin.getWriter();
  await writer.write(enc("0123456789"));
  await writer.close();
  assert.equal(dec(concatBytes(conn.written)), "0123456789");
  assert.equal(conn.closedWrite, true);
  assert.equal(conn.closed, false, "closing stdin keeps the output open");
  s.close();
  assert.equal(conn.closed, true);
  await s.done;
});
