/**
 * The hijack handshake against a scripted fake engine on a unix socket, to control exactly how
 * the answer is cut into writes (the real engine always sends the head on its own).
 */
import assert from "node:assert/strict";
import { EngineClient, EngineNotFoundError, execStartHijacked } from "../../../src/engine/mod.ts";
import { encodeFrame } from "../../../src/engine/demux.ts";
import { concatBytes, readAllBytes } from "../../../src/engine/bytes.ts";
import { dec, enc } from "../../helpers/bytes.ts";

const HEAD = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n" +
  "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

/** Serves one connection: reads the request head, then writes `writes` one by one. */
async function fakeEngine(writes: Uint8Array[], test: (client: EngineClient) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/fake.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  let request = "";
  const serving = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(4096);
    while (!request.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      request += dec(buf.subarray(0, n));
    }
    for (const chunk of writes) {
      await conn.write(chunk);
      await new Promise((r) => setTimeout(r, 5));
    }
    conn.close();
  })();
  const client = new EngineClient({ kind: "unix", path }, "1.41");
  try {
    await test(client);
    await serving;
    assert.match(request, /^POST \/v1\.41\/exec\/abc\/start HTTP\/1\.1\r\n/);
    assert.match(request, /\r\nUpgrade: tcp\r\n/);
  } finally {
    client.close();
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("stream bytes that arrive in the same write as the 101 head are not lost", async () => {
  const frames = concatBytes([encodeFrame(1, enc("first")), encodeFrame(2, enc("err"))]);
  await fakeEngine(
    [concatBytes([enc(HEAD), frames.subarray(0, 7)]), frames.subarray(7)],
    async (client) => {
      const session = await execStartHijacked(client, "abc", { tty: false });
      const [out, err] = await Promise.all([
        readAllBytes(session.stdout),
        readAllBytes(session.stderr),
      ]);
      assert.equal(dec(out), "first");
      assert.equal(dec(err), "err");
      session.close();
    },
  );
});

Deno.test("a 101 head cut into single bytes is reassembled before the stream starts", async () => {
  const bytes = concatBytes([enc(HEAD), enc("raw tty bytes")]);
  const writes: Uint8Array[] = [...bytes.subarray(0, HEAD.length)].map((b) => new Uint8Array([b]));
  writes.push(bytes.subarray(HEAD.length));
  await fakeEngine(writes, async (client) => {
    const session = await execStartHijacked(client, "abc", { tty: true });
    assert.equal(dec(await readAllBytes(session.stdout)), "raw tty bytes");
    session.close();
  });
});

Deno.test("an error answer on the hijacked connection becomes a typed error", async () => {
  const body = '{"message":"No such exec instance: abc"}';
  const answer =
    `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  await fakeEngine([enc(answer), enc(body.slice(0, 10)), enc(body.slice(10))], async (client) => {
    await assert.rejects(execStartHijacked(client, "abc", { tty: false }), (e: unknown) => {
      assert.ok(e instanceof EngineNotFoundError);
      assert.equal(e.message, 'Cannot start exec "abc": No such exec instance: abc');
      return true;
    });
  });
});
