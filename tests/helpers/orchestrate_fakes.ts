/**
 * Fakes of the orchestrator's ports for unit tests: {@linkcode FakeForge} (org members, writers,
 * posted comments), {@linkcode FakeRunner} (bottles per engine, turns the test ends by hand,
 * relayed events, launches that can be held, engines that can go away), {@linkcode FakeGates}
 * (git-gate upstreams per agent), and {@linkcode orchestratorHarness} wiring them to a real
 * `:memory:` store and an {@linkcode Orchestrator} with a pinned clock and no timers.
 */
import { EngineUnavailableError } from "../../src/engine/errors.ts";
import { BottleError, InvalidStateError, NotFoundError } from "../../src/lib/errors.ts";
import type { GateRepos } from "../../src/orchestrate/catalog.ts";
import { Orchestrator } from "../../src/orchestrate/orchestrator.ts";
import { openOrchestratorStore } from "../../src/orchestrate/store.ts";
import { limitSlug, slugify } from "../../src/bottle/slug.ts";
import type { DoneBody, OplogBody } from "../../src/sidecar/control/forge_protocol.ts";
import type {
  EngineSpec,
  EngineSurvey,
  Forge,
  JobPayload,
  LaunchSpec,
  OrchestratorStore,
  RunEvent,
  Runner,
  TurnOutcome,
} from "../../src/orchestrate/types.ts";

/** A Gitea as the flows see it. */
export class FakeForge implements Forge {
  bot = "bot";
  members = new Map<string, Set<string>>([["agents", new Set(["robot", "robot2"])]]);
  /** `owner/repo` → users with write access. */
  writers = new Map<string, Set<string>>([["acme/api", new Set(["alice", "robot", "bot"])]]);
  comments: { owner: string; repo: string; number: number; body: string }[] = [];
  failPosts = false;
  calls = 0;
  /** `owner/repo#number:reviewer` → the inline comments of that review. */
  inline = new Map<string, string[]>();

  reviewInline(owner: string, repo: string, number: number, reviewer: string): Promise<string[]> {
    return Promise.resolve(this.inline.get(`${owner}/${repo}#${number}:${reviewer}`) ?? []);
  }

  /** How many membership checks fail (a Gitea outage) before they answer again. */
  outages = 0;

  isOrgMember(org: string, user: string): Promise<boolean> {
    this.calls++;
    if (this.outages > 0) {
      this.outages--;
      return Promise.reject(new Error("GET /api/v1/orgs/agents/members: 502"));
    }
    return Promise.resolve(this.members.get(org)?.has(user) ?? false);
  }
  botLogin(): Promise<string> {
    return Promise.resolve(this.bot);
  }
  canWrite(owner: string, repo: string, user: string): Promise<boolean> {
    return Promise.resolve(this.writers.get(`${owner}/${repo}`)?.has(user) ?? false);
  }
  postComment(owner: string, repo: string, number: number, body: string): Promise<number> {
    if (this.failPosts) return Promise.reject(new Error("forge down"));
    this.comments.push({ owner, repo, number, body });
    return Promise.resolve(this.comments.length);
  }
  issueState(): Promise<{ state: "open" | "closed"; isPull: boolean; merged: boolean }> {
    return Promise.resolve({ state: "open", isPull: false, merged: false });
  }
  /** Comments on one issue or PR. */
  on(number: number): string[] {
    return this.comments.filter((c) => c.number === number).map((c) => c.body);
  }
}

interface Turn {
  resolve: (o: TurnOutcome) => void;
  reject: (e: unknown) => void;
}

/** One call the runner saw. */
export interface RunnerCall {
  op: "launch" | "resume" | "freeze" | "destroy";
  slug: string;
  engine: string;
  prompt?: string;
  forgeEnv?: Record<string, string>;
}

/** Bottles on fake engines. */
export class FakeRunner implements Runner {
  /** engine → slug → state. */
  /** Per engine, slug → status (`starting`: a launch cut off before its agent started). */
  bottles = new Map<string, Map<string, "starting" | "running" | "frozen">>();
  calls: RunnerCall[] = [];
  turns = new Map<string, Turn>();
  relayed = new Map<string, RunEvent[]>();
  /** Engines whose every call fails as unavailable. */
  down = new Set<string>();
  /** The error the next launch throws. */
  launchError: unknown = null;
  /** The error the next freeze throws (before it meets a down engine). */
  freezeError: unknown = null;
  /** Slugs recorded whose containers are gone ({@linkcode FakeRunner.removeContainers}). */
  containersGone = new Set<string>();
  #nextEvent = 1;
  #hold: Promise<void> | null = null;
  #freezeHold: Promise<never> | null = null;
  #listingHold: Promise<void> | null = null;
  #release: (() => void) | null = null;
  /** Launches between call and return now (concurrency checks). */
  active = 0;
  maxActive = 0;

  #check(engine: string): void {
    if (this.down.has(engine)) {
      throw new EngineUnavailableError(`Cannot connect to the engine "${engine}": refused`);
    }
  }

  /**
   * Every freeze from now on never returns (a process that dies inside it), until the returned
   * function is called; the held ones stay held.
   */
  holdFreezes(): () => void {
    this.#freezeHold = new Promise<never>(() => {});
    return () => {
      this.#freezeHold = null;
    };
  }

  /**
   * Holds every `bottlesOn` (reconcile's listing: a slow engine) until the returned function is
   * called.
   */
  holdListings(): () => void {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#listingHold = promise;
    return () => {
      this.#listingHold = null;
      resolve();
    };
  }

  /** Holds every launch until the returned function is called. */
  holdLaunches(): () => void {
    this.#hold = new Promise((resolve) => (this.#release = resolve));
    return () => {
      this.#hold = null;
      this.#release?.();
    };
  }

  #turn(slug: string): Promise<TurnOutcome> {
    return new Promise<TurnOutcome>((resolve, reject) => this.turns.set(slug, { resolve, reject }));
  }

  async launch(spec: LaunchSpec): Promise<{ slug: string; turn: Promise<TurnOutcome> }> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const slug = await limitSlug(slugify(spec.label));
      this.calls.push({
        op: "launch",
        slug,
        engine: spec.engine,
        prompt: spec.prompt,
        forgeEnv: spec.forgeEnv,
      });
      if (this.#hold) await this.#hold;
      this.#check(spec.engine);
      if (this.launchError) {
        const error = this.launchError;
        this.launchError = null;
        throw error;
      }
      const on = this.bottles.get(spec.engine) ?? new Map();
      this.bottles.set(spec.engine, on);
      if (on.has(slug)) throw new BottleError("slug_in_use", `Slug "${slug}" is in use`);
      on.set(slug, "running");
      return { slug, turn: this.#turn(slug) };
    } finally {
      this.active--;
    }
  }

  resume(
    slug: string,
    prompt: string,
    forgeEnv: Record<string, string>,
    engine: string,
  ): Promise<{ turn: Promise<TurnOutcome> }> {
    this.calls.push({ op: "resume", slug, engine, prompt, forgeEnv });
    this.#check(engine);
    const on = this.bottles.get(engine);
    if (!on?.has(slug)) return Promise.reject(new NotFoundError(`No bottle "${slug}"`));
    if (on.get(slug) === "running") {
      return Promise.reject(new InvalidStateError(`"${slug}" is running`));
    }
    on.set(slug, "running");
    this.containersGone.delete(slug);
    return Promise.resolve({ turn: this.#turn(slug) });
  }

  freeze(slug: string, engine: string): Promise<void> {
    this.calls.push({ op: "freeze", slug, engine });
    if (this.#freezeHold) return this.#freezeHold;
    if (this.freezeError) {
      const error = this.freezeError;
      this.freezeError = null;
      return Promise.reject(error);
    }
    this.#check(engine);
    const on = this.bottles.get(engine);
    if (!on?.has(slug)) return Promise.reject(new NotFoundError(`No bottle "${slug}"`));
    on.set(slug, "frozen");
    this.#endTurn(slug, { kind: "stopped" });
    return Promise.resolve();
  }

  destroy(slug: string, engine: string): Promise<void> {
    this.calls.push({ op: "destroy", slug, engine });
    this.#check(engine);
    const on = this.bottles.get(engine);
    if (!on?.has(slug)) return Promise.reject(new NotFoundError(`No bottle "${slug}"`));
    on.delete(slug);
    this.containersGone.delete(slug);
    this.#endTurn(slug, { kind: "stopped" });
    return Promise.resolve();
  }

  events(slug: string, afterId: number): Promise<RunEvent[]> {
    return Promise.resolve((this.relayed.get(slug) ?? []).filter((e) => e.id > afterId));
  }

  async bottlesOn(engine: string): Promise<string[]> {
    if (this.#listingHold) await this.#listingHold;
    this.#check(engine);
    return [...(this.bottles.get(engine)?.keys() ?? [])];
  }

  async survey(engine: string): Promise<EngineSurvey> {
    const recorded = await this.bottlesOn(engine);
    const on = this.bottles.get(engine);
    return {
      recorded,
      present: recorded.filter((slug) => !this.containersGone.has(slug)),
      unstarted: recorded.filter((slug) => on?.get(slug) === "starting"),
    };
  }

  /** The bottle's containers are removed behind the orchestrator's back; its record stays. */
  removeContainers(slug: string): void {
    this.containersGone.add(slug);
  }

  #endTurn(slug: string, outcome: TurnOutcome): void {
    const turn = this.turns.get(slug);
    this.turns.delete(slug);
    turn?.resolve(outcome);
  }

  /** The agent's turn exits with `code`. */
  exit(slug: string, code = 0): void {
    this.#endTurn(slug, { kind: "exited", exitCode: code });
  }

  /** The agent's turn rejects. */
  crash(slug: string, error: unknown): void {
    const turn = this.turns.get(slug);
    this.turns.delete(slug);
    turn?.reject(error);
  }

  /** The sidecar relays a `done` event. */
  done(slug: string, body: DoneBody): void {
    this.#push(slug, { id: this.#nextEvent++, type: "done", at: Date.now(), body });
  }

  /** The sidecar relays an OpLog row. */
  oplog(slug: string, body: OplogBody): void {
    this.#push(slug, { id: this.#nextEvent++, type: "oplog", at: Date.now(), body });
  }

  #push(slug: string, event: RunEvent): void {
    this.relayed.set(slug, [...(this.relayed.get(slug) ?? []), event]);
  }

  /** Puts a bottle on an engine (a leftover, or one from before a restart). */
  place(engine: string, slug: string, state: "starting" | "running" | "frozen" = "running"): void {
    const on = this.bottles.get(engine) ?? new Map();
    on.set(slug, state);
    this.bottles.set(engine, on);
  }

  /** The calls of one kind. */
  ops(op: RunnerCall["op"]): RunnerCall[] {
    return this.calls.filter((c) => c.op === op);
  }
}

/** git-gate upstreams per agent (or per `agent:bottle`); throws what `errors` names. */
export class FakeGates implements GateRepos {
  upstreamsOf = new Map<string, string[]>([
    ["claude", ["git@gitea.example:acme/api.git", "ssh://git@gitea.example:2222/acme/lib.git"]],
    ["claude:other", ["git@gitea.example:acme/web.git"]],
    ["shell", ["git@gitea.example:acme/api.git"]],
  ]);
  errors = new Map<string, Error>();
  /** Agent → provider template (default `claude`). */
  templates = new Map<string, string>([["shell", "shell"]]);

  template(agent: string): Promise<string> {
    return Promise.resolve(this.templates.get(agent) ?? "claude");
  }

  // deno-lint-ignore require-await
  async upstreams(agent: string, bottles: readonly string[]): Promise<string[]> {
    const key = bottles.length > 0 ? `${agent}:${bottles.join(",")}` : agent;
    const error = this.errors.get(key);
    if (error) throw error;
    return this.upstreamsOf.get(key) ?? [];
  }
}

/** A pinned, movable clock. */
export class FakeClock {
  t: number;
  constructor(start = "2026-12-01T10:00:00.000Z") {
    this.t = new Date(start).getTime();
  }
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Options of {@linkcode orchestratorHarness}. */
export interface HarnessOptions {
  engines?: EngineSpec[];
  maxConcurrent?: number;
  watchdogTimeoutMs?: number;
  store?: OrchestratorStore;
  runner?: FakeRunner;
  forge?: FakeForge;
  clock?: FakeClock;
}

/** An orchestrator over fakes and a `:memory:` store; loops driven by hand. */
export function orchestratorHarness(options: HarnessOptions = {}) {
  const clock = options.clock ?? new FakeClock();
  const store = options.store ?? openOrchestratorStore(":memory:", { now: clock.now });
  const forge = options.forge ?? new FakeForge();
  const runner = options.runner ?? new FakeRunner();
  const gates = new FakeGates();
  const logs: string[] = [];
  const engines = options.engines ??
    [{ name: "default", url: "", certPath: null, capacity: options.maxConcurrent ?? 4 }];
  const orchestrator = new Orchestrator({
    store,
    forge,
    runner,
    gates,
    engines,
    config: {
      agentOrg: "agents",
      forgeUrl: "https://gitea.example",
      forgeToken: "forge-token-value",
      watchdogTimeoutMs: options.watchdogTimeoutMs ?? 1_800_000,
      maxConcurrent: options.maxConcurrent ?? 4,
    },
    now: clock.now,
    ticker: () => () => {},
    log: (line) => logs.push(line),
    stopGraceMs: 50,
  });
  return { clock, store, forge, runner, gates, logs, orchestrator, engines };
}

/** An `issues`/`assigned` launch payload. */
export function launchPayload(
  overrides: Partial<Extract<JobPayload, { kind: "launch" }>> = {},
): Extract<JobPayload, { kind: "launch" }> {
  return {
    kind: "launch",
    owner: "acme",
    repo: "api",
    issue: 7,
    title: "Fix the parser",
    body: "It breaks on empty input.",
    labels: ["bot-bottle:claude"],
    assignees: ["robot"],
    url: "https://gitea.example/acme/api/issues/7",
    ...overrides,
  };
}

/** A comment/review resume payload. */
export function commentPayload(
  overrides: Partial<Extract<JobPayload, { kind: "resume" }>> = {},
): Extract<JobPayload, { kind: "resume" }> {
  return {
    kind: "resume",
    owner: "acme",
    repo: "api",
    number: 7,
    isPull: false,
    comment: {
      author: "alice",
      body: "Please also handle null.",
      url: "https://gitea.example/acme/api/issues/7#issuecomment-1",
    },
    ...overrides,
  };
}

/** Queues a job as the webhook would, keyed by its issue. */
export function enqueue(store: OrchestratorStore, payload: JobPayload): number {
  const p = payload as { owner?: string; repo?: string; issue?: number; number?: number };
  const key = `${p.owner}/${p.repo}#${p.issue ?? p.number}`.toLowerCase();
  return store.enqueue({ kind: payload.kind, issueKey: key, payload });
}
