/**
 * The server side of the webhook benchmark (scripts/bench/webhook.ts), a process of its own so
 * its RSS is the orchestrator edge's alone: the real Hono app and a file store in `$1`, on
 * 127.0.0.1 with a free port, which it prints as `port <n>` on stdout. It stops on stdin EOF and
 * prints `jobs <n>` (the store's job count) before exiting.
 *
 * Usage: deno run -A scripts/bench/webhook_server.ts <dir> <secret>
 *
 * @module
 */
import { createApp, serveOrchestrator } from "../../src/orchestrate/server.ts";
import { openOrchestratorStore } from "../../src/orchestrate/store.ts";

const [dir, secret] = Deno.args;
const store = openOrchestratorStore(`${dir}/orchestrator.db`);
const app = createApp({
  store,
  webhookSecret: secret,
  forgeUrl: "https://gitea.example",
  host: "127.0.0.1",
  dashboardToken: null,
});
const server = await serveOrchestrator(app, { host: "127.0.0.1", port: 0 });
console.log(`port ${server.port}`);
// Wait for stdin to close.
for await (const _ of Deno.stdin.readable) { /* drain */ }
const memory = Deno.memoryUsage();
await server.shutdown();
console.error(`bench server memory: ${JSON.stringify(memory)}`);
console.log(`jobs ${store.jobs().length}`);
store.close();
