/**
 * The real codex CLI (the pinned `@openai/codex` in `bot-bottle-codex`) end to end: `start
 * <agent> --headless --prompt …` with `auth_token`, the provider route `api.openai.com` given an
 * `upstream` to the fake OpenAI (`tests/helpers/fake_openai.ts`), so codex sees the real
 * hostname through the sidecar and the bottle's CA. codex 0.171 opens the Responses API over a
 * WebSocket first; these tests show that path working through the proxy (token injected on the
 * upgrade, frames scanned both ways), its HTTP SSE fallback, and that the bottle holds only
 * placeholders. What codex sends is described in docs/providers.md.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { engineTest } from "../helpers/engine.ts";
import { type FakeOpenAi, startFakeOpenAi } from "../helpers/fake_openai.ts";
import {
  agentProcessEnv,
  type AgentTurn,
  refusedHosts,
  secretsInAgent,
  startAgentTurn,
  timingLine,
} from "../helpers/agent_turn.ts";

/**
 * Hosts codex 0.171 `exec` contacts besides the model host, all refused in an API-key bottle and
 * survived (docs/providers.md#codex): the curated-plugin sync (github.com, api.github.com, then
 * chatgpt.com), analytics (ab.chatgpt.com).
 */
const CODEX_REFUSED_HOSTS = ["github.com", "api.github.com", "chatgpt.com", "ab.chatgpt.com"];

/** An API key of the shape OpenAI issues (a token pattern the DLP knows). */
function fakeApiKey(): string {
  return `sk-proj-${crypto.randomUUID().replaceAll("-", "")}${crypto.randomUUID().slice(0, 8)}`;
}

function codexBottle(fake: FakeOpenAi, extra: string[] = []): string {
  return [
    "---",
    "agent_provider:",
    "  template: codex",
    "  auth_token: BB_OPENAI_KEY",
    "egress:",
    "  log: 1",
    "  routes:",
    "    - host: api.openai.com",
    `      upstream: "${fake.upstream}"`,
    ...extra,
    "---",
    "",
    "Codex against the fake OpenAI.",
    "",
  ].join("\n");
}

async function codexHome(token: string, fake: FakeOpenAi, extra: string[] = []) {
  const home = await bottleHome({ BB_OPENAI_KEY: token });
  await home.write("bottles", "codex-fake", codexBottle(fake, extra));
  await home.write("agents", "codex-fake", "---\nbottle: codex-fake\n---\n\nBe brief.\n");
  return home;
}

/** The WebSocket upgrade requests the fake accepted. */
function upgrades(fake: FakeOpenAi) {
  return fake.requests.filter((r) => r.method === "GET" && r.path === "/v1/responses");
}

function printTiming(label: string, turn: AgentTurn, fake: FakeOpenAi, stderr: string) {
  console.log(timingLine(label, turn, fake.firstRequestAt(), stderr));
}

engineTest(
  "codex: a headless turn over the Responses WebSocket runs a tool in the bottle, with only placeholders inside",
  async () => {
    const token = fakeApiKey();
    let release!: () => void;
    await using fake = await startFakeOpenAi({
      token,
      command: "printf 'written by codex\\n' > ~/workspace/codex-made.txt",
      // An echoing model: the key in a frame from the model must reach the agent as the
      // placeholder (token reflection in WebSocket frames).
      finalText: `Done. The key on this request was ${token}.`,
      holdFinal: new Promise<void>((r) => (release = r)),
    });
    await using home = await codexHome(token, fake);
    await using turn = await startAgentTurn(home, "codex-fake", "Create codex-made.txt.", {
      env: { BB_OPENAI_KEY: token },
    });
    // The tool ran and codex waits for the final answer: look inside the live bottle.
    await fake.until(() => fake.turns.some((t) => t.answer === "final"), "the tool output");
    const made = await turn.exec("cat ~/workspace/codex-made.txt");
    assert.equal(made.stdout, "written by codex\n", made.stderr);
    const env = await agentProcessEnv(turn);
    assert.ok(env.includes("OPENAI_API_KEY=egress-placeholder"), "codex has the placeholder");
    // The search sees codex's environment (so a key there would be found)…
    assert.ok((await secretsInAgent(turn, ["OPENAI_API_KEY=egress-placeholder"])).length > 0);
    // …and the real key is nowhere: files, processes' environment and argv, inspect.
    assert.deepEqual(await secretsInAgent(turn, [token]), [], "the real key is in the bottle");
    release();
    const result = await turn.done();
    printTiming("codex (WebSocket)", turn, fake, result.stderr);
    assert.equal(result.code, 0, result.stderr);

    // The Responses WebSocket, through the proxy, with the real key injected on the upgrade.
    const ws = upgrades(fake);
    assert.ok(ws.length >= 1, "codex opened the Responses WebSocket");
    for (const upgrade of ws) {
      assert.equal(upgrade.status, 101);
      assert.equal(upgrade.host, "api.openai.com");
      assert.equal(upgrade.headers.upgrade?.toLowerCase(), "websocket");
      assert.equal(upgrade.headers.authorization, `Bearer ${token}`);
      assert.match(upgrade.headers["openai-beta"] ?? "", /^responses_websockets=/);
      // codex offers permessage-deflate; the sidecar strips it so it can read every frame.
      assert.equal(upgrade.headers["sec-websocket-extensions"], undefined);
    }
    assert.equal(fake.authFailures, 0);
    assert.ok(!fake.requests.some((r) => r.method === "POST"), "no HTTP fallback was needed");
    assert.deepEqual(fake.turns.map((t) => [t.transport, t.answer]), [
      ["websocket", "prewarm"],
      ["websocket", "tool_call"],
      ["websocket", "final"],
    ]);
    assert.equal(fake.turns[1].tool?.kind, "code", "codex 0.171 declares the code-mode exec tool");
    const created = fake.wsMessages.filter((m) => m.direction === "in").map((m) =>
      JSON.parse(m.data)
    );
    assert.ok(created.every((m) => m.type === "response.create"), JSON.stringify(created));
    const output = JSON.stringify(created[2].input);
    assert.match(output, /custom_tool_call_output/, "the tool's output went back to the model");

    // Frames from the model are scrubbed: the agent printed the placeholder, never the key.
    assert.ok(!result.stdout.includes(token), "the key reached the agent in a frame");
    assert.match(result.stdout, /The key on this request was egress-placeholder\./);
    assert.ok(!result.stderr.includes(token));
    // Every host the sidecar refused is one codex is known to survive without.
    for (const host of refusedHosts(turn.sidecarLog)) {
      assert.ok(CODEX_REFUSED_HOSTS.includes(host), `codex contacted an undocumented host ${host}`);
    }
  },
);

engineTest(
  "codex: the canary in an outbound WebSocket frame never reaches the model host",
  async () => {
    const token = fakeApiKey();
    await using fake = await startFakeOpenAi({
      token,
      // The tool's output (the next `response.create` frame) carries the bottle's canary.
      command: "printf 'leak %s\\n' \"$BOT_BOTTLE_CANARY\"",
      finalText: "unreachable",
    });
    await using home = await codexHome(token, fake);
    await using turn = await startAgentTurn(home, "codex-fake", "Print the canary.", {
      env: { BB_OPENAI_KEY: token },
    });
    const result = await turn.done();
    printTiming("codex (canary)", turn, fake, result.stderr);
    assert.notEqual(result.code, 0, "the turn cannot complete");
    // codex ran the tool and printed the canary inside the bottle…
    const canary = /leak (bbcanary[a-z0-9]+)/.exec(result.stdout + result.stderr)?.[1];
    assert.ok(canary, `the tool ran and printed the canary:\n${result.stdout}\n${result.stderr}`);
    // …and the frame carrying it was stopped by the sidecar: the fake never saw it, over the
    // WebSocket or over the HTTP fallback codex tried next.
    assert.ok(upgrades(fake).length >= 1);
    for (const m of fake.wsMessages.filter((m) => m.direction === "in")) {
      assert.ok(!m.data.includes(canary), "a WebSocket frame carried the canary");
    }
    for (const r of fake.requests) {
      assert.ok(!JSON.stringify(r).includes(canary), `${r.method} ${r.path} carried the canary`);
    }
    const frameBlocks = turn.sidecarLog.filter((l) =>
      // The location names the frame, then where in its JSON (`websocket frame $.input…`).
      l.event === "blocked" && typeof l.location === "string" &&
      l.location.startsWith("websocket frame")
    );
    assert.ok(frameBlocks.length >= 1, "the sidecar blocked a WebSocket frame");
    assert.ok(!fake.turns.some((t) => t.answer === "final"));
  },
);

engineTest(
  "codex: with the WebSocket refused it falls back to HTTP SSE on the same route, key injected",
  async () => {
    const token = fakeApiKey();
    await using fake = await startFakeOpenAi({
      token,
      command: "printf 'over sse\\n' > ~/workspace/codex-sse.txt && cat ~/workspace/codex-sse.txt",
      finalText: "Done over SSE.",
      websocket: false,
    });
    await using home = await codexHome(token, fake);
    await using turn = await startAgentTurn(home, "codex-fake", "Create codex-sse.txt.", {
      env: { BB_OPENAI_KEY: token },
    });
    const result = await turn.done();
    printTiming("codex (SSE fallback)", turn, fake, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Done over SSE\./);
    assert.match(result.stderr, /Falling back from WebSockets to HTTPS transport/);
    const posts = fake.requests.filter((r) => r.method === "POST" && r.path === "/v1/responses");
    assert.equal(posts.length, 2, "the tool call, then the final answer");
    for (const post of posts) {
      assert.equal(post.headers.authorization, `Bearer ${token}`);
      assert.equal((post.json as { stream?: unknown }).stream, true);
    }
    assert.deepEqual(fake.turns.map((t) => [t.transport, t.answer]), [
      ["sse", "tool_call"],
      ["sse", "final"],
    ]);
    assert.match(JSON.stringify(posts[1].json), /custom_tool_call_output/);
    assert.match(JSON.stringify(posts[1].json), /over sse/, "the file's content came back");
  },
);

engineTest(
  "codex: a key-like string in the conversation is redacted inside the WebSocket frame, which stays open",
  async () => {
    // Provider routes default to outbound_on_match: redact (SPEC §7.4) and WebSocket frames are
    // scanned "outbound like bodies" (§7.2): a conversation quoting a key-like string goes on
    // with the string masked, as it does over HTTP.
    const token = fakeApiKey();
    const quoted = "ghp_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7C";
    await using fake = await startFakeOpenAi({
      token,
      command: `echo 'found ${quoted} in the repo'`,
      finalText: "Noted.",
    });
    await using home = await codexHome(token, fake);
    await using turn = await startAgentTurn(home, "codex-fake", "Look for tokens.", {
      env: { BB_OPENAI_KEY: token },
    });
    const result = await turn.done();
    assert.equal(result.code, 0, result.stderr);
    const frames = fake.wsMessages.filter((m) => m.direction === "in").map((m) => m.data);
    assert.ok(!frames.some((f) => f.includes(quoted)), "the key-like string left unmasked");
    assert.ok(
      !fake.requests.some((r) => r.method === "POST"),
      "codex had to fall back to HTTPS: the sidecar closed the WebSocket instead of redacting",
    );
    assert.ok(frames.some((f) => f.includes("found ******** in the repo")), "masked in the frame");
  },
);
