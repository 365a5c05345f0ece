import assert from "node:assert/strict";
import {
  blockBody,
  rawResponse,
  requestHost,
  requestPath,
  stubReply,
} from "../../../../src/sidecar/egress/stub.ts";
import { routeTable } from "../../../../src/sidecar/control/config.ts";
import { sampleConfig } from "../control/fixtures.ts";

Deno.test("stubReply blocks a plain HTTP proxy request with the §7.6 body", () => {
  const reply = stubReply({ method: "get", target: "http://example.test:8080/a?b=c" }, []);
  assert.equal(reply.status, 403);
  assert.equal(reply.blocked, true);
  assert.deepEqual(reply.headers, {
    "Content-Type": "application/json",
    "X-Bot-Bottle-Block": "host_not_allowlisted",
  });
  assert.deepEqual(JSON.parse(reply.body), {
    error: "egress_blocked",
    rule: "host_not_allowlisted",
    host: "example.test",
    method: "GET",
    message: "This bot-bottle version's egress proxy allows no hosts yet.",
    how_to_get_access: "Egress routes arrive with the egress proxy; nothing leaves this bottle.",
  });
});

Deno.test("stubReply blocks CONNECT and hosts on the allowlist alike", () => {
  const routes = routeTable(sampleConfig().routes);
  for (
    const request of [
      { method: "CONNECT", target: "gitea.example.test:443" },
      { method: "GET", target: "https://gitea.example.test/api/v1/repos" },
      { method: "POST", target: "/", hostHeader: "gitea.example.test" },
    ]
  ) {
    const reply = stubReply(request, routes);
    assert.equal(reply.status, 403, request.target);
    assert.equal(JSON.parse(reply.body).host, "gitea.example.test");
  }
});

Deno.test("stubReply answers GET http://_egress.local/allowlist with the value-free routes", () => {
  const routes = routeTable(sampleConfig().routes);
  const reply = stubReply({ method: "GET", target: "http://_egress.local/allowlist" }, routes);
  assert.equal(reply.status, 200);
  assert.equal(reply.blocked, false);
  assert.deepEqual(JSON.parse(reply.body), routes);
  const empty = stubReply(
    { method: "GET", target: "/allowlist", hostHeader: "_EGRESS.local" },
    [],
  );
  assert.equal(empty.body, "[]");
  for (
    const other of [
      { method: "POST", target: "http://_egress.local/allowlist" },
      { method: "GET", target: "http://_egress.local/other" },
      { method: "CONNECT", target: "_egress.local:443" },
    ]
  ) {
    assert.equal(stubReply(other, routes).status, 403, `${other.method} ${other.target}`);
  }
});

Deno.test("requestHost takes the CONNECT authority, the URI host, or the Host header", () => {
  const table: [Parameters<typeof requestHost>[0], string][] = [
    [{ method: "CONNECT", target: "API.Example.test:443" }, "api.example.test"],
    [{ method: "CONNECT", target: "[2001:db8::1]:443" }, "[2001:db8::1]"],
    [{ method: "GET", target: "http://user:pw@example.test:80/x" }, "example.test"],
    [{ method: "GET", target: "http://example.test?x" }, "example.test"],
    [{ method: "GET", target: "/x", hostHeader: "example.test:8080" }, "example.test"],
    [{ method: "GET", target: "/x" }, ""],
  ];
  for (const [request, host] of table) assert.equal(requestHost(request), host, request.target);
  assert.equal(requestHost({ method: "GET", target: `http://${"a".repeat(999)}/` }).length, 255);
});

Deno.test("requestPath drops the query and is empty for CONNECT", () => {
  assert.equal(requestPath({ method: "GET", target: "http://example.test/a/b?token=x" }), "/a/b");
  assert.equal(requestPath({ method: "GET", target: "http://example.test" }), "/");
  assert.equal(requestPath({ method: "GET", target: "/p#f" }), "/p");
  assert.equal(requestPath({ method: "CONNECT", target: "example.test:443" }), "");
});

Deno.test("rawResponse is a complete HTTP/1.1 403 with a byte-exact Content-Length", () => {
  const reply = stubReply({ method: "CONNECT", target: "é.example.test:443" }, []);
  const raw = rawResponse(reply);
  const [head, body] = raw.split("\r\n\r\n");
  assert.match(head, /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.match(head, /\r\nX-Bot-Bottle-Block: host_not_allowlisted(\r\n|$)/);
  assert.match(head, /\r\nConnection: close(\r\n|$)/);
  const length = Number(/Content-Length: (\d+)/.exec(head)![1]);
  assert.equal(length, new TextEncoder().encode(body).length);
  assert.equal(JSON.parse(body).rule, "host_not_allowlisted");
});

Deno.test("blockBody caps the method length", () => {
  assert.equal(JSON.parse(blockBody("h", "X".repeat(100))).method.length, 32);
});
