import assert from "node:assert/strict";
import { formatInfo, infoOutput } from "../../../src/cli/info.ts";
import { resolveAgent } from "../../../src/manifest/resolve.ts";
import { memoryCatalog, SPEC_EXAMPLE } from "../manifest/catalog.ts";

const CATALOG = () =>
  memoryCatalog(
    {
      claude: "agent_provider: {template: claude, auth_token: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN}\n" +
        "env: {LITERAL_SECRETISH: literal-value-123}",
      "gitea-dev": SPEC_EXAMPLE.replace(
        'env: {GITEA_TOKEN_HINT: "${GITEA_TOKEN_HINT}"}',
        'env: {GITEA_USER: "?", GITEA_TOKEN_HINT: "${GITEA_TOKEN_HINT}"}',
      ),
    },
    {
      implementer:
        "bottle: gitea-dev\nskills: [write-prd]\ngit-gate: {user: {name: implementer, email: bot+implementer@example.com}}\n---\nYou implement issues in small, tested commits.",
    },
    { implementer: "repo" },
  );

Deno.test("info prints the SPEC §5.3 facts: chain, identity with provenance, routes, env marks", () => {
  const text = formatInfo(resolveAgent(CATALOG(), "implementer"));
  assert.match(
    text,
    /^agent +implementer \(repo\) \/repo\/\.bot-bottle\/agents\/implementer\.md$/m,
  );
  assert.match(text, /^prompt +You implement issues in small, tested commits\.$/m);
  assert.match(text, /^bottles +gitea-dev <- claude$/m);
  assert.match(text, /^note +repository agent picks bottle "gitea-dev"/m);
  assert.match(text, /^template +claude, auth_token from BOT_BOTTLE_CLAUDE_OAUTH_TOKEN$/m);
  assert.match(text, /^git identity +implementer <bot\+implementer@example\.com> \(agent\)$/m);
  assert.match(
    text,
    /^git-gate +api -> ssh:\/\/git@gitea\.example\.com:2222\/acme\/api\.git \[gitea deploy key\]$/m,
  );
  assert.match(
    text,
    /^egress +api\.anthropic\.com +Bearer +provider:claude +all +on_match=redact +outbound=token_patterns,known_secrets,credentials +inbound=off \(provider route\)$/m,
  );
  assert.match(
    text,
    /^ +gitea\.example\.com +token +manifest:gitea-dev +1 rule +on_match=supervise +outbound=token_patterns,known_secrets,credentials,financial,entropy +inbound=default$/m,
  );
  assert.match(
    text,
    /^ +registry\.npmjs\.org +- +manifest:gitea-dev +GET +on_match=supervise +outbound=\S+ +inbound=default$/m,
  );
  assert.match(
    text,
    /^env +LITERAL_SECRETISH, GITEA_USER \(secret\), GITEA_TOKEN_HINT \(secret\), CLAUDE_CODE_OAUTH_TOKEN \(hidden\)$/m,
  );
  assert.match(text, /^resources +memory 6g, cpus 4, pids 4096$/m);
  assert.ok(!text.includes("literal-value-123"), "no env value");
});

Deno.test("info --json has the documented keys and never a value", () => {
  const out = infoOutput(resolveAgent(CATALOG(), "implementer"));
  assert.deepEqual(Object.keys(out), [
    "agent",
    "bottles",
    "bottleNeedsConfirmation",
    "provider",
    "gitIdentity",
    "gitGate",
    "routes",
    "egressLog",
    "env",
    "resources",
  ]);
  assert.deepEqual(Object.keys(out.agent), [
    "name",
    "source",
    "file",
    "promptFirstLine",
    "skills",
    "defaultBottle",
  ]);
  assert.deepEqual(Object.keys(out.env[0]), [
    "name",
    "kind",
    "secret",
    "hidden",
    "hostVar",
    "bottle",
  ]);
  assert.deepEqual(Object.keys(out.routes[0]), [
    "host",
    "ports",
    "origin",
    "provider",
    "bottle",
    "auth",
    "matches",
    "dlp",
    "upstream",
    "maxBodyBytes",
  ]);
  assert.deepEqual(out.routes[0].auth, {
    scheme: "Bearer",
    tokenRef: "BOT_BOTTLE_CLAUDE_OAUTH_TOKEN",
    slot: "EGRESS_TOKEN_1",
  });
  const json = JSON.stringify(out);
  assert.ok(!json.includes("literal-value-123"));
  assert.ok(!json.includes("You implement issues in small, tested commits.\n"));
});
