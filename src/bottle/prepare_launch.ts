/**
 * The one launch preparation `start`, `resume` and the programmatic API share: resolve the
 * agent and its bottles, choose the runtime, pick the slug (new bottle) or take the recorded
 * one (resume, on its frozen image if the engine still has it), probe the agent image and
 * plan. Nothing is created; `--dry-run` prints what this returns. Then
 * {@linkcode checkLaunchInputs}, what the preflight and `--dry-run` check before anybody is
 * asked, and {@linkcode gatherLaunchInputs}, also shared: the launch's secrets, skill files and
 * images, after which each caller runs `launchBottle` with its own owner, output and signal
 * handling.
 *
 * @module
 */
import {
  checkHostVariables,
  type LaunchSecrets,
  resolveLaunchSecrets,
} from "../credentials/mod.ts";
import {
  type EngineClient,
  EngineNotFoundError,
  imageInspect,
  type TarEntry,
} from "../engine/mod.ts";
import type { HiddenPrompter } from "../lib/tty_prompt.ts";
import { UsageError } from "../lib/errors.ts";
import { type ManifestCatalog, resolveAgent, type ResolvedAgent } from "../manifest/mod.ts";
import { VERSION } from "../version.ts";
import { type BottlePlan, type LocalRepoPlan, planBottle } from "./plan.ts";
import type { McpServer } from "./providers/mod.ts";
import { isGateName } from "./git_config.ts";
import { inspectLocalRepo } from "./local_repo.ts";
import { readRecordedPlan } from "./lifecycle.ts";
import {
  type BottleEnv,
  chooseRuntime,
  ensurePlanImages,
  imageLockDir,
  newBottleSlug,
  type NewBottleSlugOptions,
  probeAgentImage,
  sidecarImageFor,
} from "./session.ts";
import { checkSkills, loadSkills } from "./skills.ts";
import { launchMcpToolTimeout } from "./supervise_launch.ts";

/** What to launch. */
export interface LaunchRequest {
  /** Where agent and bottle manifests come from. */
  catalog: ManifestCatalog;
  agent: string;
  /** Bottles in merge order; empty for the agent's own. */
  bottles: readonly string[];
  label: string | null;
  color: string | null;
  headless: boolean;
  /** The headless prompt. */
  prompt: string | null;
  /** Pass the provider's remote-control flag. */
  remoteControl?: boolean;
  /** Relaunch this recorded bottle instead of creating a new slug. */
  resume?: { slug: string; frozenImage: string | null };
  /**
   * Asked when a repository agent chooses its own bottle; `false` declines the launch. Without
   * it such an agent is refused.
   */
  confirmBottle?: (resolved: ResolvedAgent) => Promise<boolean>;
  /** Told when a resumed bottle has no frozen image (it starts fresh). */
  onFreshResume?: () => void;
  /**
   * Asked when `label`'s slug belongs to a live bottle: another label, or `null` to give up.
   * Without it such a label is refused (`slug_in_use`).
   */
  relabel?: NewBottleSlugOptions["relabel"];
  /**
   * The user's checkouts to use as git-gate upstreams (`--repo <path>` or `<name>=<path>`). On
   * resume, undefined means the ones the bottle was started with.
   */
  repos?: readonly string[];
  /** Told about a checkout worth a remark (uncommitted changes stay behind). */
  onNote?: (line: string) => void;
  /** More MCP servers for the agent after `supervise` (forge for orchestrated runs). */
  mcpServers?: readonly McpServer[];
  /** The sidecar's daemons (SPEC §6.4); default all but `forge`. */
  daemons?: readonly string[];
}

/** A prepared launch: the resolved agent and its plan. */
export interface PreparedLaunch {
  resolved: ResolvedAgent;
  plan: BottlePlan;
  /** Whether the engine offers `runsc` (gVisor), for the preflight (SPEC §6.3). */
  runscAvailable: boolean | null;
}

/**
 * Prepares a launch (see the module doc).
 *
 * @example
 * ```ts
 * const prepared = await prepareLaunch(benv, {
 *   catalog, agent: "shell", bottles: [], label: null, color: null,
 *   headless: true, prompt: "git --version",
 * });
 * ```
 *
 * @returns the plan, or `null` when `confirmBottle` declined.
 * @throws {UsageError} for a repository agent's own bottle without `confirmBottle`.
 * @throws {SlugInUseError} when `label`'s slug belongs to a bottle that exists (and `relabel`
 *   gave no other).
 * @throws {ConfigError} for manifests, the runtime or the template.
 */
export async function prepareLaunch(
  env: BottleEnv,
  request: LaunchRequest,
): Promise<PreparedLaunch | null> {
  // The sidecar image's name hashes its whole source tree (~130 files, 1.5 MB, tens of ms):
  // started first, so it overlaps the manifests and the engine's answers below.
  const sidecarImage = sidecarImageFor(env.env);
  sidecarImage.catch(() => {});
  const resolved = resolveAgent(request.catalog, request.agent, {
    bottles: [...request.bottles],
  });
  if (resolved.bottleNeedsConfirmation) {
    if (request.confirmBottle === undefined) {
      throw new UsageError(
        `Repository agent "${request.agent}" chooses its own bottle; pass bottles explicitly`,
      );
    }
    if (!await request.confirmBottle(resolved)) return null;
  }
  const { runtime, runscAvailable } = await chooseRuntime(env.client, resolved, env.env);
  const { slug, label } = request.resume
    ? { slug: request.resume.slug, label: request.label }
    : await newBottleSlug(env.bottles, request.agent, request.label, {
      relabel: request.relabel,
    });
  const frozen = request.resume ? await presentImage(env.client, request.resume.frozenImage) : null;
  if (request.resume && frozen === null) request.onFreshResume?.();
  const image = frozen !== null
    ? { name: frozen, cached: true }
    : await probeAgentImage(env.client, resolved, env.env);
  const localRepos = request.repos !== undefined
    ? await checkouts(request.repos, request.onNote)
    : request.resume
    ? (await readRecordedPlan(env.layout, request.resume.slug))?.localRepos ?? []
    : [];
  const sidecarImageName = await sidecarImage;
  const plan = planBottle({
    resolved,
    slug,
    version: VERSION,
    agentImage: image.name,
    agentImageCached: image.cached,
    sidecarImage: sidecarImageName,
    runtime,
    label,
    color: request.color,
    headless: request.headless,
    prompt: request.prompt,
    resume: frozen !== null,
    remoteControl: request.remoteControl ?? false,
    frozenImage: frozen,
    homeId: env.homeId,
    localRepos,
    mcpServers: request.mcpServers,
    daemons: request.daemons,
    mcpToolTimeoutSeconds: launchMcpToolTimeout(env.env),
  });
  return { resolved, plan, runscAvailable };
}

/**
 * The plan entries of `--repo` arguments.
 *
 * @throws {UsageError} for a path that is not a git repository or a bad name.
 */
async function checkouts(
  specs: readonly string[],
  onNote?: (line: string) => void,
): Promise<LocalRepoPlan[]> {
  const out: LocalRepoPlan[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const named = eq > 0 && !spec.slice(0, eq).includes("/");
    const path = named ? spec.slice(eq + 1) : spec;
    const repo = await inspectLocalRepo(path);
    const name = named ? spec.slice(0, eq) : repo.name;
    if (!isGateName(name)) {
      throw new UsageError(`Cannot use --repo "${spec}": "${name}" is not a repository name`, {
        hint: "Use lower-case letters, digits, dots, hyphens and underscores (name=path)",
      });
    }
    if (out.some((r) => r.name === name)) {
      throw new UsageError(`Cannot use --repo "${spec}": the name "${name}" is used twice`, {
        hint: "Name one of them: --repo other=<path>",
      });
    }
    if (repo.dirty > 0) {
      onNote?.(
        `${repo.path} has ${repo.dirty} uncommitted change${
          repo.dirty === 1 ? "" : "s"
        }; the bottle gets its commits only`,
      );
    }
    out.push({ name, path: repo.path, defaultBranch: repo.defaultBranch });
  }
  return out;
}

/** What `launchBottle` needs besides the plan. */
export interface LaunchInputs {
  /** The launch's values (tokens, env, canary). Never log them. */
  secrets: LaunchSecrets;
  /** The agent's skill files, uploaded at provisioning. */
  files: TarEntry[];
}

/** Options of {@linkcode gatherLaunchInputs}. */
export interface GatherLaunchInputsOptions {
  /** Asks for `?` env entries on a terminal; without it they fail (headless). */
  prompter?: HiddenPrompter;
  /** Image build progress lines. */
  onProgress?: (line: string) => void;
  /** Told before an image is built, with its name. */
  onBuild?: (name: string) => void;
  /** Told after an image was built, with its name and seconds. */
  onBuilt?: (name: string, seconds: number) => void;
  /** Told when another process is building an image this launch needs, and it waits. */
  onWait?: (name: string) => void;
}

/**
 * The checks of {@linkcode gatherLaunchInputs} that have no side effect, for a launch's preflight
 * (before `launch this agent? [y/N]`) and `--dry-run` (SPEC §5.2 step 4): every host variable
 * the launch reads is set and a forwarded host login is usable, no `?` env entry waits for a
 * terminal a headless launch does not have, and every skill exists. Nothing is printed, nobody is
 * asked, no value is kept.
 *
 * @throws {CredentialsError} for a token variable or the host login.
 * @throws {ConfigError} for an env variable, a `?` entry of a headless launch or a skill.
 */
export async function checkLaunchInputs(
  env: Pick<BottleEnv, "env">,
  prepared: Pick<PreparedLaunch, "resolved" | "plan">,
): Promise<void> {
  const { resolved, plan } = prepared;
  await checkHostVariables(resolved, env.env, { canPrompt: !plan.headless });
  await checkSkills(resolved.agent.skills, plan.provision.skillsDir, env.env);
}

/**
 * The second half of the shared launch sequence, after the plan and before `launchBottle`:
 * the launch's secrets (asked first, so a prompt never waits behind a long build), the skill
 * files, and the plan's images built unless cached (one build per image at a time host-wide: a
 * launch that finds another building the same image waits and reuses it).
 *
 * @throws {CredentialsError} naming a variable that is unset or empty.
 * @throws {ConfigError} for a skill that is missing.
 * @throws {EngineError} when an image build fails.
 */
export async function gatherLaunchInputs(
  env: BottleEnv,
  prepared: Pick<PreparedLaunch, "resolved" | "plan">,
  options: GatherLaunchInputsOptions = {},
): Promise<LaunchInputs> {
  const { resolved, plan } = prepared;
  const secrets = await resolveLaunchSecrets(resolved, {
    hostEnv: env.env,
    prompter: options.prompter,
  });
  const files = await loadSkills(resolved.agent.skills, plan.provision.skillsDir, env.env);
  await ensurePlanImages(env.client, resolved, plan, {
    env: env.env,
    lockDir: imageLockDir(env.layout),
    onProgress: options.onProgress,
    onBuild: options.onBuild,
    onBuilt: options.onBuilt,
    onWait: options.onWait,
  });
  return { secrets, files };
}

/** `image` when the engine has it, else `null`. */
async function presentImage(client: EngineClient, image: string | null): Promise<string | null> {
  if (image === null) return null;
  try {
    await imageInspect(client, image);
    return image;
  } catch (error) {
    if (error instanceof EngineNotFoundError) return null;
    throw error;
  }
}
