/**
 * The host's side of git-gate (SPEC §8): what the sidecar is told about each repository, the
 * user's checkouts uploaded as bundles (`start --repo`), Gitea deploy keys registered after
 * `ready` and revoked at teardown, the agent's clones at provisioning, and accepted pushes to a
 * checkout fetched back as `bot-bottle/<slug>/<branch>`.
 *
 * @module
 */
import {
  containerArchiveGet,
  containerArchivePut,
  type EngineClient,
  execRun,
  tarCreate,
  tarRead,
} from "../engine/mod.ts";
import { BottleError, CredentialsError, FailureError, InterruptedError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";
import { DEFAULT_PROTECTED_BRANCHES } from "../manifest/mod.ts";
import type { GateRepoConfig } from "../sidecar/control/protocol.ts";
import type { BottleStore } from "../store/mod.ts";
import { deleteDeployKey, giteaRepoRef, registerDeployKey } from "./deploy_keys.ts";
import { gateUrl } from "./git_config.ts";
import {
  bundleCommandForFetchBack,
  createLaunchBundle,
  fetchBackFromBundle,
  inspectLocalRepo,
  missingCommits,
} from "./local_repo.ts";
import {
  AGENT_HOME,
  AGENT_USER,
  AGENT_WORKDIR,
  type BottlePlan,
  type LocalRepoPlan,
  SIDECAR_UID,
} from "./plan.ts";

/** Where the sidecar's mirrors live (`BOT_BOTTLE_SIDECAR_GIT_DIR`'s default). */
export const SIDECAR_GIT_DIR = "/git";

/** What the launch uploaded for the checkouts. */
export interface UploadedCheckouts {
  /** Repo → bundle path in the sidecar (null: no commits). */
  bundles: Map<string, string | null>;
  /** Repo → the commits the checkout had at launch (the fetch-back bundles' basis). */
  basis: Map<string, string[]>;
}

/**
 * Packs each checkout into a bundle and uploads it into the sidecar (owned by its user, 0600),
 * where git-gate clones its mirror from it.
 *
 * @throws {UsageError} when a checkout is no longer a git repository.
 */
export async function uploadCheckouts(
  client: EngineClient,
  sidecarId: string,
  repos: readonly LocalRepoPlan[],
): Promise<UploadedCheckouts> {
  const bundles = new Map<string, string | null>();
  const basis = new Map<string, string[]>();
  for (const plan of repos) {
    const repo = await inspectLocalRepo(plan.path);
    basis.set(plan.name, [...new Set(Object.values(repo.heads))]);
    const tmp = await Deno.makeTempFile({ prefix: "bot-bottle-bundle-" });
    try {
      const made = await createLaunchBundle(repo, tmp);
      if ("empty" in made) {
        bundles.set(plan.name, null);
        continue;
      }
      const data = await Deno.readFile(tmp);
      const owner = { uid: SIDECAR_UID, gid: SIDECAR_UID };
      await containerArchivePut(
        client,
        sidecarId,
        SIDECAR_GIT_DIR,
        tarCreate([
          { path: "incoming", type: "dir", mode: 0o700, ...owner },
          { path: `incoming/${plan.name}.bundle`, data, mode: 0o600, ...owner },
        ]),
      );
      bundles.set(plan.name, `${SIDECAR_GIT_DIR}/incoming/${plan.name}.bundle`);
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
  }
  return { bundles, basis };
}

/** The `gitGate` part of the sidecar's config. `keys` holds static private keys (secret). */
export function gateRepoConfigs(
  plan: Pick<BottlePlan, "gitGate" | "localRepos">,
  keys: ReadonlyMap<string, string>,
  bundles: ReadonlyMap<string, string | null>,
): GateRepoConfig[] {
  const remote = plan.gitGate.map((r): GateRepoConfig => ({
    name: r.name,
    upstream: {
      kind: "ssh",
      url: r.url,
      hostKey: bareHostKey(r.hostKey),
      key: r.key.provider === "static"
        ? { provider: "static", privateKey: keys.get(r.name)! }
        : { provider: "gitea" },
    },
    refs: r.refs,
  }));
  const local = plan.localRepos.map((r): GateRepoConfig => ({
    name: r.name,
    upstream: {
      kind: "local",
      bundle: bundles.get(r.name) ?? null,
      defaultBranch: r.defaultBranch,
    },
    refs: { protected: [...DEFAULT_PROTECTED_BRANCHES], allow: [] },
  }));
  return [...remote, ...local];
}

const KEY_TYPE =
  /^(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/**
 * A pinned host key line without its host field and comment: `<type> <key>`. A `known_hosts`
 * line starts with its host field, which the manifest may leave out: the second field is the
 * type when it is one (a host may be called `ssh-box.example`).
 */
export function bareHostKey(line: string): string {
  const parts = line.trim().split(/\s+/);
  const at = parts.length >= 3 && KEY_TYPE.test(parts[1]) ? 1 : 0;
  return parts.slice(at, at + 2).join(" ");
}

/** Context of the deploy-key calls. */
export interface DeployKeyContext {
  bottles: BottleStore;
  env: EnvReader;
  /** Override of `fetch` (tests). */
  http?: typeof fetch;
  note?: (line: string) => void;
}

function provisionerToken(env: EnvReader, name: string, repo: string): string {
  const value = env(name);
  if (value === undefined || value === "") {
    throw new CredentialsError(
      `Cannot manage the deploy key of git-gate repo "${repo}": ${name} is not set`,
      { hint: `Export ${name} with a Gitea token that may manage the repository's deploy keys` },
    );
  }
  return value;
}

/**
 * Registers the public keys the sidecar generated as write deploy keys (title
 * `bot-bottle-<slug>`) and records their ids on the bottle row, so teardown can delete them.
 *
 * @throws {CredentialsError} when a provisioner token is unset or refused; {FailureError} else.
 */
export async function registerGateKeys(
  ctx: DeployKeyContext,
  plan: Pick<BottlePlan, "slug" | "gitGate">,
  publicKeys: Record<string, unknown>,
): Promise<void> {
  const ids: Record<string, number> = { ...(ctx.bottles.get(plan.slug)?.deployKeys ?? {}) };
  for (const repo of plan.gitGate) {
    if (repo.key.provider !== "gitea") continue;
    const publicKey = publicKeys[repo.name];
    if (typeof publicKey !== "string") {
      throw new FailureError(
        `Cannot register the deploy key of "${repo.name}": the sidecar sent none`,
      );
    }
    const ref = giteaRepoRef(repo.url, repo.key.apiUrl);
    const token = provisionerToken(ctx.env, repo.key.provisionerToken, repo.name);
    ids[repo.name] = await registerDeployKey(ref, {
      token,
      title: `bot-bottle-${plan.slug}`,
      publicKey,
    }, ctx.http);
    ctx.bottles.update(plan.slug, { deployKeys: ids });
    ctx.note?.(`registered deploy key bot-bottle-${plan.slug} on ${ref.owner}/${ref.repo}`);
  }
}

/**
 * A failed deploy-key revocation as the failure it is (exit 1, SPEC §5.2 `destroy`): an unset or
 * refused provisioner token (a {@linkcode CredentialsError}, exit 5 at launch) keeps its message
 * and hint, with the original error as the cause. An interruption stays one.
 */
export function revocationFailure(error: unknown): BottleError {
  if (error instanceof FailureError || error instanceof InterruptedError) return error;
  if (error instanceof BottleError) {
    return new FailureError(error.message, {
      hint: error.hint,
      slug: error.slug,
      details: error.details,
      cause: error,
    });
  }
  return new FailureError(`Cannot delete a deploy key: ${(error as Error)?.message ?? error}`, {
    cause: error,
  });
}

/**
 * Deletes the deploy keys recorded on the bottle row (a key already gone is fine); each
 * deleted key leaves the record.
 *
 * @throws {FailureError} (exit 1) naming the repository when one cannot be deleted, whatever the
 *   reason ({@linkcode revocationFailure}).
 */
export async function revokeGateKeys(
  ctx: DeployKeyContext,
  slug: string,
  gitGate: BottlePlan["gitGate"],
): Promise<number> {
  try {
    return await revokeEach(ctx, slug, gitGate);
  } catch (error) {
    throw revocationFailure(error);
  }
}

async function revokeEach(
  ctx: DeployKeyContext,
  slug: string,
  gitGate: BottlePlan["gitGate"],
): Promise<number> {
  const ids: Record<string, number> = { ...(ctx.bottles.get(slug)?.deployKeys ?? {}) };
  let deleted = 0;
  for (const [name, id] of Object.entries(ids)) {
    const repo = gitGate.find((r) => r.name === name);
    if (repo === undefined || repo.key.provider !== "gitea") {
      throw new FailureError(
        `Cannot delete deploy key ${id} of "${name}": the bottle's plan no longer names it`,
        { hint: "Delete the key bot-bottle-" + slug + " in the forge's repository settings" },
      );
    }
    const ref = giteaRepoRef(repo.url, repo.key.apiUrl);
    await deleteDeployKey(ref, {
      token: provisionerToken(ctx.env, repo.key.provisionerToken, name),
      id,
    }, ctx.http);
    delete ids[name];
    ctx.bottles.update(slug, { deployKeys: ids });
    deleted++;
  }
  return deleted;
}

/**
 * Clones each gate repository into `~/workspace/<name>` as the agent (skipped when the clone is
 * there already, after a resume). The clone is the first fetch: an upstream that cannot be
 * reached fails the launch here with the gate's message.
 *
 * @throws {FailureError} with git's output (the gate's `remote error:` line).
 */
export async function cloneGateRepos(
  client: EngineClient,
  agentId: string,
  names: readonly string[],
): Promise<void> {
  for (const name of names) {
    const dir = `${AGENT_WORKDIR}/${name}`;
    const r = await execRun(client, agentId, [
      "sh",
      "-c",
      'test -d "$2/.git" && exit 0; exec git clone --quiet "$1" "$2"',
      "clone",
      gateUrl(name),
      dir,
    ], { user: AGENT_USER, env: [`HOME=${AGENT_HOME}`, "GIT_TERMINAL_PROMPT=0"] });
    if (r.exitCode !== 0) {
      const detail = r.stderrText.trim().split("\n").slice(-3).join("; ");
      throw new FailureError(`Cannot clone git-gate repo "${name}" into the bottle: ${detail}`, {
        hint:
          "Check the repo's url, key and host_key; `bot-bottle logs <slug> --service sidecar` " +
          "shows the gate's log",
      });
    }
  }
}

/** One accepted push to a checkout, from the sidecar's `event`. */
interface AcceptedPush {
  repo: string;
  refs: { ref: string; new: string }[];
}

/** Reads a `git-push` event body; null for anything else. */
export function acceptedPush(body: Record<string, unknown>): AcceptedPush | null {
  if (body.kind !== "git-push" || body.verdict !== "accepted") return null;
  if (typeof body.repo !== "string" || !Array.isArray(body.refs)) return null;
  const refs = body.refs.filter((r): r is { ref: string; new: string } =>
    typeof r?.ref === "string" && typeof r?.new === "string" && r.ref.startsWith("refs/heads/")
  );
  return { repo: body.repo, refs };
}

/**
 * Brings accepted pushes to a user's checkout back into it as `bot-bottle/<slug>/<branch>`,
 * one at a time, in the order they were accepted.
 */
export class FetchBack {
  #chain: Promise<void> = Promise.resolve();
  #client: EngineClient;
  #sidecarId: string;
  #slug: string;
  #repos: Map<string, LocalRepoPlan>;
  #basis: Map<string, string[]>;
  #note: (line: string) => void;

  constructor(
    client: EngineClient,
    sidecarId: string,
    plan: Pick<BottlePlan, "slug" | "localRepos">,
    basis: Map<string, string[]>,
    note: (line: string) => void,
  ) {
    this.#client = client;
    this.#sidecarId = sidecarId;
    this.#slug = plan.slug;
    this.#repos = new Map(plan.localRepos.map((r) => [r.name, r]));
    this.#basis = basis;
    this.#note = note;
  }

  /** Queues the fetch-back of an event, if it is an accepted push to a checkout. */
  offer(body: Record<string, unknown>): void {
    const push = acceptedPush(body);
    if (push === null || push.refs.length === 0) return;
    const repo = this.#repos.get(push.repo);
    if (repo === undefined) return;
    this.#chain = this.#chain.then(() => this.#fetch(repo, push)).catch((error) =>
      this.#note(
        `warning: cannot bring ${push.refs.map((r) => r.ref).join(", ")} back into ${repo.path}: ${
          (error as Error).message
        }`,
      )
    );
  }

  /** Resolves when every queued fetch-back is done. */
  idle(): Promise<void> {
    return this.#chain;
  }

  async #fetch(plan: LocalRepoPlan, push: AcceptedPush): Promise<void> {
    const repo = await inspectLocalRepo(plan.path);
    const refs = push.refs.map((r) => ({
      branch: r.ref.slice("refs/heads/".length),
      commit: r.new,
    }));
    const missing = await missingCommits(repo, refs.map((r) => r.commit));
    let bundle: string | null = null;
    try {
      if (missing.length > 0) bundle = await this.#bundle(plan.name, push.refs.map((r) => r.ref));
      const done = await fetchBackFromBundle(repo, this.#slug, bundle, refs);
      for (const d of done) {
        this.#note(
          `fetched ${d.localRef.replace(/^refs\/heads\//, "")} (${
            d.commit.slice(0, 12)
          }) into ${plan.path}`,
        );
      }
    } finally {
      if (bundle !== null) await Deno.remove(bundle).catch(() => {});
    }
  }

  /** Has the sidecar bundle `refs` (thin, over the launch basis) and downloads it. */
  async #bundle(name: string, refs: string[]): Promise<string> {
    const out = `${SIDECAR_GIT_DIR}/outgoing-${crypto.randomUUID()}.bundle`;
    const argv = bundleCommandForFetchBack(
      `${SIDECAR_GIT_DIR}/${name}.git`,
      out,
      refs,
      this.#basis.get(name) ?? [],
    );
    const made = await execRun(this.#client, this.#sidecarId, argv, { user: `${SIDECAR_UID}` });
    if (made.exitCode !== 0) {
      throw new FailureError(
        `the sidecar could not bundle ${refs.join(", ")}: ${made.stderrText.trim().slice(-200)}`,
      );
    }
    try {
      const { tar } = await containerArchiveGet(this.#client, this.#sidecarId, out);
      const entry = tarRead(tar).find((e) => e.type === "file");
      if (entry === undefined) throw new FailureError("the sidecar's bundle was empty");
      const file = await Deno.makeTempFile({ prefix: "bot-bottle-fetch-", suffix: ".bundle" });
      await Deno.writeFile(file, entry.data, { mode: 0o600 });
      return file;
    } finally {
      await execRun(this.#client, this.#sidecarId, ["rm", "-f", out], { user: `${SIDECAR_UID}` })
        .catch(() => {});
    }
  }
}
