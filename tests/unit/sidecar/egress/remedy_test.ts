/**
 * The SPEC §7.6 block body and its `how_to_get_access` (LESSONS 22): the route remedy names the
 * `request-egress-route` tool with its arguments when an approver can answer, the manifest
 * snippet otherwise; never-routable hosts get the reason instead; other rules one sentence.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import type { Block } from "../../../../src/sidecar/egress/decide.ts";
import {
  accessFor,
  REASON_PLACEHOLDER,
  SUPERVISE_MCP_URL,
} from "../../../../src/sidecar/egress/remedy.ts";
import { blockBody, blockResponse } from "../../../../src/sidecar/egress/respond.ts";

const unlisted: Block = {
  block: "host_not_allowlisted",
  message: "The host unlisted.example is not on this bottle's allowlist.",
  wanted: { host: "unlisted.example", port: 443 },
};

const site = { host: "unlisted.example", method: "GET" };

Deno.test("blockBody for an unlisted host, approvals on: the request-egress-route call to make", () => {
  const body = blockBody(unlisted, site, { approvals: true });
  assert.deepEqual(Object.keys(body), [
    "error",
    "rule",
    "host",
    "method",
    "message",
    "how_to_get_access",
    "remedy",
  ]);
  assert.equal(body.error, "egress_blocked");
  assert.equal(body.rule, "host_not_allowlisted");
  assert.deepEqual(body.remedy, {
    via: "request-egress-route",
    mcp_server: "http://supervise:9100/",
    tool: "request-egress-route",
    arguments: { host: "unlisted.example", reason: REASON_PLACEHOLDER },
  });
  assert.match(body.how_to_get_access, /request-egress-route/);
  assert.ok(body.how_to_get_access.includes(SUPERVISE_MCP_URL));
  assert.ok(
    body.how_to_get_access.includes(
      '{"host":"unlisted.example","reason":"<why you need this access>"}',
    ),
    body.how_to_get_access,
  );
  assert.doesNotMatch(body.how_to_get_access, /manifest/);
});

Deno.test("blockBody for an unlisted host, approvals off: the manifest snippet to add", () => {
  const body = blockBody(unlisted, site, { approvals: false });
  assert.deepEqual(body.remedy, {
    via: "manifest",
    snippet: "egress:\n  routes:\n    - host: unlisted.example\n",
  });
  assert.ok(body.how_to_get_access.endsWith(body.remedy!.snippet as string));
  assert.match(body.how_to_get_access, /^No approver can add routes to this bottle while it runs/);
  assert.doesNotMatch(body.how_to_get_access, /request-egress-route|supervise/);
  // The snippet is a manifest fragment a human can paste: valid YAML of the route.
  assert.deepEqual(parseYaml(body.remedy!.snippet as string), {
    egress: { routes: [{ host: "unlisted.example" }] },
  });
});

Deno.test("the route remedy names a port other than 443 in both modes", () => {
  const b: Block = { ...unlisted, wanted: { host: "unlisted.example", port: 8443 } };
  assert.deepEqual(accessFor(b, { approvals: true }).remedy, {
    via: "request-egress-route",
    mcp_server: SUPERVISE_MCP_URL,
    tool: "request-egress-route",
    arguments: { host: "unlisted.example", ports: [8443], reason: REASON_PLACEHOLDER },
  });
  const snippet = accessFor(b, { approvals: false }).remedy;
  assert.equal(snippet?.via, "manifest");
  assert.deepEqual(parseYaml(snippet.via === "manifest" ? snippet.snippet : ""), {
    egress: { routes: [{ host: "unlisted.example", ports: [8443] }] },
  });
});

Deno.test("port_not_allowed: the route's ports plus the one asked for, in the manifest only", () => {
  const b: Block = {
    block: "port_not_allowed",
    message: "Port 8443 is not allowed for api.example.test (allowed: 443).",
    wanted: { host: "api.example.test", port: 8443, routePorts: [443] },
  };
  // request-egress-route answers "exists" for a host with a route: never suggested for it.
  for (const approvals of [false, true]) {
    const access = accessFor(b, { approvals });
    assert.equal(access.remedy?.via, "manifest");
    assert.deepEqual(parseYaml(access.remedy?.via === "manifest" ? access.remedy.snippet : ""), {
      egress: { routes: [{ host: "api.example.test", ports: [443, 8443] }] },
    });
    assert.match(
      access.how_to_get_access,
      /^api\.example\.test already has a route, which request-egress-route cannot change\. Ask the operator to add port 8443 to it/,
    );
  }
});

Deno.test("match_failed: the method and path a matches entry would need, in the manifest only", () => {
  const b: Block = {
    block: "match_failed",
    message: "POST /v2/items is not allowed by the rules of api.example.test.",
    wanted: { host: "api.example.test", port: 443, method: "POST", path: "/v2/items: x" },
  };
  for (const approvals of [false, true]) {
    const access = accessFor(b, { approvals });
    assert.match(access.how_to_get_access, /add this entry to its matches/);
    assert.deepEqual(parseYaml(access.remedy?.via === "manifest" ? access.remedy.snippet : ""), {
      egress: {
        routes: [{
          host: "api.example.test",
          matches: [{ methods: ["POST"], paths: [{ type: "exact", value: "/v2/items: x" }] }],
        }],
      },
    });
  }
});

/** [host, why] for names the manifest rules refuse as route hosts. */
const never: [string, string][] = [
  ["git-gate", "must not be a name inside the bottle"],
  ["supervise", "must not be a name inside the bottle"],
  ["localhost", "must not be a loopback name"],
  ["app.localhost", "must not be a loopback name"],
  ["intranet", "single-label names are not allowed"],
  ["printer.local", "must not be a local-network name"],
  ["metadata.google.internal", "must not be a local-network name"],
];

for (const [host, why] of never) {
  Deno.test(`a host that can never be a route (${host}) gets the reason, no remedy`, () => {
    const b: Block = { ...unlisted, wanted: { host, port: 443 } };
    for (const approvals of [false, true]) {
      const access = accessFor(b, { approvals });
      assert.equal(access.remedy, undefined);
      assert.ok(
        access.how_to_get_access.startsWith(`${host} can never be allow-listed: a route host `),
        access.how_to_get_access,
      );
      assert.ok(access.how_to_get_access.includes(why), access.how_to_get_access);
    }
  });
}

Deno.test("a host block without a wanted route (an IP literal) points at the allowlist", () => {
  const access = accessFor({ block: "host_not_allowlisted", message: "IP." }, { approvals: true });
  assert.equal(access.remedy, undefined);
  assert.match(access.how_to_get_access, /_egress\.local\/allowlist/);
});

Deno.test("blockBody keeps detector and location of a DLP block and points at removing the secret", () => {
  const body = blockBody(
    {
      block: "dlp_outbound",
      message: "Looks like an AWS key.",
      detector: "token_patterns",
      location: "body $.a",
    },
    { host: "x.example.com", method: "POST" },
    { approvals: false },
  );
  assert.deepEqual(Object.keys(body), [
    "error",
    "rule",
    "detector",
    "location",
    "host",
    "method",
    "message",
    "how_to_get_access",
  ]);
  assert.equal(
    body.how_to_get_access,
    "Remove the secret, or ask the operator via the supervise MCP server.",
  );
  assert.equal(
    blockBody({ block: "canary", message: "m" }, { host: null, method: null }, { approvals: true })
      .how_to_get_access,
    body.how_to_get_access,
  );
});

Deno.test("blockBody leaves out host and method when unknown and carries no value field", () => {
  const body = blockBody({ block: "malformed_request", message: "Bad." }, {
    host: null,
    method: null,
  }, { approvals: true });
  assert.deepEqual(Object.keys(body), ["error", "rule", "message", "how_to_get_access"]);
  assert.equal("value" in body, false);
});

/** [rule, what its sentence must name]: every rule that is not a route rule. */
const sentences: [Block["block"], RegExp][] = [
  ["git_push_blocked", /git-gate/],
  ["authority_mismatch", /SNI/],
  ["plain_http_with_auth", /https:\/\//],
  ["malformed_request", /well-formed/],
  ["destination_not_public", /public addresses/],
  ["body_too_large", /max_body_bytes/],
  ["undecodable_body", /uncompressed/],
  ["dlp_inbound", /prompt injection/],
  ["supervise_rejected", /rejected/],
  ["supervise_timeout", /in time/],
  ["supervise_unavailable", /No approver/],
];

for (const [rule, names] of sentences) {
  Deno.test(`a ${rule} block says what to do instead, in either mode`, () => {
    for (const approvals of [false, true]) {
      const access = accessFor({ block: rule, message: "m" }, { approvals });
      assert.match(access.how_to_get_access, names);
      assert.equal(access.remedy, undefined);
    }
  });
}

Deno.test("an encoded-slash match_failed (no wanted route) says to send the plain path", () => {
  const access = accessFor({ block: "match_failed", message: "m" }, { approvals: true });
  assert.match(access.how_to_get_access, /without encoded slashes/);
});

Deno.test("blockResponse is the §7.6 403: JSON, X-Bot-Bottle-Block, the body with its remedy", () => {
  const bytes = blockResponse(unlisted, site, true, { approvals: false });
  const text = new TextDecoder().decode(bytes);
  const [head, body] = text.split("\r\n\r\n");
  assert.match(head, /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.match(head, /\r\nContent-Type: application\/json\r\n/);
  assert.match(head, /\r\nX-Bot-Bottle-Block: host_not_allowlisted\r\n/);
  assert.match(head, /\r\nConnection: keep-alive\r\n/);
  assert.match(head, new RegExp(`\r\nContent-Length: ${new TextEncoder().encode(body).length}`));
  assert.equal(JSON.parse(body).remedy.via, "manifest");
});
