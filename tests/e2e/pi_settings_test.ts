/**
 * pi provisioned from `agent_provider.settings` alone (SPEC §10.3): no `models.json` shipped by
 * the test, no route `auth` — the bottle names its model server in `settings` and its key with
 * `agent_provider.auth_token`; provisioning writes `~/.pi/agent/models.json` and `settings.json`,
 * the resolver puts the token on the route `baseUrl` names, and the real pi CLI runs a headless
 * turn with a tool call against the fake chat-completions server, which receives the real key
 * while the bottle holds only the placeholder.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { engineTest } from "../helpers/engine.ts";
import { startFakeOpenAi } from "../helpers/fake_openai.ts";
import { secretsInAgent, startAgentTurn } from "../helpers/agent_turn.ts";

const MODEL_HOST = "models.example.test";

engineTest("pi: settings and auth_token alone give a working model, key injected", async () => {
  const token = `pk-fake-${crypto.randomUUID()}`;
  let release!: () => void;
  await using fake = await startFakeOpenAi({
    token,
    command: "printf 'from settings\\n' > ~/workspace/pi-settings.txt",
    finalText: "Done from settings.",
    extraHosts: [MODEL_HOST],
    holdFinal: new Promise<void>((r) => (release = r)),
  });
  await using home = await bottleHome({ BB_PI_KEY: token });
  await home.write(
    "bottles",
    "pi-settings",
    [
      "---",
      "agent_provider:",
      "  template: pi",
      "  auth_token: BB_PI_KEY",
      "  settings:",
      "    provider: fake",
      `    baseUrl: https://${MODEL_HOST}/v1`,
      "    models: [fake-coder]",
      "egress:",
      "  routes:",
      `    - host: ${MODEL_HOST}`,
      `      upstream: "${fake.upstream}"`,
      "---",
    ].join("\n"),
  );
  await home.write("agents", "pi-settings", "---\nbottle: pi-settings\n---\nBe brief.\n");

  const info = await home.cli(["info", "pi-settings"]);
  assert.match(
    info.stdout,
    new RegExp(
      `^egress +${
        MODEL_HOST.replaceAll(".", "\\.")
      } +Bearer +provider:pi\\+manifest:pi-settings +all +on_match=redact +outbound=token_patterns,known_secrets,credentials +inbound=off \\(provider route\\)$`,
      "m",
    ),
  );

  await using turn = await startAgentTurn(home, "pi-settings", "Create pi-settings.txt.", {
    env: { BB_PI_KEY: token },
  });
  await fake.until(() => fake.turns.some((t) => t.answer === "final"), "the tool output");
  const made = await turn.exec("cat ~/workspace/pi-settings.txt");
  assert.equal(made.stdout, "from settings\n", made.stderr);
  const models = JSON.parse((await turn.exec("cat ~/.pi/agent/models.json")).stdout);
  assert.equal(models.providers.fake.apiKey, "egress-placeholder");
  assert.deepEqual(await secretsInAgent(turn, [token]), [], "the real key is in the bottle");
  release();
  const result = await turn.done();
  assert.equal(result.code, 0, result.stderr);
  const chats = fake.requests.filter((r) => r.path === "/v1/chat/completions");
  assert.equal(chats.length, 2, "the tool call, then the final answer");
  for (const chat of chats) {
    assert.equal(chat.headers.authorization, `Bearer ${token}`, "auth_token, injected");
    assert.equal((chat.json as { model?: string }).model, "fake-coder");
  }
  assert.equal(fake.authFailures, 0);
});
