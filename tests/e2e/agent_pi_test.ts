/**
 * The real pi CLI (the pinned `@mariozechner/pi-coding-agent` in `bot-bottle-pi`) end to end:
 * `start <agent> --headless --prompt …` against a model server on a route named by the bottle's
 * `settings` base URL (pi has no default model host, SPEC §10.3), the route given an `upstream`
 * to the fake OpenAI's chat-completions endpoint (`tests/helpers/fake_openai.ts`) and a Bearer
 * token from a host variable. What pi sends is described in docs/providers.md.
 *
 * The launch writes `~/.pi/agent/models.json` from `settings`, and `auth_token` puts the key as
 * `Bearer` on the route the base URL names.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { engineTest } from "../helpers/engine.ts";
import { type FakeOpenAi, startFakeOpenAi } from "../helpers/fake_openai.ts";
import { refusedHosts, secretsInAgent, startAgentTurn, timingLine } from "../helpers/agent_turn.ts";

/** The model host in pi's view: a reserved name, reached only through the route's upstream. */
const MODEL_HOST = "models.example.test";

/** Hosts pi 0.73 contacts besides the model host (version check, tool downloads), refused. */
const PI_REFUSED_HOSTS = ["pi.dev", "api.github.com", "github.com"];

/** The host's default Deno cache, so a child CLI with another HOME still finds its modules. */
function denoDir(): string {
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`;
  return Deno.env.get("DENO_DIR") ?? `${cache}/deno`;
}

async function piHome(token: string, fake: FakeOpenAi) {
  const home = await bottleHome({ BB_PI_KEY: token });
  const hostHome = `${home.root}/host-home`;
  await Deno.mkdir(hostHome, { recursive: true });
  const baseUrl = `https://${MODEL_HOST}/v1`;
  await home.write(
    "bottles",
    "pi-fake",
    [
      "---",
      "agent_provider:",
      "  template: pi",
      "  auth_token: BB_PI_KEY",
      "  settings:",
      "    provider: fake",
      `    baseUrl: ${baseUrl}`,
      "    api: openai-completions",
      "    models: [fake-coder]",
      "egress:",
      "  log: 1",
      "  routes:",
      `    - host: ${MODEL_HOST}`,
      `      upstream: "${fake.upstream}"`,
      "      matches: [{paths: [{type: prefix, value: /v1}]}]",
      "---",
      "",
      "Pi against the fake model server.",
      "",
    ].join("\n"),
  );
  await home.write(
    "agents",
    "pi-fake",
    "---\nbottle: pi-fake\n---\n\nBe brief.\n",
  );
  return { home, env: { BB_PI_KEY: token, HOME: hostHome, DENO_DIR: denoDir() } };
}

engineTest(
  "pi: a headless turn against a chat-completions server runs a tool in the bottle, with only placeholders inside",
  async () => {
    const token = `pk-fake-${crypto.randomUUID()}`;
    let release!: () => void;
    await using fake = await startFakeOpenAi({
      token,
      command: "printf 'written by pi\\n' > ~/workspace/pi-made.txt && cat ~/workspace/pi-made.txt",
      finalText: `Done. The key on this request was ${token}.`,
      extraHosts: [MODEL_HOST],
      holdFinal: new Promise<void>((r) => (release = r)),
    });
    const { home: h, env } = await piHome(token, fake);
    await using home = h;
    await using turn = await startAgentTurn(home, "pi-fake", "Create pi-made.txt.", { env });
    await fake.until(() => fake.turns.some((t) => t.answer === "final"), "the tool output");
    const made = await turn.exec("cat ~/workspace/pi-made.txt");
    assert.equal(made.stdout, "written by pi\n", made.stderr);
    // The search finds pi's dummy key in its models.json (so it would find the real one)…
    const dummy = await secretsInAgent(turn, ["egress-placeholder"]);
    assert.ok(dummy.some((f) => f.endsWith("/models.json")), dummy.join(", "));
    // …and the real key is nowhere: files, processes' environment and argv, inspect.
    assert.deepEqual(await secretsInAgent(turn, [token]), [], "the real key is in the bottle");
    release();
    const result = await turn.done();
    console.log(timingLine("pi", turn, fake.firstRequestAt(), result.stderr));
    assert.equal(result.code, 0, result.stderr);

    const chats = fake.requests.filter((r) => r.path === "/v1/chat/completions");
    assert.equal(chats.length, 2, "the tool call, then the final answer");
    for (const chat of chats) {
      assert.equal(chat.method, "POST");
      assert.equal(chat.host, MODEL_HOST);
      assert.equal(chat.headers.authorization, `Bearer ${token}`, "the route's token, injected");
      const body = chat.json as Record<string, unknown>;
      assert.equal(body.stream, true);
      assert.equal(body.model, "fake-coder");
    }
    assert.equal(fake.authFailures, 0);
    assert.deepEqual(fake.turns.map((t) => [t.transport, t.answer, t.tool?.name]), [
      ["chat", "tool_call", "bash"],
      ["chat", "final", undefined],
    ]);
    const messages = (chats[1].json as { messages: { role: string; content: unknown }[] }).messages;
    const toolResult = messages.find((m) => m.role === "tool");
    assert.match(JSON.stringify(toolResult?.content), /written by pi/, "the tool's output");
    // The streamed answer is scrubbed of the key: pi printed the placeholder.
    assert.ok(!result.stdout.includes(token), "the key reached the agent in the stream");
    assert.match(result.stdout, /The key on this request was egress-placeholder\./);
    for (const host of refusedHosts(turn.sidecarLog)) {
      assert.ok(PI_REFUSED_HOSTS.includes(host), `pi contacted an undocumented host ${host}`);
    }
  },
);
