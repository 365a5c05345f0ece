/**
 * The HTTPS side of the demo upstream (SPEC §14.1), run inside `bot-bottle-demo-upstream`
 * (`demo-upstream.Dockerfile`; in the image as `/opt/demo-upstream/server.ts`), never on the host. It answers every path with JSON: 200
 * `{"ok": true, "token": "injected"}` when the request carries `Authorization: Bearer <token>`
 * with the token the demo uploaded to `/etc/demo-upstream/token` (only the sidecar has it: the
 * agent never sees it), else 401. Each request is recorded as one JSON line (method, path,
 * whether it was authorized, body size; never a header or body value) in
 * `/tmp/demo-upstream/requests.jsonl`, so the demo can tell a request that reached the upstream
 * from one the sidecar blocked.
 *
 * @module
 */

const CONFIG = "/etc/demo-upstream";
const STATE = "/tmp/demo-upstream";

const token = (await Deno.readTextFile(`${CONFIG}/token`)).trim();
const expected = new TextEncoder().encode(`Bearer ${token}`);

/** Compares in constant time for equal lengths. */
function authorized(header: string | null): boolean {
  if (header === null) return false;
  const given = new TextEncoder().encode(header);
  if (given.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < given.length; i++) diff |= given[i] ^ expected[i];
  return diff === 0;
}

Deno.serve({
  hostname: "0.0.0.0",
  port: 443,
  cert: await Deno.readTextFile(`${CONFIG}/cert.pem`),
  key: await Deno.readTextFile(`${CONFIG}/key.pem`),
  onListen() {
    Deno.writeTextFileSync(`${STATE}/ready`, "");
  },
}, async (request) => {
  const url = new URL(request.url);
  const ok = authorized(request.headers.get("authorization"));
  const body = request.body === null ? 0 : (await request.arrayBuffer()).byteLength;
  const record = { method: request.method, path: url.pathname, authorized: ok, bodyLength: body };
  await Deno.writeTextFile(`${STATE}/requests.jsonl`, JSON.stringify(record) + "\n", {
    append: true,
  });
  if (!ok) {
    return Response.json({ ok: false, error: "no_token", host: url.hostname }, { status: 401 });
  }
  return Response.json({ ok: true, host: url.hostname, path: url.pathname, token: "injected" });
});
