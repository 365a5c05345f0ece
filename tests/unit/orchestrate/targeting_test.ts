import assert from "node:assert/strict";
import {
  authorizeComment,
  decideLaunch,
  gateServes,
  issueKey,
  labelChoice,
  runLabel,
  runSlug,
  upstreamRepo,
} from "../../../src/orchestrate/targeting.ts";
import { FakeForge } from "../../helpers/orchestrate_fakes.ts";

Deno.test("labelChoice: exactly one agent label launches; bottle labels pick bottles", () => {
  const cases: [string[], string][] = [
    [["bot-bottle:claude"], "ok claude []"],
    [
      ["bug", "bot-bottle:codex", "bot-bottle-bottle:dev", "bot-bottle-bottle:db"],
      "ok codex [dev,db]",
    ],
    [["bot-bottle:claude", "bot-bottle:claude"], "ok claude []"],
    [[], "skip no bot-bottle:<agent> label"],
    [["bug", "bot-bottle-bottle:dev"], "skip no bot-bottle:<agent> label"],
    [["bot-bottle:"], "skip no bot-bottle:<agent> label"],
    [
      ["bot-bottle:claude", "bot-bottle:codex"],
      "skip several agent labels (bot-bottle:claude, bot-bottle:codex)",
    ],
  ];
  for (const [labels, want] of cases) {
    const got = labelChoice(labels);
    const text = got.kind === "ok"
      ? `ok ${got.agent} [${got.bottles.join(",")}]`
      : `skip ${got.reason}`;
    assert.equal(text, want, JSON.stringify(labels));
  }
});

Deno.test("decideLaunch needs an assignee in the agent org, checking every assignee", async () => {
  const forge = new FakeForge();
  const labels = ["bot-bottle:claude"];
  assert.deepEqual(await decideLaunch(forge, "agents", { labels, assignees: [] }), {
    kind: "skip",
    reason: "no assignee",
  });
  assert.deepEqual(await decideLaunch(forge, "agents", { labels, assignees: ["alice"] }), {
    kind: "skip",
    reason: 'no assignee is a member of "agents"',
  });
  assert.deepEqual(
    await decideLaunch(forge, "agents", { labels, assignees: ["alice", "robot2"] }),
    { kind: "launch", agent: "claude", bottles: [], assignee: "robot2" },
  );
  const twoAgents = await decideLaunch(forge, "agents", {
    labels: ["bot-bottle:claude", "bot-bottle:pi"],
    assignees: ["robot"],
  });
  assert.equal(twoAgents.kind, "skip");
});

Deno.test("runLabel and runSlug name a run; long slugs keep the 48-character rule", async () => {
  assert.equal(runLabel("claude", "Acme", "API.v2", 12), "claude-Acme-API.v2-12");
  assert.equal(await runSlug("claude-Acme-API.v2-12"), "claude-acme-api-v2-12");
  const long = await runSlug(
    runLabel("claude", "a-very-long-organisation-name", "and-a-long-repository", 123456),
  );
  // SPEC §5.2: the first 41 characters (here ending in "-"), "-", 6 hex.
  assert.equal(long.length, 48, long);
  assert.match(long, /^claude-a-very-long-organisation-name-and--[0-9a-f]{6}$/);
  assert.equal(issueKey("Acme", "API", 3), "Acme/API#3");
});

Deno.test("gateServes: the upstream path ends with owner/repo, any case, any leading path", () => {
  const cases: [string, boolean][] = [
    ["git@gitea.example:acme/api.git", true],
    ["git@gitea.example:Acme/API", true],
    ["ssh://git@gitea.example:2222/acme/api.git", true],
    ["ssh://git@gitea.example/srv/git/acme/api.git", true],
    ["git@gitea.example:/srv/git/acme/api", true],
    ["git@gitea.example:acme/api2.git", false],
    ["git@gitea.example:xacme/api.git", false],
    ["git@gitea.example:other/acme.git", false],
    ["https://gitea.example/acme/api.git", false],
  ];
  for (const [url, want] of cases) assert.equal(gateServes(url, "acme", "api"), want, url);
  assert.equal(upstreamRepo("ssh://git@gitea.example:2222/srv/acme/lib.git"), "acme/lib");
  assert.equal(upstreamRepo("git@gitea.example:solo.git"), undefined);
});

Deno.test("authorizeComment: only non-bot users outside the org with write access steer", async () => {
  const forge = new FakeForge();
  const check = async (author: string) => {
    const d = await authorizeComment(forge, "agents", "acme", "api", { author });
    return d.kind === "accept" ? "accept" : d.reason;
  };
  assert.equal(await check("alice"), "accept");
  assert.equal(await check("bot"), '"bot" is the bot account');
  assert.equal(await check("BOT"), '"BOT" is the bot account');
  assert.equal(await check("robot"), '"robot" is a member of the agent org "agents"');
  assert.equal(await check("mallory"), '"mallory" has no write access to acme/api');
  assert.equal(await check(""), "the comment has no author");
});
