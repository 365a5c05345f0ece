/**
 * The orchestrator crash test (SPEC §13.7): a real `bot-bottle orchestrate run` (main.ts with the
 * shipped flags) takes well over 100 webhook deliveries from the wire-accurate fake Gitea while
 * a chaos loop SIGKILLs it at random moments (a seeded PRNG; the seed is logged, `CRASH_SEED`
 * replays the choices) — some right after a launch began, some twice in a row so the second
 * kill may cut the restart's reconcile off — and starts it again on the same port. A delivery
 * that got no answer is redelivered under its delivery id once the orchestrator is back, as a
 * Gitea admin would. Real shell bottles with a git-gate repository (a real OpenSSH upstream)
 * run each targeted issue's body as the agent's script.
 *
 * Afterwards (each targeted run frozen, SIGTERM):
 * - every targeted issue has one live run, frozen, and its script was started exactly once on
 *   the engine (the engine's `exec_start` events); any other run record of it is a launch the
 *   crash cut off, failed quietly and retried (no failure comment);
 * - untargeted issues have no run; forged (401), malformed (400) and replayed (duplicate)
 *   deliveries stored nothing;
 * - no event lost: every delivery was answered 200/204, each 200 one is in the database;
 * - no orphans: every container of the home belongs to a live run; closing the issues destroys
 *   the runs and leaves no container, network, volume or frozen image of them.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { homeIdOf } from "../../src/bottle/session.ts";
import {
  connectEngine,
  containerList,
  type EngineClient,
  imageList,
  LABELS,
  networkList,
  volumeList,
} from "../../src/engine/mod.ts";
import { homeLayout } from "../../src/lib/home.ts";
import { bottleHome } from "../helpers/bottle_home.ts";
import { spawnCli, type SpawnedCli } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";
import {
  type FakeDeliveryRecord,
  type FakeGitea,
  forgeEnv,
  startFakeGitea,
} from "../helpers/fake_gitea.ts";
import { type FakeDelivery, hmacHex, signedDelivery } from "../helpers/gitea_payloads.ts";
import { gateBottleManifest, startGitUpstream } from "../helpers/git_upstream.ts";
import { freePort } from "../helpers/upstream.ts";

const SECRET = "crash-webhook-secret-0123456789";
const TOKEN = "crash-bot-token-0123456789";
// Slugs (and so engine object names) are global to the engine: a repository of its own per run.
const REPO = `acme/crash${crypto.randomUUID().slice(0, 6)}`;
const BOTTLE = "crashgate";
const TARGET_LABELS = ["bot-bottle:shell", `bot-bottle-bottle:${BOTTLE}`];
const KILLS = 5;
const TARGETED = 6;
const QUIET_FAIL = "The orchestrator restarted during the launch; the launch is retried";

/** mulberry32: a small seeded PRNG, so a failing run's choices can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The orchestrator process, killed and started again on the same port. */
class OrchestratorProcess {
  #cli: SpawnedCli | null = null;
  /** stderr of every generation so far, in order. */
  readonly logs: string[] = [];
  generation = 0;
  constructor(readonly env: Record<string, string>, readonly cwd: string, readonly url: string) {}

  get up(): boolean {
    return this.#cli !== null;
  }

  /** stderr of the current generation. */
  current(): string {
    return this.#cli?.stderr() ?? "";
  }

  /** Starts a generation; with `listening: false`, returns before it listens (to kill it then). */
  async start(listening = true): Promise<void> {
    this.#cli = await spawnCli(["orchestrate", "run"], { env: this.env, cwd: this.cwd });
    this.generation++;
    if (listening) await this.#cli.waitFor(/orchestrate: listening on /, 120_000);
  }

  async kill(signal: "SIGKILL" | "SIGTERM"): Promise<number> {
    const cli = this.#cli!;
    this.#cli = null;
    cli.child.kill(signal);
    const result = await cli.done();
    this.logs.push(result.stderr);
    return result.code;
  }

  all(): string {
    return [...this.logs, this.current()].join("\n");
  }

  async [Symbol.asyncDispose]() {
    if (this.#cli) await this.kill("SIGKILL");
    // Every generation's log, for a look at a failed run.
    const path = Deno.env.get("CRASH_LOG");
    if (path) await Deno.writeTextFile(path, this.all());
  }
}

/** Reads the orchestrator database (read-only: the live process keeps writing). */
function readDb<T>(path: string, fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

interface RunRow {
  issue: number;
  slug: string;
  status: string;
  error: string | null;
}

const runsOf = (path: string) =>
  readDb(
    path,
    (db) =>
      db.prepare("SELECT issue, slug, status, error FROM runs ORDER BY id")
        .all() as unknown as RunRow[],
  );

/** Jobs queued or running. */
const openJobs = (path: string) =>
  readDb(path, (db) =>
    Number(
      (db.prepare("SELECT count(*) AS n FROM jobs WHERE state IN ('queued', 'running')").get() as {
        n: number;
      }).n,
    ));

interface EngineEvent {
  Action: string;
  Actor: { Attributes: Record<string, string> };
}

/**
 * Records the engine's container events of the home's objects as they happen (the engine keeps
 * only its last 256 events for a later `since` query, and other tests make events too).
 */
async function recordEvents(
  client: EngineClient,
  homeId: string,
): Promise<{ events: EngineEvent[] } & AsyncDisposable> {
  const abort = new AbortController();
  const response = await client.request("GET", "/events", {
    action: "Cannot follow the engine's events",
    query: { filters: { type: ["container"], label: [`${LABELS.home}=${homeId}`] } },
    signal: abort.signal,
  });
  const events: EngineEvent[] = [];
  const reading = (async () => {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      rest += decoder.decode(chunk, { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const line of lines) if (line.trim() !== "") events.push(JSON.parse(line));
    }
  })().catch(() => {});
  return {
    events,
    async [Symbol.asyncDispose]() {
      abort.abort();
      await reading;
    },
  };
}

/** Hook deliveries not answered 2xx yet are sent again, same delivery id (a Gitea redelivery). */
class Redeliverer {
  /** delivery id → the last status the orchestrator answered. */
  readonly answered = new Map<string, number>();
  redelivered = 0;
  constructor(readonly gitea: FakeGitea, readonly orch: OrchestratorProcess) {}

  #ok(status: number | null | undefined): boolean {
    return status === 200 || status === 204;
  }

  missing(): FakeDeliveryRecord[] {
    return this.gitea.deliveries.filter((d) =>
      !this.#ok(this.answered.get(d.delivery.deliveryId) ?? d.status)
    );
  }

  async sweep(): Promise<void> {
    for (const record of this.missing()) {
      if (!this.orch.up) return;
      try {
        const answer = await this.gitea.send(record.url, record.delivery);
        this.answered.set(record.delivery.deliveryId, answer.status);
        this.redelivered++;
      } catch {
        return; // down again: the next sweep
      }
    }
  }
}

engineTest(
  "orchestrate run survives SIGKILLs amid 100+ deliveries: each targeted issue launched once, nothing lost, no orphans",
  async () => {
    const seed = Number(Deno.env.get("CRASH_SEED") ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`crash test seed: ${seed} (CRASH_SEED=${seed} replays the choices)`);
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

    await using upstream = await startGitUpstream({ repos: [REPO] });
    await upstream.seed(REPO, { "README.md": "crash\n" });
    await using gitea = await startFakeGitea({
      token: TOKEN,
      repos: [REPO],
      users: ["alice", "bob"],
      orgs: { agents: ["agent-1", "agent-2", "bot-bottle"] },
      reachableFromContainers: true,
    });
    await using home = await bottleHome();
    await home.write(
      "bottles",
      BOTTLE,
      gateBottleManifest(upstream, REPO, "crash"),
    );
    const homeId = await homeIdOf(
      homeLayout((n) => (n === "BOT_BOTTLE_HOME" ? home.env.BOT_BOTTLE_HOME : undefined)),
    );
    using engine = await connectEngine();
    await using recorder = await recordEvents(engine, homeId);
    const dbPath = `${home.env.BOT_BOTTLE_HOME}/state/orchestrator.db`;
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      ...home.env,
      ...forgeEnv(gitea.containerUrl!, { token: TOKEN, secret: SECRET, port }),
      FORGE_MAX_CONCURRENT: "3",
    };
    await using orch = new OrchestratorProcess(env, home.root, url);
    await orch.start();
    gitea.addHook({ url: `${url}/webhook`, secret: SECRET });
    const redeliver = new Redeliverer(gitea, orch);

    // The workload: targeted issues (their body is the agent's script), untargeted ones,
    // comments, label changes, repeated assignments; then forged, malformed and replayed
    // deliveries sent straight to the webhook.
    /** Issue number → the index in its script's marker. */
    const targeted = new Map<number, number>();
    const untargeted: number[] = [];
    const raw: { kind: string; delivery: FakeDelivery; expect: number; status?: number }[] = [];
    const steps: (() => Promise<unknown>)[] = [];
    const script = (i: number) => `echo crash-target-${i}\nsleep 1`;
    for (let i = 0; i < TARGETED; i++) {
      const late = i % 2 === 1; // assigned in a later step, not at creation
      steps.push(async () => {
        const issue = await gitea.createIssue(REPO, {
          title: `Crash target ${i}`,
          by: "alice",
          labels: TARGET_LABELS,
          assignees: late ? [] : ["agent-1"],
          body: script(i),
        });
        targeted.set(issue.number, i);
        if (late) {
          steps.push(() => gitea.assign(REPO, issue.number, "agent-1", "alice"));
        }
        // Noise on the targeted issue that must not launch or resume anything.
        steps.push(() => gitea.comment(REPO, issue.number, "agent-2", "echo not-a-steer"));
        steps.push(() => gitea.comment(REPO, issue.number, "alice", "echo no-write-access"));
        steps.push(() => gitea.addLabels(REPO, issue.number, ["priority"], "alice"));
        steps.push(() => gitea.assign(REPO, issue.number, "agent-2", "alice"));
      });
    }
    const kinds: [string, { labels: string[]; assignees: string[] }][] = [
      ["non-member", { labels: TARGET_LABELS, assignees: ["alice"] }],
      ["no agent label", { labels: [`bot-bottle-bottle:${BOTTLE}`], assignees: ["agent-1"] }],
      ["two agent labels", {
        labels: ["bot-bottle:shell", "bot-bottle:pi", `bot-bottle-bottle:${BOTTLE}`],
        assignees: ["agent-1"],
      }],
      ["unassigned", { labels: [], assignees: [] }],
    ];
    for (let i = 0; i < 13; i++) {
      const [kind, fields] = kinds[i % kinds.length];
      steps.push(async () => {
        const issue = await gitea.createIssue(REPO, {
          title: `Noise ${i} (${kind})`,
          by: "bob",
          body: `echo untargeted-${i}`,
          ...fields,
        });
        untargeted.push(issue.number);
        steps.push(() => gitea.comment(REPO, issue.number, "bob", "echo any-news"));
        steps.push(() => gitea.comment(REPO, issue.number, "alice", "echo plus-one"));
        steps.push(() =>
          gitea.addLabels(REPO, issue.number, kind === "unassigned" ? TARGET_LABELS : ["triage"])
        );
        if (i % 3 === 0) steps.push(() => gitea.closeIssue(REPO, issue.number, "bob"));
      });
    }
    // Deliveries built by hand, sent once the rest has started (they need captured ones).
    const victimAssigned = () =>
      gitea.deliveries.find((d) =>
        d.delivery.type === "issue_assign" &&
        untargeted.includes(JSON.parse(d.delivery.body).issue?.number)
      );
    const rawSteps = async () => {
      const assigned = victimAssigned()!;
      // A targeted-looking assignment of an untargeted issue, with agent labels spliced in.
      const payload = JSON.parse(assigned.delivery.body);
      payload.issue.labels = TARGET_LABELS.map((name, id) => ({ id: 900 + id, name }));
      payload.issue.assignees = [{ ...payload.sender, login: "agent-1", username: "agent-1" }];
      const forged = async (secret: string) =>
        await signedDelivery("issue_assign", payload, { secret });
      raw.push({
        kind: "forged (wrong secret)",
        delivery: await forged("not-the-secret-0123456789"),
        expect: 401,
      });
      raw.push({ kind: "forged (unsigned)", delivery: await forged(""), expect: 401 });
      const good = await forged(SECRET);
      const tampered = { ...good, body: good.body.replace('"agent-1"', '"agent-2"') };
      assert.notEqual(tampered.body, good.body);
      raw.push({ kind: "forged (body changed after signing)", delivery: tampered, expect: 401 });
      const badId = { ...good, headers: { ...good.headers, "X-Gitea-Delivery": "bad id!" } };
      raw.push({ kind: "malformed (delivery id)", delivery: badId, expect: 400 });
      const notJson = '{"action": "assigned", ';
      raw.push({
        kind: "malformed (not JSON)",
        delivery: await signedDelivery("issue_assign", notJson, { secret: SECRET }),
        expect: 400,
      });
      const noIssue = { ...payload };
      delete noIssue.issue;
      raw.push({
        kind: "malformed (no issue)",
        delivery: await signedDelivery("issue_assign", noIssue, { secret: SECRET }),
        expect: 400,
      });
      const wrongSig = { ...good, headers: { ...good.headers } };
      wrongSig.headers["X-Gitea-Signature"] = await hmacHex("SHA-256", SECRET, good.body + " ");
      raw.push({ kind: "forged (signature of another body)", delivery: wrongSig, expect: 401 });
      // Replays of stored deliveries (same body, new delivery id): duplicates.
      const stored = gitea.deliveries.filter((d) =>
        d.status === 200 && typeof JSON.parse(d.response).job === "number"
      );
      for (let i = 0; i < 6 && stored.length > 0; i++) {
        const source = pick(stored);
        const delivery = await gitea.replay(source.delivery, { secret: SECRET });
        // One without a delivery id: its replay key stands in, so it is still a duplicate.
        if (i === 0) delete delivery.headers["X-Gitea-Delivery"];
        raw.push({
          kind: `replayed ${source.delivery.type}${i === 0 ? " without a delivery id" : ""}`,
          delivery,
          expect: 200,
        });
      }
      for (const r of raw) {
        // Sent until the orchestrator answers (a kill may cut a request off).
        for (let tries = 0; r.status === undefined && tries < 600; tries++) {
          if (!orch.up) {
            await sleep(200);
            continue;
          }
          try {
            const answer = await gitea.send(`${url}/webhook`, r.delivery);
            if (answer.status < 500 && answer.status !== 408) {
              r.status = answer.status;
              if (r.expect === 200) {
                assert.deepEqual(JSON.parse(answer.body), { ok: true, duplicate: true }, r.kind);
              }
            }
          } catch {
            await sleep(200);
          }
        }
      }
    };

    // Steps run in a seeded random order (a follow-up joins the pool once its issue exists).
    let workloadDone = false;
    const workload = (async () => {
      let rawSent = false;
      for (let i = 0; steps.length > 0; i++) {
        const [step] = steps.splice(Math.floor(rnd() * steps.length), 1);
        await step();
        if (!rawSent && i >= 20 && victimAssigned() !== undefined) {
          rawSent = true;
          await rawSteps();
        }
        await sleep(100 + rnd() * 500);
      }
      assert.ok(rawSent);
      workloadDone = true;
    })();

    // The chaos loop: SIGKILL at random moments — some shortly after a launch began, some twice
    // in a row, the second time while the new process starts and reconciles — then a quick
    // restart on the same port and a redelivery sweep.
    const kills: string[] = [];
    const chaos = (async () => {
      for (let k = 0; k < KILLS; k++) {
        const mode = rnd();
        if (mode < 0.2) {
          // Killed again while it restarts: reconcile (its freezes and destroys) is cut off too.
          await orch.kill("SIGKILL");
          await orch.start(false);
          const until = Date.now() + rnd() * 4000;
          while (Date.now() < until && !/ orchestrate: (start|reconcile):/.test(orch.current())) {
            await sleep(20);
          }
          const last = orch.current().trim().split("\n").at(-1)?.replace(/^\S+ /, "") ?? "";
          kills.push(`kill ${k + 1}: twice in a row, the second after "${last}"`);
        } else if (mode < 0.6) {
          const launches = () => orch.current().split(`: launch ${REPO}#`).length - 1;
          const seen = launches();
          const until = Date.now() + 30_000;
          while (Date.now() < until && launches() <= seen) await sleep(50);
          await sleep(rnd() * 2500);
          kills.push(`kill ${k + 1}: after a launch began`);
        } else {
          await sleep(500 + rnd() * 5000);
          kills.push(`kill ${k + 1}: at a random moment`);
        }
        await orch.kill("SIGKILL");
        await sleep(200 + rnd() * 1500);
        await orch.start();
        await redeliver.sweep();
      }
    })();
    await Promise.all([workload, chaos]);
    assert.ok(workloadDone);
    console.log(kills.join("\n"));
    const sigkills = orch.logs.length;

    // Settle: every delivery answered, every targeted run frozen, no job left.
    const deadline = Date.now() + 300_000;
    for (;;) {
      await gitea.settled();
      await redeliver.sweep();
      const runs = runsOf(dbPath);
      const open = openJobs(dbPath);
      const frozen = [...targeted.keys()].filter((n) =>
        runs.some((r) => r.issue === n && r.status === "frozen")
      );
      if (redeliver.missing().length === 0 && open === 0 && frozen.length === TARGETED) break;
      if (Date.now() > deadline) {
        throw new Error(
          `Not settled: runs ${
            JSON.stringify(runs)
          }, open jobs ${open}, missing ${redeliver.missing().length}\n${orch.all()}`,
        );
      }
      await sleep(1000);
    }
    assert.equal(await orch.kill("SIGTERM"), 0, "a clean stop");
    const log = orch.all();
    assert.ok(!log.includes(TOKEN), "the token leaked into the log");
    assert.ok(!log.includes(SECRET), "the secret leaked into the log");

    // ≥ 100 deliveries in all, every one answered; each stored one is in the database.
    const total = gitea.deliveries.length + raw.length;
    console.log(
      `deliveries: ${total} (${gitea.deliveries.length} from the hook, ${raw.length} built by hand), ${redeliver.redelivered} redelivered after a kill; ${sigkills} SIGKILLs, ${orch.generation} generations`,
    );
    assert.ok(total >= 100, `only ${total} deliveries`);
    const storedIds = new Set(
      readDb(dbPath, (db) => db.prepare("SELECT delivery_id FROM deliveries").all()).map((r) =>
        String((r as { delivery_id: string }).delivery_id)
      ),
    );
    for (const d of gitea.deliveries) {
      const status = redeliver.answered.get(d.delivery.deliveryId) ?? d.status;
      assert.ok(status === 200 || status === 204, `${d.delivery.type}: ${status}`);
      if (status === 200) {
        assert.ok(storedIds.has(d.delivery.deliveryId), `lost: ${d.delivery.type}`);
      }
    }
    for (const r of raw) {
      assert.equal(r.status, r.expect, r.kind);
      assert.ok(!storedIds.has(r.delivery.deliveryId), `${r.kind} was stored`);
    }
    assert.ok(raw.some((r) => r.kind.startsWith("replayed")), "a replay was sent");

    // Runs: one live run per targeted issue, frozen; other records only quiet retried launches.
    const runs = runsOf(dbPath);
    assert.equal(targeted.size, TARGETED);
    for (const n of targeted.keys()) {
      const mine = runs.filter((r) => r.issue === n);
      const live = mine.filter((r) => r.status !== "failed");
      // On a failure the orchestrator's log (every generation) tells which step the kill cut.
      if (live.length !== 1) console.log(orch.all().split("\n").slice(-400).join("\n"));
      assert.equal(live.length, 1, `#${n}: ${JSON.stringify(mine)}`);
      assert.equal(live[0].status, "frozen");
      for (const r of mine.filter((r) => r.status === "failed")) assert.equal(r.error, QUIET_FAIL);
      const comments = gitea.issue(REPO, n).comments.filter((c) => c.user === gitea.botLogin);
      assert.ok(!comments.some((c) => /\*\*failed\*\*/.test(c.body)), `#${n} failed loudly`);
    }
    for (const n of untargeted) {
      assert.ok(!runs.some((r) => r.issue === n), `untargeted #${n} has a run`);
    }
    assert.equal(new Set(runs.map((r) => r.issue)).size, TARGETED);
    // The forged/malformed assignment of an untargeted issue launched nothing (checked above).

    // Launched exactly once: one exec of the issue's script, on its run's agent container.
    const execs = recorder.events.filter((e) => e.Action.startsWith("exec_start: bash -lc"));
    for (const [n, i] of targeted) {
      const slug = runs.find((r) => r.issue === n && r.status === "frozen")!.slug;
      const mine = execs.filter((e) => new RegExp(`echo crash-target-${i}(\n|$)`).test(e.Action));
      assert.equal(mine.length, 1, `#${n} started ${mine.length} times`);
      assert.equal(mine[0].Actor.Attributes[LABELS.slug], slug);
      assert.equal(mine[0].Actor.Attributes.name, `bot-bottle-agent-${slug}`);
    }
    assert.ok(!execs.some((e) => e.Action.includes("untargeted-")), "an untargeted issue ran");
    // No other agent turn either (a resume would be one more `bash -lc`).
    assert.equal(execs.length, TARGETED, execs.map((e) => e.Actor.Attributes.name).join(", "));

    // No orphans: every container of the home belongs to a live run.
    const liveSlugs = new Set(runs.filter((r) => r.status === "frozen").map((r) => r.slug));
    const homeFilter = { [LABELS.home]: homeId };
    for (const c of await containerList(engine, { labels: homeFilter })) {
      const slug = c.Labels?.[LABELS.slug] ?? "";
      assert.ok(liveSlugs.has(slug), `orphan container ${c.Names?.[0]} (${slug})`);
    }

    // Close the targeted issues (a clean orchestrator): every run destroyed, nothing left.
    await orch.start();
    assert.doesNotMatch(orch.current(), /has no run; left alone/, "reconcile saw an orphan");
    const status = await home.cli(["orchestrate", "status", "--json"], env);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout).orphans, []);
    for (const n of targeted.keys()) await gitea.closeIssue(REPO, n, "alice");
    const closeBy = Date.now() + 120_000;
    while (runsOf(dbPath).some((r) => r.status !== "destroyed" && r.status !== "failed")) {
      if (Date.now() > closeBy) throw new Error(`Not destroyed:\n${orch.current()}`);
      await sleep(500);
    }
    await gitea.settled();
    assert.equal(await orch.kill("SIGTERM"), 0);
    assert.deepEqual(await containerList(engine, { labels: homeFilter }), []);
    assert.deepEqual(await networkList(engine, { labels: homeFilter }), []);
    assert.deepEqual(await volumeList(engine, { labels: homeFilter }), []);
    for (const slug of new Set(runs.map((r) => r.slug))) {
      const labels = { [LABELS.slug]: slug };
      assert.deepEqual(await containerList(engine, { labels }), [], slug);
      assert.deepEqual(await networkList(engine, { labels }), [], slug);
      assert.deepEqual(await volumeList(engine, { labels }), [], slug);
      const images = await imageList(engine, { labels, all: true });
      assert.deepEqual(images.map((i) => i.RepoTags), [], `${slug}: frozen images left`);
    }
  },
  { sanitizeResources: false, sanitizeOps: false },
);
