import assert from "node:assert/strict";
import {
  checkHostVariables,
  resolveLaunchSecrets,
  routeTokens,
} from "../../../src/credentials/mod.ts";
import { ConfigError, CredentialsError } from "../../../src/lib/errors.ts";
import { resolveAgent } from "../../../src/manifest/mod.ts";
import { memoryCatalog } from "../manifest/catalog.ts";

const BOTTLES = {
  dev: `agent_provider: {template: shell}
env:
  FROM_HOST: "\${HOST_VALUE_VAR}"
  PLAIN: visible-literal-value
egress:
  routes:
    - host: api.example.com
      auth: {scheme: Bearer, token_ref: API_TOKEN_VAR}
    - host: registry.npmjs.org`,
};
const AGENTS = { impl: "bottle: dev\n---\n\nYou implement issues." };
const resolved = () => resolveAgent(memoryCatalog(BOTTLES, AGENTS), "impl");
const reader = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("routeTokens maps each auth route's slot to its host variable's value", () => {
  const r = resolved();
  const slots = routeTokens(r, reader({ API_TOKEN_VAR: "tok-value-1234" }));
  const slot = r.routes.find((x) => x.host === "api.example.com")!.auth!.slot;
  assert.deepEqual([...slots], [[slot, "tok-value-1234"]]);
});

Deno.test("routeTokens names an unset or empty variable, never a value", () => {
  for (
    const [vars, detail] of [
      [{}, "not set"],
      [{ API_TOKEN_VAR: "" }, "empty"],
    ] as const
  ) {
    assert.throws(
      () => routeTokens(resolved(), reader(vars)),
      (e: unknown) =>
        e instanceof CredentialsError && e.exitCode === 5 &&
        e.message ===
          `Cannot inject the token for api.example.com: host variable "API_TOKEN_VAR" is ${detail}`,
    );
  }
});

Deno.test("resolveLaunchSecrets resolves tokens, env values and secret names", async () => {
  const secrets = await resolveLaunchSecrets(resolved(), {
    hostEnv: reader({ API_TOKEN_VAR: "tok-value-1234", HOST_VALUE_VAR: "host-secret-5678" }),
  });
  assert.deepEqual([...secrets.slots.values()], ["tok-value-1234"]);
  assert.equal(secrets.env.get("FROM_HOST"), "host-secret-5678");
  assert.equal(secrets.env.get("PLAIN"), "visible-literal-value");
  assert.ok(secrets.secretEnv.has("FROM_HOST"));
  assert.ok(!secrets.secretEnv.has("PLAIN"));
});

Deno.test("checkHostVariables fails like the launch: token exit 5, env exit 3", async () => {
  await assert.rejects(
    () => checkHostVariables(resolved(), reader({ HOST_VALUE_VAR: "x" })),
    CredentialsError,
  );
  await assert.rejects(
    () => checkHostVariables(resolved(), reader({ API_TOKEN_VAR: "x" })),
    ConfigError,
  );
  await checkHostVariables(resolved(), reader({ API_TOKEN_VAR: "x", HOST_VALUE_VAR: "y" }));
});

const FORWARDING = {
  codexhost: `agent_provider: {template: codex, forward_host_credentials: true}
egress:
  routes:
    - host: api.example.com
      auth: {scheme: Bearer, token_ref: API_TOKEN_VAR}`,
};
const forwarding = () =>
  resolveAgent(
    memoryCatalog(FORWARDING, { fwd: "bottle: codexhost\n---\n\nForwarding." }),
    "fwd",
  );

Deno.test("routeTokens puts the forwarded host token on every provider route only", () => {
  const r = forwarding();
  const slots = routeTokens(r, reader({ API_TOKEN_VAR: "manifest-token-1" }), {
    hostToken: "host-token-2",
  });
  const slotOf = (host: string) => r.routes.find((x) => x.host === host)!.auth!.slot;
  assert.equal(slots.get(slotOf("api.openai.com")), "host-token-2");
  assert.equal(slots.get(slotOf("chatgpt.com")), "host-token-2");
  assert.equal(slots.get(slotOf("api.example.com")), "manifest-token-1");
  assert.equal(slots.size, 3);
});

Deno.test("a host variable named like the forwarded token ref is not what gets injected", () => {
  const r = forwarding();
  const slots = routeTokens(
    r,
    reader({ API_TOKEN_VAR: "m", BOT_BOTTLE_CODEX_HOST_ACCESS_TOKEN: "from-env-3" }),
    { hostToken: "host-token-2" },
  );
  assert.ok(![...slots.values()].includes("from-env-3"));
});

Deno.test("resolveLaunchSecrets gives no home files without forwarding", async () => {
  const secrets = await resolveLaunchSecrets(resolved(), {
    hostEnv: reader({ API_TOKEN_VAR: "t", HOST_VALUE_VAR: "v" }),
  });
  assert.deepEqual(secrets.homeFiles, []);
});
