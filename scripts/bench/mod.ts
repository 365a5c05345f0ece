/**
 * `deno task bench`: every benchmark, each printing its figures next to a peer measured in
 * the same run. Benchmarks are not tests: they assert nothing about time.
 *
 * @module
 */
import { benchColdStart, benchPing } from "./cli.ts";
import { benchEgress } from "./egress.ts";
import { benchStart } from "./start.ts";
import { benchDlp, benchDlpGroups } from "./dlp.ts";
import { benchInbound } from "./inbound.ts";
import { benchGitGate } from "./git_gate.ts";
import { benchWebhook } from "./webhook.ts";

console.log(`bot-bottle benchmarks on ${Deno.build.target}, deno ${Deno.version.deno}`);
await benchColdStart();
await benchPing();
await benchStart();
await benchEgress();
await benchDlp();
benchDlpGroups();
await benchInbound();
await benchGitGate();
await benchWebhook();
