/**
 * The rig of the several-engines e2e tests: a second real dockerd (TLS listener, the shell
 * bottle's images copied), a real OpenSSH git upstream on the first engine with the repository
 * `acme/api`, the fake Gitea, a bot-bottle home with the bottle `gated` (extends `shell`, the
 * upstream as its git-gate repository), and a real `bot-bottle orchestrate run` process with
 * `FORGE_ENGINES` as the test builds it, hooked to the fake's webhook.
 *
 * The upstream's URL (the first engine's `bridge` gateway and the published port) is the same
 * for both engines' containers: the gateway is a host address, and the second engine's
 * containers reach the host through their default route (the veth to `hostAddress`), where the
 * published port's DNAT applies as for any packet to a local address.
 *
 * @module
 */
import assert from "node:assert/strict";
import { bottleHome } from "./bottle_home.ts";
import { cliEnv, spawnCli, type SpawnedCli } from "./cli.ts";
import { type FakeGitea, forgeEnv, startFakeGitea } from "./fake_gitea.ts";
import { gateBottleManifest, type GitUpstream, startGitUpstream } from "./git_upstream.ts";
import { freePort } from "./upstream.ts";
import { type SecondEngine, startSecondEngine } from "./second_engine.ts";

export const REPO = "acme/api";
export const TOKEN = "e2e-engines-bot-token-0123456789";
export const SECRET = "e2e-engines-webhook-secret-0123456789";
/** The labels that target an issue at the shell agent in the bottle `gated`. */
export const ISSUE_LABELS = ["bot-bottle:shell", "bot-bottle-bottle:gated"];

/** A run as `GET /runs` shows it (the fields the tests read). */
export interface RunView {
  issue: number;
  slug: string;
  status: string;
  engine: string;
  error: string | null;
}

/** Options of {@linkcode startEnginesRig}. */
export interface EnginesRigOptions {
  /** `FORGE_ENGINES` for the started second engine. */
  engines: (engine2: SecondEngine & { certs: NonNullable<SecondEngine["certs"]> }) => string;
  /** More variables for the orchestrator. */
  env?: Record<string, string>;
}

/** What {@linkcode startEnginesRig} started; dispose of it (`await using`). */
export interface EnginesRig extends AsyncDisposable {
  engine2: SecondEngine;
  upstream: GitUpstream;
  /** The seeded commit of `acme/api`'s `main`. */
  head: string;
  gitea: FakeGitea;
  cli: SpawnedCli;
  /** The orchestrator's base URL. */
  url: string;
  /** The orchestrator's environment (for `orchestrate status`). */
  env: Record<string, string>;
  /** The orchestrator's database. */
  dbPath: string;
  /** `bot-bottle` with the home's environment. */
  home: Awaited<ReturnType<typeof bottleHome>>;
  runs(): Promise<RunView[]>;
  runOf(issue: number): Promise<RunView | undefined>;
  /** Waits for the issue's run to reach `status`; a run failed meanwhile throws. */
  waitStatus(issue: number, status: string, timeoutMs?: number): Promise<RunView>;
  /** Opens a targeted issue with `body` as the agent's script and assigns it to an agent. */
  open(title: string, body: string): Promise<number>;
  /** Polls `probe` until it gives a value; the timeout error carries the orchestrator's log. */
  poll<T>(
    what: string,
    probe: () => Promise<T | undefined> | T | undefined,
    timeoutMs?: number,
  ): Promise<T>;
}

/** Starts everything and waits until the orchestrator listens and answers `/healthz`. */
export async function startEnginesRig(options: EnginesRigOptions): Promise<EnginesRig> {
  await using stack = new AsyncDisposableStack();
  const childEnv = await cliEnv();
  const engine2 = stack.use(
    await startSecondEngine({ tls: true, env: (name) => childEnv[name] }),
  );
  const certs = engine2.certs;
  assert.ok(certs && engine2.tlsEndpoint, "the second engine listens with TLS");
  const upstream = stack.use(await startGitUpstream({ repos: [REPO] }));
  const head = await upstream.seed(REPO, { "README.md": "api\n" });
  const gitea = stack.use(
    await startFakeGitea({
      token: TOKEN,
      repos: [{ fullName: REPO, collaborators: { carol: "write" } }],
      users: ["alice", "carol"],
      orgs: { agents: ["agent-1", "bot-bottle"] },
    }),
  );
  const home = stack.use(await bottleHome());
  await home.write("bottles", "gated", gateBottleManifest(upstream, REPO, "api"));
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...home.env,
    ...forgeEnv(gitea.url, { token: TOKEN, secret: SECRET, port }),
    FORGE_MAX_CONCURRENT: "4",
    FORGE_ENGINES: options.engines({ ...engine2, certs }),
    ...options.env,
  };
  const cli = stack.use(await spawnCli(["orchestrate", "run"], { env, cwd: home.root }));
  await cli.waitFor(/orchestrate: listening on /, 120_000);
  const health = await (await fetch(`${url}/healthz`)).json();
  assert.deepEqual(health, { ok: true, db: "ok", engine: "ok" });
  gitea.addHook({ url: `${url}/webhook`, secret: SECRET });

  const poll = async <T>(
    what: string,
    probe: () => Promise<T | undefined> | T | undefined,
    timeoutMs = 180_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for ${what}; orchestrator log:\n${cli.stderr()}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const runs = async (): Promise<RunView[]> => {
    const res = await fetch(`${url}/runs`);
    assert.equal(res.status, 200);
    return (await res.json()).runs;
  };
  const runOf = async (issue: number) => (await runs()).find((r) => r.issue === issue);
  const waitStatus = (issue: number, status: string, timeoutMs?: number) =>
    poll(`run of #${issue} ${status}`, async () => {
      const run = await runOf(issue);
      if (run?.status === "failed" && status !== "failed") {
        throw new Error(`run of #${issue} failed: ${run.error}\n${cli.stderr()}`);
      }
      return run?.status === status ? run : undefined;
    }, timeoutMs);
  const open = async (title: string, body: string) => {
    const { number } = await gitea.createIssue(REPO, {
      title,
      body,
      by: "alice",
      labels: ISSUE_LABELS,
    });
    await gitea.assign(REPO, number, "agent-1", "alice");
    return number;
  };
  const rest = stack.move();
  return {
    engine2,
    upstream,
    head,
    gitea,
    cli,
    url,
    env,
    dbPath: `${home.env.BOT_BOTTLE_HOME}/state/orchestrator.db`,
    home,
    runs,
    runOf,
    waitStatus,
    open,
    poll,
    [Symbol.asyncDispose]: () => rest.disposeAsync(),
  };
}
