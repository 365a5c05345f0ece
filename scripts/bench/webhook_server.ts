/**
 * The server side of the webhook benchmark (scripts/bench/webhook.ts), a process of its own so
 * its RSS is its alone. `edge`: the real Hono app and a file store in `<dir>`; `peer`: a bare
 * `Deno.serve` that reads the body and answers `{"ok":true,"job":n}` (the floor: runtime, HTTP,
 * loopback). Either listens on 127.0.0.1 with a free port, printed as `port <n>` on stdout; on
 * stdin EOF it prints `jobs <n>`, and `Deno.memoryUsage()` on stderr, and exits.
 *
 * Usage: deno run -A scripts/bench/webhook_server.ts edge|peer <dir> <secret>
 *
 * @module
 */
import { createApp, serveOrchestrator } from "../../src/orchestrate/server.ts";
import { openOrchestratorStore } from "../../src/orchestrate/store.ts";

const [mode, dir, secret] = Deno.args;
let jobs: () => number;
let shutdown: () => Promise<void>;
let port: number;
if (mode === "peer") {
  let count = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.arrayBuffer();
    return Response.json({ ok: true, job: ++count });
  });
  port = server.addr.port;
  jobs = () => count;
  shutdown = () => server.shutdown();
} else {
  const store = openOrchestratorStore(`${dir}/orchestrator.db`);
  const app = createApp({
    store,
    webhookSecret: secret,
    forgeUrl: "https://gitea.example",
    host: "127.0.0.1",
    dashboardToken: null,
  });
  const server = await serveOrchestrator(app, { host: "127.0.0.1", port: 0 });
  port = server.port;
  jobs = () => store.jobs().length;
  shutdown = async () => {
    await server.shutdown();
    store.close();
  };
}
console.log(`port ${port}`);
for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
const memory = Deno.memoryUsage();
const count = jobs();
await shutdown();
console.error(`bench ${mode} server memory: ${JSON.stringify(memory)}`);
console.log(`jobs ${count}`);
