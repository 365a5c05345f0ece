/**
 * What the supervise end-to-end tests share: a shell bottle kept running by its headless prompt
 * (`sleep`), its sidecar found by labels, proposals queued in that sidecar through the emit
 * command (as the egress proxy or git-gate would file them), and the host database of the home.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  connectEngine,
  containerList,
  type EngineClient,
  execRun,
  LABELS,
} from "../../src/engine/mod.ts";
import { EMIT_COMMAND, type ProposalBody } from "../../src/sidecar/control/protocol.ts";
import { BottleStore, openHostStore, ProposalStore, type Store } from "../../src/store/mod.ts";
import type { BottleHome } from "./bottle_home.ts";
import { spawnCli, type SpawnedCli } from "./cli.ts";
import { proposalBody } from "./proposals.ts";

/** A running shell bottle and its owner process. */
export interface RunningBottle extends AsyncDisposable {
  slug: string;
  owner: SpawnedCli;
  sidecarId: string;
}

/**
 * Starts `start shell --headless` with a prompt that sleeps (after `before`, if given), in the
 * bottle `bottle` if given, and waits until it is provisioned.
 */
export async function startSleepingBottle(
  home: BottleHome,
  options: { bottle?: string; before?: string } = {},
): Promise<RunningBottle> {
  const prompt = options.before ? `${options.before}; sleep 900` : "sleep 900";
  const bottle = options.bottle ? ["--bottle", options.bottle] : [];
  const owner = await spawnCli(["start", "shell", ...bottle, "--headless", "--prompt", prompt], {
    env: home.env,
  });
  await owner.waitFor(/agent provisioned/);
  const slug = /recorded the bottle \(([^)]+)\)/.exec(owner.stderr())![1];
  using client = await connectEngine();
  return {
    slug,
    owner,
    sidecarId: await sidecarOf(client, slug),
    [Symbol.asyncDispose]: () => owner[Symbol.asyncDispose](),
  };
}

/** The id of a bottle's running sidecar container. */
export async function sidecarOf(client: EngineClient, slug: string): Promise<string> {
  const [sidecar] = await containerList(client, {
    labels: { [LABELS.slug]: slug, [LABELS.service]: "sidecar" },
  });
  assert.ok(sidecar, `the sidecar of ${slug} runs`);
  return sidecar.Id;
}

/** Runs a command in a bottle's agent container as the agent's user; returns its stdout. */
export async function inAgent(slug: string, cmd: string[]): Promise<string> {
  using client = await connectEngine();
  const [agent] = await containerList(client, {
    labels: { [LABELS.slug]: slug, [LABELS.service]: "agent" },
  });
  assert.ok(agent, `the agent of ${slug} runs`);
  const r = await execRun(client, agent.Id, cmd, { user: "1000" });
  return r.stdoutText;
}

/** Queues a proposal in a sidecar's outbox, as a daemon inside it would. */
export async function emitProposal(sidecarId: string, body: ProposalBody): Promise<void> {
  using client = await connectEngine();
  const r = await execRun(client, sidecarId, [...EMIT_COMMAND, "proposal", JSON.stringify(body)]);
  assert.equal(r.exitCode, 0, r.stderrText);
}

/** A proposal body of `kind` that waits `minutes` from now. */
export function heldProposal(kind: ProposalBody["kind"], key: string, minutes = 10): ProposalBody {
  return proposalBody(kind, key, Date.now() + minutes * 60_000);
}

/** The host database of a test home. */
export function homeStore(home: BottleHome): {
  store: Store;
  proposals: ProposalStore;
  bottles: BottleStore;
} & Disposable {
  const store = openHostStore(`${home.env.BOT_BOTTLE_HOME}/bot-bottle.db`);
  return {
    store,
    proposals: new ProposalStore(store),
    bottles: new BottleStore(store),
    [Symbol.dispose]: () => store.close(),
  };
}

/** Polls `fn` until it returns a value, or fails naming `what` (a function: said at the end). */
export async function eventually<T>(
  what: string | (() => string),
  fn: () => T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Writes the bottle `held` into a test home: the shell template with one `supervise` route
 * (the manifest default) to `echo.example.test`, reached at the test upstream.
 */
export async function writeHeldBottle(
  home: BottleHome,
  upstream: { containerAddress: string; port: number },
): Promise<void> {
  await home.write(
    "bottles",
    "held",
    [
      "---",
      "extends: shell",
      "egress:",
      "  routes:",
      "    - host: echo.example.test",
      `      upstream: "${upstream.containerAddress}:${upstream.port}"`,
      "---",
      "",
    ].join("\n"),
  );
}
