import assert from "node:assert/strict";
import type { RouteRequestDetail } from "../../../../src/sidecar/control/protocol.ts";
import { serveMcp } from "../../../../src/sidecar/supervise/daemon.ts";
import {
  handleRpc,
  MCP_PROTOCOL_VERSION,
  routeAllows,
  type SuperviseTools,
} from "../../../../src/sidecar/supervise/mcp.ts";
import {
  parseRouteRequest,
  requestedRoute,
} from "../../../../src/sidecar/supervise/route_request.ts";
import type { RouteOutcome } from "../../../../src/sidecar/supervise/supervisor.ts";

function tools(outcome: RouteOutcome = { status: "timeout", notes: "late" }) {
  const asked: RouteRequestDetail[] = [];
  const t: SuperviseTools = {
    routes: () => [requestedRoute("api.example.test", [443], null, null)],
    requestRoute: (detail) => {
      asked.push(detail);
      return Promise.resolve(outcome);
    },
  };
  return { t, asked };
}

const call = (name: string, args: unknown, id = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

function toolJson(answer: Record<string, unknown> | null): Record<string, unknown> {
  const result = answer?.result as { content: { text: string }[]; isError?: boolean };
  return { ...JSON.parse(result.content[0].text), isError: result.isError ?? false };
}

Deno.test("initialize answers our protocol version and name, whatever the client asks", async () => {
  for (const asked of ["2024-11-05", "2025-06-18", "2099-01-01"]) {
    const answer = await handleRpc({
      jsonrpc: "2.0",
      id: 7,
      method: "initialize",
      params: { protocolVersion: asked, capabilities: {}, clientInfo: { name: "t" } },
    }, tools().t);
    const result = answer?.result as Record<string, unknown>;
    assert.equal(answer?.id, 7);
    assert.equal(result.protocolVersion, MCP_PROTOCOL_VERSION);
    assert.deepEqual(result.serverInfo, { name: "bot-bottle-supervise", version: "1.1.0" });
    assert.ok((result.capabilities as Record<string, unknown>).tools);
  }
});

Deno.test("notifications get no answer; unknown methods -32601; unknown tools -32602", async () => {
  const { t } = tools();
  assert.equal(
    await handleRpc({ jsonrpc: "2.0", method: "notifications/initialized" }, t),
    null,
  );
  const unknown = await handleRpc({ jsonrpc: "2.0", id: 2, method: "resources/list" }, t);
  assert.equal((unknown?.error as { code: number }).code, -32601);
  const tool = await handleRpc(call("delete-everything", {}), t);
  assert.equal((tool?.error as { code: number }).code, -32602);
  const invalid = await handleRpc({ id: 3, method: "tools/list" }, t);
  assert.equal((invalid?.error as { code: number }).code, -32600);
});

Deno.test("tools/list names both tools with input schemas", async () => {
  const answer = await handleRpc({ jsonrpc: "2.0", id: 1, method: "tools/list" }, tools().t);
  const list = (answer?.result as { tools: { name: string; inputSchema: unknown }[] }).tools;
  assert.deepEqual(list.map((x) => x.name), ["list-egress-routes", "request-egress-route"]);
  assert.ok(list.every((x) => typeof x.inputSchema === "object"));
});

Deno.test("list-egress-routes returns the live table", async () => {
  const out = toolJson(await handleRpc(call("list-egress-routes", {}), tools().t));
  assert.deepEqual((out.routes as { host: string }[]).map((r) => r.host), ["api.example.test"]);
});

Deno.test("request-egress-route refuses bad hosts without filing anything", async () => {
  const { t, asked } = tools();
  for (
    const [host, why] of [
      ["localhost", /loopback/],
      ["192.0.2.10", /IP literals/],
      ["[2001:db8::1]", /IP literals/],
      ["supervise", /inside the bottle/],
      ["git-gate", /inside the bottle/],
      ["intranet", /single-label/],
      ["printer.local", /local-network/],
      ["metadata.google.internal", /local-network/],
      ["*.example.test", /wildcards/],
    ] as const
  ) {
    const out = toolJson(await handleRpc(call("request-egress-route", { host, reason: "x" }), t));
    assert.equal(out.status, "rejected", host);
    assert.equal(out.isError, true);
    assert.match(String(out.notes), /^Rejected without review: invalid arguments: /, host);
    assert.match(String(out.notes), why, host);
  }
  const noReason = toolJson(
    await handleRpc(call("request-egress-route", { host: "pypi.example.test" }), t),
  );
  assert.equal(noReason.status, "rejected");
  assert.match(String(noReason.notes), /invalid arguments: .*reason/);
  assert.equal(asked.length, 0);
});

Deno.test("request-egress-route for a listed host says so; a new host waits for the outcome", async () => {
  const approved = requestedRoute("pypi.example.test", [443], null, null);
  const { t, asked } = tools({ status: "approved", notes: "ok", route: approved });
  const exists = toolJson(
    await handleRpc(call("request-egress-route", { host: "API.example.test", reason: "x" }), t),
  );
  assert.equal(exists.status, "rejected");
  assert.equal(
    exists.notes,
    "Rejected without review: api.example.test is already routed; the existing route allows " +
      "port 443; any method and path, so there is nothing to approve. For more, ask the operator " +
      "to change the bottle manifest.",
  );
  assert.equal((exists.route as { host: string }).host, "api.example.test");
  assert.equal(asked.length, 0, "nothing filed for a routed host");
  const out = toolJson(
    await handleRpc(
      call("request-egress-route", {
        host: "pypi.example.test",
        methods: ["get"],
        paths: ["/simple/"],
        reason: "need requests",
      }),
      t,
    ),
  );
  assert.equal(out.status, "approved");
  assert.equal(asked.length, 1);
  assert.deepEqual(asked[0].methods, ["GET"]);
  assert.deepEqual(asked[0].route.matches, [{
    methods: ["GET"],
    paths: [{ type: "prefix", value: "/simple/" }],
  }]);
  assert.equal(asked[0].route.auth, null);
  assert.equal(asked[0].route.upstream, null);
});

Deno.test("parseRouteRequest checks every argument", () => {
  const bad: [unknown, RegExp][] = [
    [[], /object/],
    [{ host: "a.example.test", reason: "x", token: "y" }, /unknown argument "token"/],
    [{ host: "a.example.test", reason: "x", ports: [0] }, /ports/],
    [{ host: "a.example.test", reason: "x", ports: [] }, /ports/],
    [{ host: "a.example.test", reason: "x", methods: ["GET /"] }, /methods/],
    [{ host: "a.example.test", reason: "x", paths: ["simple"] }, /paths/],
    [{ host: "a.example.test", reason: "x".repeat(1001) }, /at most 1000/],
    [{ host: 5, reason: "x" }, /host/],
  ];
  for (const [args, why] of bad) {
    const parsed = parseRouteRequest(args);
    assert.ok("error" in parsed, JSON.stringify(args));
    assert.match(parsed.error, why);
  }
  const ok = parseRouteRequest({ host: " Pypi.Example.Test ", reason: " r ", ports: [443, 443] });
  assert.ok(!("error" in ok));
  assert.equal(ok.host, "pypi.example.test");
  assert.deepEqual(ok.ports, [443]);
  assert.equal(ok.reason, "r");
  assert.equal(ok.route.dlp.onMatch, "supervise");
});

Deno.test("the HTTP transport: POST JSON, 202 for notifications, 405 for GET, errors as JSON", async () => {
  const { t } = tools();
  const post = (body: string) =>
    serveMcp(
      new Request("http://supervise:9100/", {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      }),
      t,
    );
  const listed = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }));
  assert.equal(listed.status, 200);
  assert.equal(listed.headers.get("content-type"), "application/json");
  assert.equal((await listed.json()).id, 1);
  const note = await post(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  assert.equal(note.status, 202);
  assert.equal(await note.text(), "");
  const get = await serveMcp(new Request("http://supervise:9100/"), t);
  assert.equal(get.status, 405);
  await get.body?.cancel();
  const parse = await post("{not json");
  assert.equal(parse.status, 400);
  assert.equal((await parse.json()).error.code, -32700);
  const big = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "x".repeat(300_000) }));
  assert.equal(big.status, 413);
  await big.body?.cancel();
});

/** Every status request-egress-route may answer (SPEC §9.2). */
const SPEC_STATUSES = ["approved", "modified", "rejected", "timeout"];

Deno.test("request-egress-route answers only SPEC §9.2 statuses, even when refusing at once", async () => {
  const { t } = tools({ status: "rejected", notes: "no" });
  for (
    const args of [
      { host: "localhost", reason: "x" },
      { host: "pypi.example.test" },
      { host: "pypi.example.test", reason: "x", token: "y" },
      { host: "api.example.test", reason: "x" },
      { host: "pypi.example.test", reason: "x" },
    ]
  ) {
    const out = toolJson(await handleRpc(call("request-egress-route", args), t));
    assert.ok(SPEC_STATUSES.includes(String(out.status)), JSON.stringify(out));
    assert.equal(typeof out.notes, "string", JSON.stringify(args));
  }
});

Deno.test("routeAllows() says what an existing route lets through", () => {
  const any = requestedRoute("a.example.test", [443], null, null);
  assert.equal(routeAllows(any), "port 443; any method and path");
  assert.equal(
    routeAllows({
      ...any,
      ports: [443, 8443],
      matches: [
        { methods: ["GET", "HEAD"], paths: [{ type: "prefix", value: "/simple/" }] },
        { paths: [{ type: "exact", value: "/ping" }], headers: [{ name: "X-Key" }] },
      ],
    }),
    "ports 443, 8443; GET/HEAD on paths starting with /simple/; or any method on path /ping with header X-Key",
  );
});
