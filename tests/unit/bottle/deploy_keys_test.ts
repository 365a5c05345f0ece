import assert from "node:assert/strict";
import {
  deleteDeployKey,
  type GiteaRepoRef,
  giteaRepoRef,
  registerDeployKey,
} from "../../../src/bottle/deploy_keys.ts";
import {
  type BottleError,
  ConfigError,
  CredentialsError,
  FailureError,
} from "../../../src/lib/errors.ts";

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => BottleError;

/** A made-up token, assembled so secret scanners do not flag the test. */
const TOKEN = ["tok", "0123456789abcdef", "made-up"].join("-");
const REF: GiteaRepoRef = { apiBase: "https://gitea.example.test", owner: "acme", repo: "api" };
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0tB0ttLeT3stK3yAAAAAAAAAAAAAAAAAAAAAAAAAA";

Deno.test("giteaRepoRef reads owner and repo of both URL forms and derives the API base", () => {
  const cases: [string, string | null, GiteaRepoRef][] = [
    ["ssh://git@gitea.example.com:2222/acme/api.git", null, {
      apiBase: "https://gitea.example.com",
      owner: "acme",
      repo: "api",
    }],
    ["ssh://gitea.example.com/acme/api", null, {
      apiBase: "https://gitea.example.com",
      owner: "acme",
      repo: "api",
    }],
    ["ssh://git@gitea.example.com/acme/api.git/", null, {
      apiBase: "https://gitea.example.com",
      owner: "acme",
      repo: "api",
    }],
    ["git@gitea.example.com:acme/api.git", null, {
      apiBase: "https://gitea.example.com",
      owner: "acme",
      repo: "api",
    }],
    ["gitea.example.com:my-org/my.repo_1", null, {
      apiBase: "https://gitea.example.com",
      owner: "my-org",
      repo: "my.repo_1",
    }],
    ["ssh://git@[fd00::5]:2222/acme/api.git", null, {
      apiBase: "https://[fd00::5]",
      owner: "acme",
      repo: "api",
    }],
  ];
  for (const [url, apiUrl, expected] of cases) {
    assert.deepEqual(giteaRepoRef(url, apiUrl), expected, url);
  }
});

Deno.test("giteaRepoRef takes api_url as the base, without a trailing slash or /api/v1", () => {
  const url = "ssh://git@gitea.example.com:2222/acme/api.git";
  const cases: [string, string][] = [
    ["http://10.0.0.5:3000", "http://10.0.0.5:3000"],
    ["http://10.0.0.5:3000/", "http://10.0.0.5:3000"],
    ["https://example.com/gitea/", "https://example.com/gitea"],
    ["https://example.com/gitea/api/v1", "https://example.com/gitea"],
    ["https://example.com/api/v1/", "https://example.com"],
    ["", "https://gitea.example.com"],
  ];
  for (const [apiUrl, apiBase] of cases) {
    assert.equal(giteaRepoRef(url, apiUrl).apiBase, apiBase, apiUrl);
  }
});

Deno.test("giteaRepoRef refuses a URL without owner/repo with a ConfigError", () => {
  const bad = [
    "ssh://git@gitea.example.com/api.git",
    "ssh://git@gitea.example.com/",
    "ssh://git@gitea.example.com/a/b/c.git",
    "ssh://git@gitea.example.com/acme/.git",
    "git@gitea.example.com:api.git",
    "git@gitea.example.com:",
    "https://gitea.example.com/acme/api.git",
    "/srv/git/api.git",
    "not a url",
    "ssh://git@gitea.example.com/ac%20me/api.git",
  ];
  for (const url of bad) {
    assert.throws(() => giteaRepoRef(url, null), (error: unknown) => {
      assert.ok(error instanceof ConfigError, url);
      assert.ok(error.message.includes(`"${url}"`), error.message);
      assert.ok(error.hint);
      return true;
    });
  }
});

Deno.test("giteaRepoRef refuses an api_url that is not http(s)", () => {
  for (const apiUrl of ["ftp://example.com", "example.com", "ssh://example.com"]) {
    assert.throws(
      () => giteaRepoRef("git@gitea.example.com:acme/api.git", apiUrl),
      ConfigError,
      apiUrl,
    );
  }
});

interface Seen {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

/** A fetch that records the request and answers with `status` and `body`. */
function fakeFetch(status: number, body: unknown, seen: Seen[] = []): typeof fetch {
  return ((input: RequestInfo | URL, init?: RequestInit) => {
    seen.push({
      url: String(input),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? init.body : "",
    });
    const text = body === undefined ? null : JSON.stringify(body);
    return Promise.resolve(new Response(status === 204 ? null : text, { status }));
  }) as typeof fetch;
}

function assertNoToken(error: unknown): void {
  assert.ok(error instanceof Error);
  const all = `${error.message} ${(error as { hint?: string }).hint ?? ""}`;
  assert.ok(!all.includes(TOKEN), `the token leaked: ${all}`);
}

Deno.test("registerDeployKey posts a write key with the token header and returns its id", async () => {
  const seen: Seen[] = [];
  const id = await registerDeployKey(
    REF,
    { token: TOKEN, title: "bot-bottle-x", publicKey: KEY },
    fakeFetch(201, { id: 42, title: "bot-bottle-x" }, seen),
  );
  assert.equal(id, 42);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].method, "POST");
  assert.equal(seen[0].url, "https://gitea.example.test/api/v1/repos/acme/api/keys");
  assert.equal(seen[0].headers.get("authorization"), `token ${TOKEN}`);
  assert.equal(seen[0].headers.get("content-type"), "application/json");
  assert.deepEqual(JSON.parse(seen[0].body), {
    title: "bot-bottle-x",
    key: KEY,
    read_only: false,
  });
});

Deno.test("registerDeployKey maps statuses to errors that never carry the token", async () => {
  const options = { token: TOKEN, title: "bot-bottle-x", publicKey: KEY };
  const cases: [number, unknown, ErrorClass, RegExp][] = [
    [401, { message: `token ${TOKEN} is invalid` }, CredentialsError, /refused the provisioner/],
    [403, { message: "forbidden" }, CredentialsError, /HTTP 403/],
    [422, { message: "A key with the same name already exists" }, FailureError, /already exists/],
    [404, { message: "not found" }, FailureError, /does not know the repository/],
    [500, { message: `boom ${TOKEN}` }, FailureError, /HTTP 500: boom \[redacted\]/],
    [201, { title: "no id" }, FailureError, /without a key id/],
    [201, undefined, FailureError, /without a key id/],
  ];
  for (const [status, body, type, pattern] of cases) {
    await assert.rejects(
      registerDeployKey(REF, options, fakeFetch(status, body)),
      (error: unknown) => {
        assert.ok(error instanceof type, `${status}: ${error}`);
        assert.match((error as Error).message, pattern);
        assert.match((error as Error).message, /"acme\/api"/);
        assertNoToken(error);
        return true;
      },
      String(status),
    );
  }
});

Deno.test("registerDeployKey on 422 names the repository and the title, with a hint", async () => {
  await assert.rejects(
    registerDeployKey(
      REF,
      { token: TOKEN, title: "bot-bottle-dup", publicKey: KEY },
      fakeFetch(422, { message: "dup" }),
    ),
    (error: unknown) => {
      assert.ok(error instanceof FailureError);
      assert.match(error.message, /deploy key "bot-bottle-dup" on "acme\/api"/);
      assert.match(error.hint ?? "", /bot-bottle-dup/);
      return true;
    },
  );
});

Deno.test("deleteDeployKey deletes by id, and a missing key (404) is fine", async () => {
  const seen: Seen[] = [];
  await deleteDeployKey(REF, { token: TOKEN, id: 7 }, fakeFetch(204, undefined, seen));
  assert.equal(seen[0].method, "DELETE");
  assert.equal(seen[0].url, "https://gitea.example.test/api/v1/repos/acme/api/keys/7");
  assert.equal(seen[0].headers.get("authorization"), `token ${TOKEN}`);
  await deleteDeployKey(REF, { token: TOKEN, id: 7 }, fakeFetch(404, { message: "gone" }));
});

Deno.test("deleteDeployKey is loud on any other failure, without the token", async () => {
  const cases: [number, ErrorClass][] = [
    [401, CredentialsError],
    [403, CredentialsError],
    [500, FailureError],
    [422, FailureError],
  ];
  for (const [status, type] of cases) {
    await assert.rejects(
      deleteDeployKey(REF, { token: TOKEN, id: 9 }, fakeFetch(status, { message: TOKEN })),
      (error: unknown) => {
        assert.ok(error instanceof type, `${status}: ${error}`);
        assert.match((error as Error).message, /deploy key 9 of "acme\/api"/);
        assertNoToken(error);
        return true;
      },
    );
  }
});

Deno.test("a fetch that throws becomes an error naming the API URL, without the token", async () => {
  const failing = (() => Promise.reject(new TypeError(`dns error for ${TOKEN}`))) as typeof fetch;
  await assert.rejects(
    registerDeployKey(REF, { token: TOKEN, title: "t", publicKey: KEY }, failing),
    (error: unknown) => {
      assert.ok(error instanceof FailureError);
      assert.match(
        error.message,
        /cannot reach the Gitea API at "https:\/\/gitea\.example\.test\/api\/v1\/repos\/acme\/api\/keys"/,
      );
      assertNoToken(error);
      return true;
    },
  );
});
