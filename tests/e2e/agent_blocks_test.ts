/**
 * Blocks an agent can read (SPEC §7.6 as revised, LESSONS 22), in a real shell bottle started
 * headless by the CLI: `curl https://unlisted.example/` and Node's `fetch` of it get the JSON
 * 403 from inside the intercepted tunnel, and the agent can read the rule and the remedy from
 * it (the bottle is started with `BOT_BOTTLE_SUPERVISE_APPROVALS=1`: an approver answers with `bot-bottle supervise`, so the remedy is the
 * `request-egress-route` tool; without one it is the manifest snippet, tested with the sidecar in
 * `tests/integration/sidecar/egress_blocks_test.ts`). IP literals and malformed names are still
 * refused on the `CONNECT`.
 *
 * Node 22's `fetch` ignores `HTTPS_PROXY` unless `NODE_USE_ENV_PROXY=1`; the bottle sets it (with
 * the experimental warning silenced), so a plain `node` in the agent's environment reads the
 * block, without a warning on stderr.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { startProbeBottle } from "../helpers/bottle_probe.ts";
import { engineTest } from "../helpers/engine.ts";

const MANIFEST = [
  "egress:",
  "  log: 1",
  "  routes:",
  "    - host: api.example.test",
].join("\n");

/** A Node script printing what `fetch(url)` got: status, block header and JSON body, or the error. */
function fetchScript(url: string): string {
  return [
    `fetch(${JSON.stringify(url)})`,
    ".then(async (r) => console.log(JSON.stringify({status: r.status,",
    "block: r.headers.get('x-bot-bottle-block'), body: await r.json()})))",
    ".catch((e) => console.log(JSON.stringify({error: e.message,",
    "cause: e.cause?.code ?? e.cause?.message ?? null})))",
  ].join("");
}

/** The agent's reading of a block body: the rule and what to do. */
function assertReadableBlock(body: Record<string, unknown>, host: string): void {
  assert.equal(body.error, "egress_blocked");
  assert.equal(body.rule, "host_not_allowlisted");
  assert.equal(body.host, host);
  assert.equal(typeof body.message, "string");
  assert.deepEqual(body.remedy, {
    via: "request-egress-route",
    mcp_server: "http://supervise:9100/",
    tool: "request-egress-route",
    arguments: { host, reason: "<why you need this access>" },
  });
  assert.match(String(body.how_to_get_access), /request-egress-route/);
  assert.match(String(body.how_to_get_access), /http:\/\/supervise:9100\//);
}

engineTest(
  "a shell bottle's curl and Node fetch read the JSON block of an unlisted host",
  async (t) => {
    await using home = await bottleHome({ BOT_BOTTLE_SUPERVISE_APPROVALS: "1" });
    await using bottle = await startProbeBottle(home, MANIFEST, { name: "blocks" });
    const step = (name: string, fn: () => Promise<void>) =>
      t.step({ name, fn, sanitizeOps: false, sanitizeResources: false, sanitizeExit: false });

    await step("curl -s prints the JSON body; the rule and the remedy parse", async () => {
      const r = await bottle.exec(
        "curl -s -w '\\n%{http_code} %{http_connect}' https://unlisted.example/",
      );
      const lines = r.stdout.trimEnd().split("\n");
      const [status, connectStatus] = lines.pop()!.split(" ");
      assert.equal(status, "403", r.stdout + r.stderr);
      assert.equal(connectStatus, "200", "the block came inside the tunnel, not on CONNECT");
      assertReadableBlock(JSON.parse(lines.join("\n")), "unlisted.example");
    });

    await step("curl -i shows the X-Bot-Bottle-Block header and application/json", async () => {
      const r = await bottle.exec("curl -s -i https://unlisted.example/some/path");
      assert.match(r.stdout, /^HTTP\/1\.1 403 Forbidden\r$/m, r.stdout);
      assert.match(r.stdout, /^X-Bot-Bottle-Block: host_not_allowlisted\r$/im);
      assert.match(r.stdout, /^Content-Type: application\/json\r$/im);
    });

    await step(
      "Node fetch in the bottle's own environment reads the rule and the remedy",
      async () => {
        const r = await bottle.exec("node -", { stdin: fetchScript("https://unlisted.example/") });
        const got = JSON.parse(r.stdout.trim() || "{}");
        assert.equal(got.status, 403, r.stdout + r.stderr);
        assert.equal(got.block, "host_not_allowlisted");
        assertReadableBlock(got.body, "unlisted.example");
        assert.doesNotMatch(r.stderr, /experimental/i, "no warning on every Node program's stderr");
      },
    );

    await step("IP literals and malformed names are refused on the CONNECT", async () => {
      for (const target of ["192.0.2.1:443", "[2001:db8::1]:443", "bad..name:443"]) {
        // curl -p sends the CONNECT for any URL; a raw CONNECT shows the proxy's own answer.
        const r = await bottle.exec(
          `printf 'CONNECT ${target} HTTP/1.1\\r\\nHost: ${target}\\r\\n\\r\\n' | ` +
            "timeout 20 bash -c 'exec 3<>/dev/tcp/egress/9099; cat >&3; cat <&3'",
        );
        const [head, body] = r.stdout.split("\r\n\r\n");
        assert.match(head, /^HTTP\/1\.1 403 /, `${target}: ${r.stdout} ${r.stderr}`);
        const parsed = JSON.parse(body);
        assert.equal(
          parsed.rule,
          target.startsWith("bad") ? "malformed_request" : "host_not_allowlisted",
        );
      }
    });
  },
  { sanitizeOps: false, sanitizeResources: false },
);
