/**
 * The forge daemon's Gitea client against local servers (in-process, loopback only): the token
 * header, the 30 s deadline (shortened here), the answer cap, errors that never hold the token,
 * and plain `http://` forges.
 */
import assert from "node:assert/strict";
import { ForgeApiError, GiteaClient } from "../../../src/sidecar/forge/gitea_client.ts";

const TOKEN = "forge-token-" + "a1b2c3d4e5f60718293a4b5c6d7e8f90";

interface Seen {
  path: string;
  headers: Headers;
}

async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  run: (url: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const controller = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen: () => {} },
    (req) => {
      seen.push({ path: new URL(req.url).pathname, headers: new Headers(req.headers) });
      return handler(req);
    },
  );
  try {
    await run(`http://127.0.0.1:${server.addr.port}`, seen);
  } finally {
    controller.abort();
    await server.finished;
  }
}

async function rejection(promise: Promise<unknown>): Promise<ForgeApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ForgeApiError, String(error));
    return error;
  }
  throw new Error("expected a rejection");
}

Deno.test("GiteaClient sends the token header and JSON, under /api/v1 of a base with a path", async () => {
  await withServer(async (req) => {
    const body = req.method === "POST" ? await req.json() : null;
    return Response.json({ number: 31, echo: body });
  }, async (url, seen) => {
    const client = new GiteaClient({ url: `${url}/gitea/`, token: TOKEN }, { trust: null });
    const pr = await client.createPull("acme", "app", {
      title: "t",
      body: "b",
      head: "fix/x",
      base: "main",
    });
    assert.equal(pr.number, 31);
    assert.deepEqual(pr.echo, { title: "t", body: "b", head: "fix/x", base: "main" });
    assert.equal(seen[0].path, "/gitea/api/v1/repos/acme/app/pulls");
    assert.equal(seen[0].headers.get("authorization"), `token ${TOKEN}`);
    assert.equal(seen[0].headers.get("content-type"), "application/json");
    client.close();
  });
});

Deno.test("GiteaClient errors name method, path and status, never the token Gitea echoes", async () => {
  await withServer(
    () => Response.json({ message: `token ${TOKEN} is not valid\r\nX: y` }, { status: 401 }),
    async (url) => {
      const client = new GiteaClient({ url, token: TOKEN }, { trust: null });
      const error = await rejection(client.issue("acme", "app", 7));
      assert.equal(error.status, 401);
      assert.match(
        error.message,
        /^Gitea answered GET \/repos\/acme\/app\/issues\/7 with HTTP 401: /,
      );
      assert.ok(!error.message.includes(TOKEN), error.message);
      assert.match(error.message, /<forge-token>/);
      assert.ok(!/[\r\n]/.test(error.message));
      client.close();
    },
  );
});

Deno.test("GiteaClient gives up after its deadline with a clear error", async () => {
  const never = Promise.withResolvers<Response>();
  await withServer(() => never.promise, async (url) => {
    const client = new GiteaClient({ url, token: TOKEN }, { trust: null, timeoutMs: 300 });
    const started = Date.now();
    const error = await rejection(client.comments("acme", "app", 7));
    const took = Date.now() - started;
    assert.match(
      error.message,
      /^Cannot reach the forge for GET \/repos\/acme\/app\/issues\/7\/comments: no answer within 0.3 s$/,
    );
    assert.ok(took < 5000, `took ${took} ms`);
    client.close();
    never.resolve(new Response("late"));
  });
});

Deno.test("GiteaClient refuses answers over its cap, non-JSON and wrong shapes", async () => {
  let mode = "big";
  await withServer(() => {
    if (mode === "big") return new Response("[" + '"x",'.repeat(2_200_000) + '"x"]');
    if (mode === "html") return new Response("<html>proxy error</html>");
    return Response.json({ not: "a list" });
  }, async (url) => {
    const client = new GiteaClient({ url, token: TOKEN }, { trust: null });
    assert.match((await rejection(client.comments("acme", "app", 7))).message, /longer than 8 MiB/);
    mode = "html";
    assert.match((await rejection(client.issue("acme", "app", 7))).message, /not JSON/);
    mode = "object";
    assert.match(
      (await rejection(client.comments("acme", "app", 7))).message,
      /something other than a list/,
    );
    client.close();
  });
});
