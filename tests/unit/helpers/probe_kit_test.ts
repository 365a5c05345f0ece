/** The escape suite's parsers (`tests/escape/probe_kit.ts`): curl `-v` heads, §7.6 blocks. */
import assert from "node:assert/strict";
import { blockRule, parseCurlVerbose, rawRequest } from "../../escape/probe_kit.ts";

const CONNECT_REFUSED = [
  "* Uses proxy env variable https_proxy == 'http://egress:9099'",
  "* Establish HTTP proxy tunnel to unlisted.example.test:443",
  "> CONNECT unlisted.example.test:443 HTTP/1.1",
  "> Host: unlisted.example.test:443",
  "> ",
  "< HTTP/1.1 403 Forbidden",
  "< Content-Type: application/json",
  "< X-Bot-Bottle-Block: host_not_allowlisted",
  "< Content-Length: 272",
  "< ",
  "* CONNECT tunnel failed, response 403",
  "curl: (56) CONNECT tunnel failed, response 403",
].join("\n");

const INNER_BLOCK = [
  "> CONNECT echo.example.test:443 HTTP/1.1",
  "> ",
  "< HTTP/1.1 200 Connection established",
  "< ",
  "> GET /echo HTTP/2",
  "> Host: echo.example.test",
  "> ",
  "< HTTP/2 403 ",
  "< content-type: application/json",
  "< x-bot-bottle-block: authority_mismatch",
  "< set-cookie: a=1",
  "< set-cookie: b=2",
  "< ",
].join("\r\n");

Deno.test("parseCurlVerbose() marks a refused CONNECT as the proxy's answer", () => {
  assert.deepEqual(parseCurlVerbose(CONNECT_REFUSED), [{
    status: 403,
    where: "connect",
    headers: {
      "content-type": "application/json",
      "x-bot-bottle-block": "host_not_allowlisted",
      "content-length": "272",
    },
  }]);
});

Deno.test("parseCurlVerbose() reads the tunnel's answer and the inner HTTP/2 response", () => {
  const replies = parseCurlVerbose(INNER_BLOCK);
  assert.deepEqual(replies.map((r) => [r.where, r.status]), [["connect", 200], ["response", 403]]);
  assert.equal(replies[1].headers["x-bot-bottle-block"], "authority_mismatch");
  assert.equal(replies[1].headers["set-cookie"], "a=1, b=2");
});

Deno.test("parseCurlVerbose() ignores request headers and info lines", () => {
  assert.deepEqual(parseCurlVerbose("* Trying 10.0.0.1\n> GET / HTTP/1.1\n> Host: x\n"), []);
});

Deno.test("blockRule() needs 403 and the header; the JSON rule only from egress_blocked", () => {
  const headers = { "x-bot-bottle-block": "dlp_outbound" };
  const body = JSON.stringify({ error: "egress_blocked", rule: "dlp_outbound" });
  assert.deepEqual(blockRule({ status: 403, headers, body }), {
    header: "dlp_outbound",
    json: "dlp_outbound",
  });
  assert.equal(blockRule({ status: 200, headers, body }), undefined);
  assert.equal(blockRule({ status: 403, headers: {}, body }), undefined);
  assert.deepEqual(blockRule({ status: 403, headers, body: "not json" }), {
    header: "dlp_outbound",
    json: undefined,
  });
  assert.deepEqual(blockRule({ status: 403, headers, body: '{"rule":"dlp_outbound"}' }), {
    header: "dlp_outbound",
    json: undefined,
  });
});

Deno.test("rawRequest() writes CRLF lines and a byte Content-Length", () => {
  assert.equal(
    rawRequest("POST", "/echo", "echo.example.test", { "X-A": "1" }, "é"),
    "POST /echo HTTP/1.1\r\nHost: echo.example.test\r\nX-A: 1\r\nContent-Length: 2\r\n\r\né",
  );
  assert.equal(
    rawRequest("GET", "/", "a.example.test"),
    "GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n",
  );
});
