import assert from "node:assert/strict";
import {
  decodeChunked,
  parseResponseHead,
  takeResponseHead,
  upgradeRequest,
} from "../../../src/engine/hijack.ts";
import { EngineApiError } from "../../../src/engine/errors.ts";
import { dec, enc } from "../../helpers/bytes.ts";

const UPGRADED = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n" +
  "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

Deno.test("parseResponseHead waits for the blank line", () => {
  assert.equal(
    parseResponseHead(enc("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\n")),
    undefined,
  );
  assert.equal(parseResponseHead(enc("")), undefined);
});

Deno.test("parseResponseHead reads status, reason and headers", () => {
  const head = parseResponseHead(enc(UPGRADED))!;
  assert.equal(head.status, 101);
  assert.equal(head.statusText, "UPGRADED");
  assert.equal(head.headers.get("upgrade"), "tcp");
  assert.equal(head.headers.get("Content-Type"), "application/vnd.docker.raw-stream");
  assert.equal(head.headerLength, UPGRADED.length);
});

Deno.test("takeResponseHead keeps bytes read past the head as stream data", () => {
  const frame = [1, 0, 0, 0, 0, 0, 0, 2, 104, 105];
  const bytes = new Uint8Array([...enc(UPGRADED), ...frame]);
  const { head, rest } = takeResponseHead(bytes)!;
  assert.equal(head.status, 101);
  assert.deepEqual([...rest], frame);
});

Deno.test("takeResponseHead returns an error response's body as rest", () => {
  const body = '{"message":"No such exec instance: abc"}';
  const response =
    `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const { head, rest } = takeResponseHead(enc(response))!;
  assert.equal(head.status, 404);
  assert.equal(head.headers.get("content-length"), String(body.length));
  assert.equal(dec(rest), body);
});

Deno.test("parseResponseHead rejects a non-HTTP status line", () => {
  assert.throws(() => parseResponseHead(enc("SSH-2.0-OpenSSH\r\n\r\n")), EngineApiError);
});

Deno.test("decodeChunked joins chunks and waits for the last one", () => {
  assert.equal(dec(decodeChunked(enc("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"))!), "hello world");
  assert.equal(decodeChunked(enc("5\r\nhello\r\n")), undefined);
  assert.equal(decodeChunked(enc("5\r\nhel")), undefined);
});

Deno.test("upgradeRequest writes an HTTP/1.1 upgrade with a JSON body", () => {
  const text = dec(
    upgradeRequest("POST", "/v1.41/exec/abc/start", "docker", { Detach: false, Tty: true }),
  );
  const [head, body] = text.split("\r\n\r\n");
  const lines = head.split("\r\n");
  assert.equal(lines[0], "POST /v1.41/exec/abc/start HTTP/1.1");
  assert.ok(lines.includes("Host: docker"));
  assert.ok(lines.includes("Connection: Upgrade"));
  assert.ok(lines.includes("Upgrade: tcp"));
  assert.ok(lines.includes(`Content-Length: ${body.length}`));
  assert.deepEqual(JSON.parse(body), { Detach: false, Tty: true });
  assert.ok(
    dec(upgradeRequest("POST", "/x", "h")).endsWith(
      "Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
    ),
  );
});
