/**
 * Deploy keys (`src/bottle/deploy_keys.ts`) against the fake Gitea over real HTTPS, and against
 * an API that refuses connections or never answers.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  deleteDeployKey,
  type GiteaRepoRef,
  giteaRepoRef,
  registerDeployKey,
} from "../../../src/bottle/deploy_keys.ts";
import { CredentialsError, FailureError } from "../../../src/lib/errors.ts";
import { startFakeGitea } from "../../helpers/fake_gitea.ts";

const TOKEN = "gitea-provisioner-0f3c9e2a7b41d5e8";
const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

function refFor(apiUrl: string, repo = "acme/api"): GiteaRepoRef {
  return giteaRepoRef(`ssh://git@gitea.example.test:2222/${repo}.git`, apiUrl);
}

function assertNoToken(error: unknown): void {
  assert.ok(error instanceof Error);
  const text = `${error.message}\n${(error as { hint?: string }).hint ?? ""}\n${error.stack}`;
  assert.ok(!text.includes(TOKEN), `the token leaked: ${text}`);
}

Deno.test("a deploy key is registered, listed with write access, deleted and gone", async () => {
  await using gitea = await startFakeGitea({ token: TOKEN, repos: ["acme/api"] });
  const ref = refFor(gitea.url);
  const id = await registerDeployKey(
    ref,
    { token: TOKEN, title: "bot-bottle-alpha", publicKey: KEY_A },
    gitea.fetch,
  );
  const listed = gitea.keys("acme", "api");
  assert.equal(listed.length, 1);
  assert.equal(listed[0].id, id);
  assert.equal(listed[0].title, "bot-bottle-alpha");
  assert.equal(listed[0].key, KEY_A);
  assert.equal(listed[0].read_only, false);
  const post = gitea.requests.at(-1)!;
  assert.equal(post.method, "POST");
  assert.equal(post.path, "/api/v1/repos/acme/api/keys");
  assert.equal(post.authorization, `token ${TOKEN}`);

  await deleteDeployKey(ref, { token: TOKEN, id }, gitea.fetch);
  assert.deepEqual(gitea.keys("acme", "api"), []);
  assert.equal(gitea.requests.at(-1)!.path, `/api/v1/repos/acme/api/keys/${id}`);
  assert.equal(gitea.requests.at(-1)!.status, 204);
});

Deno.test("deleting a deploy key that is already gone is fine", async () => {
  await using gitea = await startFakeGitea({ token: TOKEN, repos: ["acme/api"] });
  await deleteDeployKey(refFor(gitea.url), { token: TOKEN, id: 999 }, gitea.fetch);
  assert.equal(gitea.requests.at(-1)!.status, 404);
});

Deno.test("a refused token is a credentials error that names the repository, not the token", async () => {
  await using gitea = await startFakeGitea({ token: TOKEN, repos: ["acme/api"] });
  const ref = refFor(gitea.url);
  const wrong = `${TOKEN}-wrong`;
  await assert.rejects(
    registerDeployKey(ref, { token: wrong, title: "bot-bottle-x", publicKey: KEY_A }, gitea.fetch),
    (error: unknown) => {
      assert.ok(error instanceof CredentialsError, String(error));
      assert.match(error.message, /"acme\/api"/);
      assert.match(error.message, /refused the provisioner token \(HTTP 401/);
      assert.match(error.hint ?? "", /write:repository/);
      assert.ok(!error.message.includes(wrong) && !(error.hint ?? "").includes(wrong));
      assertNoToken(error);
      return true;
    },
  );
  await assert.rejects(
    deleteDeployKey(ref, { token: wrong, id: 1 }, gitea.fetch),
    CredentialsError,
  );
  assert.deepEqual(gitea.keys("acme", "api"), []);
});

Deno.test("a duplicate title or key is an error naming the repository and the title", async () => {
  await using gitea = await startFakeGitea({ token: TOKEN, repos: ["acme/api"] });
  const ref = refFor(gitea.url);
  await registerDeployKey(
    ref,
    { token: TOKEN, title: "bot-bottle-dup", publicKey: KEY_A },
    gitea.fetch,
  );
  for (const [title, key] of [["bot-bottle-dup", KEY_B], ["bot-bottle-other", KEY_A]]) {
    await assert.rejects(
      registerDeployKey(ref, { token: TOKEN, title, publicKey: key }, gitea.fetch),
      (error: unknown) => {
        assert.ok(error instanceof FailureError, String(error));
        assert.match(error.message, new RegExp(`deploy key "${title}" on "acme/api"`));
        assert.match(error.message, /already exists \(HTTP 422/);
        assert.ok(error.hint);
        assertNoToken(error);
        return true;
      },
    );
  }
  assert.equal(gitea.keys("acme", "api").length, 1);
});

Deno.test("an unknown repository and a failing delete are loud", async () => {
  await using gitea = await startFakeGitea({ token: TOKEN, repos: ["acme/api"] });
  await assert.rejects(
    registerDeployKey(
      refFor(gitea.url, "acme/nope"),
      { token: TOKEN, title: "t", publicKey: KEY_A },
      gitea.fetch,
    ),
    /"acme\/nope".*does not know the repository/,
  );
  const ref = refFor(gitea.url);
  const id = await registerDeployKey(
    ref,
    { token: TOKEN, title: "t", publicKey: KEY_A },
    gitea.fetch,
  );
  gitea.failNext("DELETE", 500, "database is locked");
  await assert.rejects(
    deleteDeployKey(ref, { token: TOKEN, id }, gitea.fetch),
    (error: unknown) => {
      assert.ok(error instanceof FailureError);
      assert.match(error.message, new RegExp(`deploy key ${id} of "acme/api".*HTTP 500`));
      assert.match(error.message, /database is locked/);
      assert.match(error.hint ?? "", /Deploy keys/);
      return true;
    },
  );
  assert.equal(gitea.keys("acme", "api").length, 1);
});

Deno.test("an API that refuses connections is an error naming its URL", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const ref = refFor(`https://127.0.0.1:${port}`);
  const started = Date.now();
  await assert.rejects(
    registerDeployKey(ref, { token: TOKEN, title: "t", publicKey: KEY_A }),
    (error: unknown) => {
      assert.ok(error instanceof FailureError, String(error));
      assert.match(
        error.message,
        new RegExp(`cannot reach the Gitea API at "https://127\\.0\\.0\\.1:${port}/api/v1/`),
      );
      assertNoToken(error);
      return true;
    },
  );
  assert.ok(Date.now() - started < 10_000);
});

Deno.test("an API that never answers fails at the deadline, naming its URL", async () => {
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
    const ref = refFor(`https://127.0.0.1:${listener.addr.port}`);
    for (
      const attempt of [
        () =>
          registerDeployKey(ref, { token: TOKEN, title: "t", publicKey: KEY_A, timeoutMs: 500 }),
        () => deleteDeployKey(ref, { token: TOKEN, id: 3, timeoutMs: 500 }),
      ]
    ) {
      const started = Date.now();
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof FailureError, String(error));
        assert.match(
          error.message,
          new RegExp(`Gitea API at "https://127\\.0\\.0\\.1:${listener.addr.port}" did not answer`),
        );
        assert.match(error.message, /"acme\/api"/);
        assertNoToken(error);
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 450 && elapsed < 5_000, `gave up after ${elapsed} ms`);
    }
  } finally {
    listener.close();
    await accepting;
    for (const conn of held) conn.close();
  }
});
