/**
 * supervise in a real sidecar init (SPEC §7.4, §9): requests held on a `supervise` route,
 * released or refused by `decision` messages on the control channel, the caps under a flood,
 * every finding of a request in its proposal (and only those safelisted), proposals without an
 * approver deduplicated and capped, and the MCP server's `request-egress-route` making a route
 * live. The host side is played by the test through `bridge`, exactly as the host CLI does.
 */
import assert from "node:assert/strict";
import {
  DEFAULT_SUPERVISE,
  MAX_PROPOSAL_FINDINGS,
  type SidecarConfig,
  type SuperviseSettings,
} from "../../../src/sidecar/control/protocol.ts";
import { MAX_REVIEW_PROPOSALS } from "../../../src/sidecar/supervise/supervisor.ts";
import { type Bridge, type Sidecar, startSidecar, testConfig } from "./sidecar_fixture.ts";

const TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
const OTHER = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2";

interface Upstream extends AsyncDisposable {
  port: number;
  bodies: string[];
}

function startUpstream(): Upstream {
  const bodies: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    bodies.push(await req.text());
    return new Response("stored\n");
  });
  return {
    port: server.addr.port,
    bodies,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

function config(upstreamPort: number, supervise: Partial<SuperviseSettings>): SidecarConfig {
  const base = testConfig();
  const route = (host: string, entropy: boolean): SidecarConfig["routes"][number] => ({
    host,
    ports: [80],
    origin: "manifest bottles/itest.md",
    auth: null,
    matches: null,
    dlp: {
      outboundDetectors: entropy ? ["token_patterns", "entropy"] : ["token_patterns"],
      inboundDetectors: false,
      onMatch: "supervise",
    },
    upstream: `127.0.0.1:${upstreamPort}`,
    maxBodyBytes: 1024 * 1024,
  });
  return {
    ...base,
    // `wide` also reports random path segments (`entropy`).
    routes: [...base.routes, route("hold.example.test", false), route("wide.example.test", true)],
    supervise: { ...DEFAULT_SUPERVISE, approvals: true, ...supervise },
  };
}

/** A host that commits and acks every sequenced message, and hands proposals to the test. */
class Host {
  readonly proposals: Record<string, unknown>[] = [];
  readonly answers = new Map<string, Record<string, unknown>>();
  #waiters: (() => void)[] = [];
  #reading: Promise<void>;

  constructor(readonly bridge: Bridge) {
    this.#reading = (async () => {
      for (;;) {
        let line: Record<string, unknown>;
        try {
          line = await bridge.next("a line", 600_000);
        } catch {
          return;
        }
        if (typeof line.seq === "number") await bridge.send({ type: "ack", seq: line.seq });
        if (line.type === "proposal") this.proposals.push(line.body as Record<string, unknown>);
        if (line.type === "applied") this.answers.set(String(line.id), line);
        for (const w of this.#waiters.splice(0)) w();
      }
    })();
  }

  async until<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  async configure(c: SidecarConfig): Promise<void> {
    await this.bridge.send({ type: "config", id: "cfg", config: c });
    await this.until("the config applied", () => this.answers.get("cfg"));
  }

  async decide(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = `decision-${body.key}`;
    this.answers.delete(id);
    await this.bridge.send({ type: "decision", id, body });
    return await this.until(`the answer to ${id}`, () => this.answers.get(id));
  }

  async sync(): Promise<void> {
    const id = `sync-${crypto.randomUUID()}`;
    await this.bridge.send({ type: "sync", id });
    await this.until("sync", () => this.answers.get(id));
  }

  async close(): Promise<void> {
    await this.bridge.close();
    await this.#reading;
  }
}

async function post(
  sidecar: Sidecar,
  body: string,
  url = "http://hold.example.test/v1/notes?x=1",
): Promise<{ status: number; block: string | null; text: string }> {
  const port = await sidecar.port("egress");
  const client = Deno.createHttpClient({ proxy: { url: `http://127.0.0.1:${port}` } });
  try {
    const response = await fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      client,
    });
    return {
      status: response.status,
      block: response.headers.get("x-bot-bottle-block"),
      text: await response.text(),
    };
  } finally {
    client.close();
  }
}

async function withSidecar(
  supervise: Partial<SuperviseSettings>,
  run: (s: { sidecar: Sidecar; host: Host; upstream: Upstream }) => Promise<void>,
): Promise<void> {
  await using upstream = startUpstream();
  await using sidecar = await startSidecar();
  const host = new Host(sidecar.bridge());
  try {
    await host.configure(config(upstream.port, supervise));
    await run({ sidecar, host, upstream });
  } finally {
    await host.close();
  }
}

Deno.test("a held request is released as sent by an approval; the same value then passes", async () => {
  await withSidecar({}, async ({ sidecar, host, upstream }) => {
    const body = JSON.stringify({ note: `deploy with ${TOKEN}`, n: 1 });
    const pending = post(sidecar, body);
    const proposal = await host.until("a proposal", () => host.proposals[0]);
    assert.equal(proposal.kind, "egress-token-allow");
    assert.equal(proposal.held, true);
    assert.ok(!JSON.stringify(proposal).includes(TOKEN), "the proposal never carries the value");
    const detail = proposal.detail as Record<string, string>;
    assert.equal(detail.host, "hold.example.test");
    assert.equal(detail.method, "POST");
    assert.equal(detail.path, "/v1/notes");
    assert.equal(detail.detector, "token_patterns");
    assert.match(detail.context, /\*{8}/);
    assert.equal(upstream.bodies.length, 0, "nothing goes upstream while held");

    const answer = await host.decide({ key: proposal.key, status: "approved", reason: "test" });
    assert.equal(answer.error, undefined);
    const response = await pending;
    assert.equal(response.status, 200);
    assert.deepEqual(upstream.bodies, [body], "the upstream got the request byte for byte");

    // Same value, same host: no new proposal.
    const again = await post(sidecar, JSON.stringify({ again: TOKEN }));
    assert.equal(again.status, 200);
    await host.sync();
    assert.equal(host.proposals.length, 1);
    // A decision resent after a reconnect is answered the same, not applied twice.
    const resent = await host.decide({ key: proposal.key, status: "rejected", reason: "late" });
    assert.equal(resent.error, undefined);
  });
});

Deno.test("a rejection gives the agent a 403 with the reason; a once-approval safelists nothing", async () => {
  await withSidecar({}, async ({ sidecar, host, upstream }) => {
    const first = post(sidecar, JSON.stringify({ a: OTHER }));
    const p1 = await host.until("a proposal", () => host.proposals[0]);
    await host.decide({ key: p1.key, status: "approved", reason: "just this once", scope: "once" });
    assert.equal((await first).status, 200);

    const second = post(sidecar, JSON.stringify({ b: OTHER }));
    const p2 = await host.until("a second proposal", () => host.proposals[1]);
    await host.decide({ key: p2.key, status: "rejected", reason: "that key is production" });
    const refused = await second;
    assert.equal(refused.status, 403);
    assert.equal(refused.block, "supervise_rejected");
    const json = JSON.parse(refused.text);
    assert.equal(json.rule, "supervise_rejected");
    assert.match(json.message, /that key is production/);
    assert.ok(!refused.text.includes(OTHER));
    assert.equal(upstream.bodies.length, 1);
    // A decision on a proposal that no longer waits is reported as expired.
    const late = await host.decide({ key: p2.key + "x", status: "approved", reason: null });
    assert.equal(late.error, "expired");
  });
});

Deno.test("no decision in time gives 403 supervise_timeout; no approver blocks at once", async () => {
  await withSidecar({ tokenAllowTimeoutSeconds: 1 }, async ({ sidecar, host, upstream }) => {
    const response = await post(sidecar, JSON.stringify({ a: TOKEN }));
    assert.equal(response.status, 403);
    assert.equal(response.block, "supervise_timeout");
    const late = await host.decide({ key: host.proposals[0].key, status: "approved", reason: "x" });
    assert.equal(late.error, "expired");
    assert.equal(upstream.bodies.length, 0);
  });
  await withSidecar({ approvals: false }, async ({ sidecar, host, upstream }) => {
    const response = await post(sidecar, JSON.stringify({ a: TOKEN }));
    assert.equal(response.status, 403);
    assert.equal(response.block, "supervise_unavailable");
    const proposal = await host.until("a proposal for review", () => host.proposals[0]);
    assert.equal(proposal.held, false);
    assert.equal(upstream.bodies.length, 0);
  });
});

Deno.test("a flood of 100 flagged requests: the caps hold, memory stays bounded, all answered", async () => {
  await withSidecar({ maxHeldRequests: 8 }, async ({ sidecar, host, upstream }) => {
    const rss = () => {
      const status = Deno.readTextFileSync(`/proc/${sidecar.child.pid}/status`);
      return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
    };
    const before = rss();
    let peak = before;
    const padding = "x".repeat(256 * 1024);
    let done = false;
    const all = Promise.all(
      Array.from({ length: 100 }, (_, i) => post(sidecar, JSON.stringify({ i, TOKEN, padding }))),
    ).finally(() => (done = true));
    // The reviewer rejects each proposal as it comes; never more than the cap wait at once.
    let decided = 0;
    let mostWaiting = 0;
    while (!done) {
      await host.until(
        "a proposal or the end",
        () => host.proposals.length > decided || done ? true : undefined,
        120_000,
      );
      mostWaiting = Math.max(mostWaiting, host.proposals.length - decided);
      peak = Math.max(peak, rss());
      while (decided < host.proposals.length) {
        const p = host.proposals[decided++];
        await host.decide({ key: p.key, status: "rejected", reason: "flood" });
      }
    }
    const results = await all;
    const count = (block: string) => results.filter((r) => r.block === block).length;
    assert.equal(results.length, 100);
    assert.ok(mostWaiting <= 8, `at most 8 held at once, saw ${mostWaiting}`);
    assert.equal(count("supervise_rejected"), host.proposals.length);
    assert.equal(count("supervise_unavailable"), 100 - host.proposals.length);
    assert.ok(count("supervise_unavailable") > 0, "the cap refused some");
    assert.ok(
      results.filter((r) => r.block === "supervise_unavailable").every((r) =>
        /cap of held requests/.test(JSON.parse(r.text).message)
      ),
    );
    assert.equal(upstream.bodies.length, 0);
    console.log(
      `flood: ${host.proposals.length} held (at most ${mostWaiting} at once), ${
        count("supervise_unavailable")
      } refused at the cap; RSS ${Math.round(before / 2 ** 20)} MiB before, peak ${
        Math.round(peak / 2 ** 20)
      } MiB (25.6 MiB of bodies sent)`,
    );
    assert.ok(peak - before < 200 * 2 ** 20, "the sidecar's memory stays bounded");
  });
});

/** A JSON-RPC call to the sidecar's MCP server. */
async function mcp(sidecar: Sidecar) {
  const line = await sidecar.waitForLog(
    (l) => l.daemon === "supervise" && l.event === "listening",
    "supervise listening",
  );
  const port = Number(/:(\d+)$/.exec(String(line.address))![1]);
  return async (method: string, params: unknown, id = 1) => {
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
    });
    return await response.json();
  };
}

Deno.test("request-egress-route blocks until approved, then the route is live; bad hosts are refused", async () => {
  await withSidecar({}, async ({ sidecar, host }) => {
    const rpc = await mcp(sidecar);
    const init = await rpc("initialize", { protocolVersion: "2025-06-18", capabilities: {} });
    assert.equal(init.result.serverInfo.name, "bot-bottle-supervise");

    const refused = await rpc("tools/call", {
      name: "request-egress-route",
      arguments: { host: "localhost", reason: "x" },
    });
    assert.equal(refused.result.isError, true);
    await host.sync();
    assert.equal(host.proposals.length, 0, "a refused host files no proposal");

    const asked = rpc("tools/call", {
      name: "request-egress-route",
      arguments: {
        host: "pypi.example.test",
        ports: [80],
        methods: ["GET"],
        reason: "need requests",
      },
    });
    const proposal = await host.until("a route proposal", () => host.proposals[0]);
    assert.equal(proposal.kind, "egress-route");
    const detail = proposal.detail as { route: Record<string, unknown> };
    assert.equal(detail.route.auth, null);
    await host.decide({ key: proposal.key, status: "approved", reason: "ok", route: detail.route });
    const result = JSON.parse((await asked).result.content[0].text);
    assert.equal(result.status, "approved");

    const listed = await rpc("tools/call", { name: "list-egress-routes", arguments: {} });
    const routes = JSON.parse(listed.result.content[0].text).routes as { host: string }[];
    assert.ok(routes.some((r) => r.host === "pypi.example.test"));
    const file = JSON.parse(await Deno.readTextFile(`${sidecar.configDir}/routes.json`));
    assert.ok(file.some((r: { host: string }) => r.host === "pypi.example.test"));
    // The proxy decides with it now: pypi.example.test is allowed (GET), other methods are not.
    const egress = await sidecar.port("egress");
    const client = Deno.createHttpClient({ proxy: { url: `http://127.0.0.1:${egress}` } });
    const put = await fetch("http://pypi.example.test/simple/", { method: "PUT", client });
    assert.equal(put.headers.get("x-bot-bottle-block"), "match_failed");
    await put.body?.cancel();
    client.close();
  });
});

const AKIA = "AKIA" + "QWERTYUIOPASDFGH";
/** A path segment `entropy` reports: random base62, harmless-looking next to a key. */
const RANDOM = "Zq8xT3vK9mW2pR7bN4cY6hJ1";
/** `n` distinct AWS key IDs. */
const awsKeys = (n: number) =>
  Array.from({ length: n }, (_, i) => `AKIA${"QWERTYUIOPASDF"}${String(i).padStart(2, "0")}`);

Deno.test("a key in the body behind an entropy finding in the path: the proposal names both, key first", async () => {
  await withSidecar({}, async ({ sidecar, host, upstream }) => {
    const pending = post(
      sidecar,
      JSON.stringify({ key: AKIA }),
      `http://wide.example.test/v1/${RANDOM}/items`,
    );
    const proposal = await host.until("a proposal", () => host.proposals[0]);
    assert.match(String(proposal.summary), /^2 findings: POST wide\.example\.test /);
    const detail = proposal.detail as {
      detector: string;
      findings: { detector: string; rule: string; location: string }[];
      omitted: number;
    };
    assert.deepEqual(detail.findings.map((f) => [f.detector, f.rule, f.location]), [
      ["token_patterns", "aws_access_key_id", "body $.key"],
      ["entropy", "random_path_segment", "path"],
    ]);
    assert.equal(detail.detector, "token_patterns", "the top-level finding is the key");
    assert.equal(detail.omitted, 0);
    const text = JSON.stringify(proposal);
    assert.ok(!text.includes(AKIA) && !text.includes(RANDOM), "never a value");
    await host.decide({ key: proposal.key, status: "rejected", reason: "that is a key" });
    assert.equal((await pending).block, "supervise_rejected");
    assert.equal(upstream.bodies.length, 0);
  });
});

Deno.test("an approval safelists only the values its proposal listed; one past the cap is held again", async () => {
  await withSidecar({}, async ({ sidecar, host, upstream }) => {
    const keys = awsKeys(MAX_PROPOSAL_FINDINGS + 5);
    const body = JSON.stringify(keys.map((key) => ({ key })));
    const pending = post(sidecar, body);
    const proposal = await host.until("a proposal", () => host.proposals[0]);
    assert.match(String(proposal.summary), /^25 findings: /);
    const detail = proposal.detail as { findings: unknown[]; omitted: number };
    assert.equal(detail.findings.length, MAX_PROPOSAL_FINDINGS);
    assert.equal(detail.omitted, 5);
    await host.decide({ key: proposal.key, status: "approved", reason: "fixture keys" });
    assert.equal((await pending).status, 200, "the approved request goes out whole");
    assert.deepEqual(upstream.bodies, [body]);

    // A listed key to the same host passes without asking again.
    assert.equal((await post(sidecar, JSON.stringify({ k: keys[3] }))).status, 200);
    await host.sync();
    assert.equal(host.proposals.length, 1);
    // A key the reviewer never saw is held again.
    const unseen = post(sidecar, JSON.stringify({ k: keys[MAX_PROPOSAL_FINDINGS + 2] }));
    const again = await host.until("a second proposal", () => host.proposals[1]);
    await host.decide({ key: again.key, status: "rejected", reason: "not that one" });
    assert.equal((await unseen).block, "supervise_rejected");
    assert.equal(upstream.bodies.length, 2);
  });
});

Deno.test("without an approver, repeats of a flagged request and 120 route requests record at most the cap", async () => {
  await withSidecar({ approvals: false }, async ({ sidecar, host, upstream }) => {
    // The same finding to the same host, five times (another path each): one proposal.
    const answers = [];
    for (let i = 0; i < 5; i++) {
      answers.push(
        await post(sidecar, JSON.stringify({ a: TOKEN }), `http://hold.example.test/v${i}`),
      );
    }
    assert.ok(answers.every((a) => a.block === "supervise_unavailable"));
    assert.match(JSON.parse(answers[0].text).message, /recorded for the operator's review/);
    assert.match(JSON.parse(answers[4].text).message, /already waits .*not recorded again/);

    const rpc = await mcp(sidecar);
    const notes: string[] = [];
    for (let i = 0; i < 120; i++) {
      const answer = await rpc("tools/call", {
        name: "request-egress-route",
        arguments: { host: `h${i % 110}.example.test`, reason: `attempt ${i}` },
      }, i + 2);
      const result = JSON.parse(answer.result.content[0].text);
      assert.equal(result.status, "rejected");
      notes.push(result.notes);
    }
    await host.sync();
    assert.equal(host.proposals.length, MAX_REVIEW_PROPOSALS, "1 finding + 99 routes");
    assert.ok(host.proposals.every((p) => p.held === false));
    assert.match(
      notes[0],
      /approvals are off .*It is recorded for the operator.s review\. The operator can add the route/,
    );
    assert.match(
      notes[99],
      /It was not recorded for review: 100 proposals .*\(the cap\)\. Ask the operator directly\.$/,
    );
    assert.match(notes[110], /already waits .*not recorded again/);
    const logged = await sidecar.waitForLog(
      (l) => l.event === "proposal-not-recorded" && /cap/.test(String(l.why)),
      "a log line for a proposal not recorded at the cap",
    );
    assert.equal(logged.kind, "egress-route");
    // The operator decides one: room for one more.
    const decided = await host.decide({
      key: host.proposals[1].key,
      status: "rejected",
      reason: "no",
    });
    assert.equal(decided.error, "expired");
    await rpc("tools/call", {
      name: "request-egress-route",
      arguments: { host: "late.example.test", reason: "after a decision" },
    }, 500);
    await host.sync();
    assert.equal(host.proposals.length, MAX_REVIEW_PROPOSALS + 1);
    assert.equal(upstream.bodies.length, 0);
  });
});
