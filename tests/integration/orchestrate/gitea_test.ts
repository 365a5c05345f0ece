/**
 * `GiteaForge` (`src/orchestrate/gitea.ts`) against the fake Gitea over real HTTPS with the test
 * CA: every method, the errors (401, 403, 404, a redirect, a server that never answers, one that
 * refuses connections, an untrusted certificate), and that the token never appears in an error.
 *
 * @module
 */
import assert from "node:assert/strict";
import { FORGE_TIMEOUT_MS, GiteaForge } from "../../../src/orchestrate/gitea.ts";
import { ForgeError } from "../../../src/lib/errors.ts";
import { type FakeGitea, startFakeGitea } from "../../helpers/fake_gitea.ts";

const TOKEN = "gitea-bot-token-" + "6c1e9a4f20b7d853";
const OTHER_TOKEN = "gitea-alice-token-" + "93d0e1b2c4a5f687";

function start(extra: Partial<Parameters<typeof startFakeGitea>[0]> = {}): Promise<FakeGitea> {
  return startFakeGitea({
    token: TOKEN,
    botLogin: "orchestrator-bot",
    repos: [
      { fullName: "acme/api", collaborators: { wanda: "write", adam: "admin", rita: "read" } },
      { fullName: "acme/secret", private: true },
    ],
    users: ["outsider"],
    orgs: { agents: ["orchestrator-bot", "claude-agent"], acme: ["wanda"] },
    tokens: { [OTHER_TOKEN]: "alice" },
    ...extra,
  });
}

function forgeFor(gitea: FakeGitea, token = TOKEN, timeoutMs?: number): GiteaForge {
  return new GiteaForge({
    url: gitea.url,
    token,
    caCerts: [gitea.caCertPem],
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

/** Asserts a ForgeError with `status`, naming `call`, with no token anywhere. */
function forgeError(status: number | null, call: RegExp, ...tokens: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof ForgeError, `not a ForgeError: ${error}`);
    assert.equal(error.status, status, error.message);
    assert.match(error.message, call);
    const text = `${error.message}\n${error.hint ?? ""}\n${error.stack}`;
    for (const token of [TOKEN, OTHER_TOKEN, ...tokens]) {
      assert.ok(!text.includes(token), `the token leaked: ${text}`);
    }
    return true;
  };
}

Deno.test("botLogin is the token's user, asked once", async () => {
  await using gitea = await start();
  using forge = forgeFor(gitea);
  assert.equal(await forge.botLogin(), "orchestrator-bot");
  assert.equal(await forge.botLogin(), "orchestrator-bot");
  const asked = gitea.requests.filter((r) => r.path === "/api/v1/user");
  assert.equal(asked.length, 1);
  assert.equal(asked[0].authorization, `token ${TOKEN}`);
});

Deno.test("a failed botLogin is not cached", async () => {
  await using gitea = await start();
  using forge = forgeFor(gitea);
  gitea.failNext("GET", 503, "maintenance");
  await assert.rejects(
    forge.botLogin(),
    forgeError(503, /GET \/api\/v1\/user.*HTTP 503: maintenance/),
  );
  assert.equal(await forge.botLogin(), "orchestrator-bot");
});

Deno.test("isOrgMember: 204 is a member, 404 is not, an unknown user or org is not", async () => {
  await using gitea = await start();
  using forge = forgeFor(gitea);
  assert.equal(await forge.isOrgMember("agents", "claude-agent"), true);
  assert.equal(await forge.isOrgMember("agents", "wanda"), false);
  assert.equal(await forge.isOrgMember("agents", "nobody-at-all"), false);
  assert.equal(await forge.isOrgMember("no-such-org", "wanda"), false);
  const statuses = gitea.requests.map((r) => r.status);
  assert.deepEqual(statuses, [204, 404, 404, 404]);
});

Deno.test("isOrgMember refuses Gitea's redirect for a bot outside the org, not a silent no", async () => {
  // The bot is not in "acme": Gitea answers 302 to public_members, which hides private members.
  await using gitea = await start();
  using forge = forgeFor(gitea);
  await assert.rejects(
    forge.isOrgMember("acme", "wanda"),
    forgeError(302, /GET \/api\/v1\/orgs\/acme\/members\/wanda.*not a member of "acme"/),
  );
  // Not followed: one request, to members/, none to public_members/.
  assert.deepEqual(gitea.requests.map((r) => r.path), ["/api/v1/orgs/acme/members/wanda"]);
});

Deno.test("canWrite: write, admin and owner can; read, none and unknown users cannot", async () => {
  await using gitea = await start();
  using forge = forgeFor(gitea);
  const cases: [string, boolean][] = [
    ["wanda", true], // write
    ["adam", true], // admin
    ["acme", true], // the owning account
    ["rita", false], // read
    ["outsider", false], // no collaboration on a public repository: read
    ["nobody-at-all", false], // 404
  ];
  for (const [user, expected] of cases) {
    assert.equal(await forge.canWrite("acme", "api", user), expected, user);
  }
  const permissionOf = async (user: string) => {
    const response = await gitea.fetch(
      `${gitea.url}/api/v1/repos/acme/api/collaborators/${user}/permission`,
      { headers: { Authorization: `token ${TOKEN}` } },
    );
    return ((await response.json()) as { permission: string }).permission;
  };
  assert.equal(await permissionOf("acme"), "owner");
  assert.equal(await permissionOf("outsider"), "read");
});

Deno.test("canWrite is an error when the bot may not read others' permissions (403)", async () => {
  await using gitea = await start({ botPermission: "write" });
  using forge = forgeFor(gitea);
  await assert.rejects(
    forge.canWrite("acme", "api", "wanda"),
    (error: unknown) => {
      forgeError(403, /collaborators\/wanda\/permission.*HTTP 403: Only admins/)(error);
      assert.match((error as ForgeError).hint ?? "", /administrator of acme\/api/);
      return true;
    },
  );
});

Deno.test("postComment posts as the bot and returns the comment id; the bot's comment fires a webhook", async () => {
  await using gitea = await start();
  using forge = forgeFor(gitea);
  await using receiver = startReceiver();
  gitea.addHook({ url: receiver.url, secret: "s3cret" });
  const { number } = await gitea.createIssue("acme/api", { title: "Fix it", by: "wanda" });
  const id = await forge.postComment("acme", "api", number, "Working on it <now> & later");
  const stored = gitea.issue("acme/api", number).comments;
  assert.equal(stored.length, 1);
  assert.equal(stored[0].id, id);
  assert.equal(stored[0].user, "orchestrator-bot");
  assert.equal(stored[0].body, "Working on it <now> & later");
  const post = gitea.requests.at(-1)!;
  assert.equal(post.method, "POST");
  assert.equal(post.path, `/api/v1/repos/acme/api/issues/${number}/comments`);
  assert.deepEqual(JSON.parse(post.body), { body: "Working on it <now> & later" });
  await gitea.settled();
  const fired = gitea.deliveries.at(-1)!;
  assert.equal(fired.delivery.type, "issue_comment");
  const payload = JSON.parse(fired.delivery.body);
  assert.equal(payload.sender.login, "orchestrator-bot");
  assert.equal(payload.comment.id, id);
  assert.equal(fired.status, 200);
});

Deno.test("postComment on a missing issue or repository is a 404 naming the call", async () => {
  await using gitea = await start();
  using forge = forgeFor(gitea);
  await assert.rejects(
    forge.postComment("acme", "api", 99, "hello"),
    forgeError(
      404,
      /comment on acme\/api#99 \(POST \/api\/v1\/repos\/acme\/api\/issues\/99\/comments\): Gitea answered HTTP 404/,
    ),
  );
  await assert.rejects(
    forge.postComment("acme", "gone", 1, "hello"),
    forgeError(404, /POST \/api\/v1\/repos\/acme\/gone\/issues\/1\/comments/),
  );
});

Deno.test("issueState tells open and closed issues and PRs, and merged PRs", async () => {
  await using gitea = await start();
  using forge = forgeFor(gitea);
  const open = (await gitea.createIssue("acme/api", { title: "a", by: "wanda" })).number;
  const closed = (await gitea.createIssue("acme/api", { title: "b", by: "wanda" })).number;
  await gitea.closeIssue("acme/api", closed);
  const pr = (await gitea.createPr("acme/api", { title: "c", head: "fix-a", by: "wanda" })).number;
  const merged = (await gitea.createPr("acme/api", { title: "d", head: "fix-b", by: "wanda" }))
    .number;
  await gitea.mergePr("acme/api", merged, "adam");
  const dropped = (await gitea.createPr("acme/api", { title: "e", head: "fix-c", by: "wanda" }))
    .number;
  await gitea.closePr("acme/api", dropped, "adam");
  assert.deepEqual(await forge.issueState("acme", "api", open), {
    state: "open",
    isPull: false,
    merged: false,
  });
  assert.deepEqual(await forge.issueState("acme", "api", closed), {
    state: "closed",
    isPull: false,
    merged: false,
  });
  assert.deepEqual(await forge.issueState("acme", "api", pr), {
    state: "open",
    isPull: true,
    merged: false,
  });
  assert.deepEqual(await forge.issueState("acme", "api", merged), {
    state: "closed",
    isPull: true,
    merged: true,
  });
  assert.deepEqual(await forge.issueState("acme", "api", dropped), {
    state: "closed",
    isPull: true,
    merged: false,
  });
  await assert.rejects(
    forge.issueState("acme", "api", 404),
    forgeError(404, /read acme\/api#404 \(GET \/api\/v1\/repos\/acme\/api\/issues\/404\)/),
  );
});

Deno.test("reviewInline lists the inline comments of the reviewer's latest review", async () => {
  await using gitea = await start();
  using forge = forgeFor(gitea);
  const pr = (await gitea.createPr("acme/api", { title: "p", head: "fix", by: "claude-agent" }))
    .number;
  await gitea.review("acme/api", pr, "wanda", "rejected", "old", [
    { path: "a.ts", line: 1, body: "stale" },
  ]);
  await gitea.review("acme/api", pr, "adam", "comment", "other reviewer", [
    { path: "b.ts", line: 2, body: "not wanda's" },
  ]);
  await gitea.review("acme/api", pr, "wanda", "rejected", "please fix", [
    { path: "src/app.ts", line: 12, body: "use a constant" },
    { path: "README.md", line: 3, body: "typo" },
  ]);
  assert.deepEqual(await forge.reviewInline("acme", "api", pr, "Wanda"), [
    "src/app.ts:12: use a constant",
    "README.md:3: typo",
  ]);
  await gitea.review("acme/api", pr, "wanda", "approved", "lgtm");
  assert.deepEqual(await forge.reviewInline("acme", "api", pr, "wanda"), []);
  assert.deepEqual(await forge.reviewInline("acme", "api", pr, "nobody"), []);
  await assert.rejects(
    forge.reviewInline("acme", "api", 999, "wanda"),
    forgeError(404, /GET \/api\/v1\/repos\/acme\/api\/pulls\/999\/reviews/),
  );
});

Deno.test("a private repository the bot cannot see is a 404", async () => {
  await using gitea = await start({ botPermission: "read" });
  gitea.repo("acme/secret").collaborators.delete("orchestrator-bot");
  using forge = forgeFor(gitea);
  await assert.rejects(forge.issueState("acme", "secret", 1), forgeError(404, /acme\/secret/));
});

Deno.test("every method with a refused token is a 401 error without the token", async () => {
  await using gitea = await start();
  const wrong = "gitea-wrong-token-" + "00d1e2f3a4b5c6d7";
  using forge = forgeFor(gitea, wrong);
  const calls: [string, () => Promise<unknown>][] = [
    ["GET /api/v1/user", () => forge.botLogin()],
    ["GET /api/v1/orgs/agents/members/x", () => forge.isOrgMember("agents", "x")],
    [
      "GET /api/v1/repos/acme/api/collaborators/x/permission",
      () => forge.canWrite("acme", "api", "x"),
    ],
    [
      "POST /api/v1/repos/acme/api/issues/1/comments",
      () => forge.postComment("acme", "api", 1, "b"),
    ],
    ["GET /api/v1/repos/acme/api/issues/1", () => forge.issueState("acme", "api", 1)],
  ];
  for (const [call, run] of calls) {
    await assert.rejects(run(), (error: unknown) => {
      forgeError(
        401,
        new RegExp(`\\(${call.replace(/\//g, "\\/")}\\): Gitea answered HTTP 401`),
        wrong,
      )(
        error,
      );
      assert.match((error as ForgeError).hint ?? "", /FORGE_TOKEN/);
      return true;
    }, call);
  }
  assert.ok(gitea.requests.every((r) => r.status === 401));
  assert.ok(gitea.requests.every((r) => r.authorization === `token ${wrong}`));
});

Deno.test("a server message that echoes the token is scrubbed", async () => {
  await using gitea = await start();
  using forge = forgeFor(gitea);
  gitea.failNext("POST", 500, `database error near token=${TOKEN}`);
  await assert.rejects(
    forge.postComment("acme", "api", 1, "x"),
    forgeError(500, /HTTP 500: database error near token=\[token\]/),
  );
});

Deno.test("bad names and numbers are refused before anything is sent", async () => {
  await using gitea = await start();
  using forge = forgeFor(gitea);
  const attempts: (() => Promise<unknown>)[] = [
    () => forge.canWrite("acme", "api/../../admin", "x"),
    () => forge.isOrgMember("agents", "../user"),
    () => forge.issueState("..", "api", 1),
    () => forge.postComment("acme", "api", 0, "x"),
    () => forge.issueState("acme", "api", 1.5),
    () => forge.canWrite("acme", "api", "a?b=c"),
  ];
  for (const attempt of attempts) {
    await assert.rejects(attempt(), forgeError(null, /Cannot use/));
  }
  assert.equal(gitea.requests.length, 0);
});

Deno.test("without the test CA the fake's certificate is refused", async () => {
  await using gitea = await start();
  using forge = new GiteaForge({ url: gitea.url, token: TOKEN });
  await assert.rejects(
    forge.botLogin(),
    forgeError(null, /GET \/api\/v1\/user\): cannot reach Gitea at "https:\/\/localhost:\d+"/),
  );
});

Deno.test("a server that never answers fails at the deadline, naming the call", async () => {
  assert.equal(FORGE_TIMEOUT_MS, 30_000);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch {
      // closed
    }
  })();
  try {
    using forge = new GiteaForge({
      url: `https://127.0.0.1:${listener.addr.port}/api/v1/`,
      token: TOKEN,
      timeoutMs: 400,
    });
    const started = Date.now();
    await assert.rejects(
      forge.issueState("acme", "api", 3),
      forgeError(
        null,
        /read acme\/api#3 \(GET \/api\/v1\/repos\/acme\/api\/issues\/3\): Gitea did not answer within 0\.4 s/,
      ),
    );
    const took = Date.now() - started;
    assert.ok(took >= 350 && took < 5_000, `took ${took} ms`);
    assert.ok(held.length >= 1, "the request never reached the server");
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting;
  }
});

Deno.test("a server that refuses connections is an error naming its origin", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  using forge = new GiteaForge({ url: `http://127.0.0.1:${port}`, token: TOKEN });
  await assert.rejects(
    forge.botLogin(),
    forgeError(null, new RegExp(`cannot reach Gitea at "http://127\\.0\\.0\\.1:${port}"`)),
  );
});

Deno.test("a URL that is not http(s), holds credentials, or an empty token is refused", () => {
  for (const url of ["ftp://gitea.example", "gitea.example", "https://bot:pw@gitea.example"]) {
    assert.throws(() => new GiteaForge({ url, token: TOKEN }), forgeError(null, /Gitea URL/));
  }
  assert.throws(() => new GiteaForge({ url: "https://gitea.example", token: "" }), ForgeError);
  assert.equal(
    new GiteaForge({ url: "https://gitea.example/sub/api/v1/", token: TOKEN }).apiBase,
    "https://gitea.example/sub/api/v1",
  );
});

/** A webhook receiver on loopback that answers 200 and records raw deliveries. */
function startReceiver() {
  const got: { headers: Headers; body: string }[] = [];
  const controller = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen: () => {} },
    async (request) => {
      got.push({ headers: request.headers, body: await request.text() });
      return Response.json({ ok: true });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/webhook`,
    got,
    async [Symbol.asyncDispose]() {
      controller.abort();
      await server.finished;
    },
  };
}
