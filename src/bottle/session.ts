/**
 * What `start`, `resume` and the programmatic API share: opening the engine and the host
 * database, choosing the runtime, picking the slug and building the images a plan needs.
 * Credentials are resolved by `src/credentials/`.
 *
 * @module
 */
import {
  connectEngine,
  endpointLabel,
  type EngineClient,
  engineDnsLeakWarning,
  type EngineEndpoint,
  EngineNotFoundError,
  imageInspect,
  systemInfo,
} from "../engine/mod.ts";
import { ConfigError, InternalError, SlugInUseError, UsageError } from "../lib/errors.ts";
import { loadExtraCaCerts } from "../lib/extra_ca.ts";
import { type EnvReader, type HomeLayout, homeLayout, processEnv } from "../lib/home.ts";
import type { ResolvedAgent } from "../manifest/mod.ts";
import { BottleStore, MEMORY, openHostStore, type Store } from "../store/mod.ts";
import { VERSION } from "../version.ts";
import { baseImages } from "./base_images.ts";
import { customAgentImageSpec } from "./build_context.ts";
import { ensureImage } from "./image_build.ts";
import {
  AGENT_TEMPLATES,
  agentImageSpec,
  type AgentTemplate,
  type ImageSpec,
  prebuiltSidecarImage,
  sidecarImageSpec,
} from "./image_spec.ts";
import type { BottlePlan } from "./plan.ts";
import { generatedSlug, limitSlug, nextFreeSlug, slugify } from "./slug.ts";
import { type Cidr, subnetPool } from "./subnets.ts";

/** The engine, database and home a bottle operation runs against. */
export interface BottleEnv extends Disposable {
  client: EngineClient;
  store: Store;
  bottles: BottleStore;
  layout: HomeLayout;
  pool: Cidr;
  env: EnvReader;
  /** The `io.bot-bottle.home` label value of this home. */
  homeId: string;
  /** The engine's label (`endpointLabel`), as bottle records name their engine. */
  engine: string;
  /**
   * Warnings about the engine itself, for a launch to print once (SPEC §6.1: engines older than
   * 25.0.5 leak DNS from internal networks, CVE-2024-29018).
   */
  engineWarnings: readonly string[];
}

/** The id of a home: 16 hex of the SHA-256 of its path. */
export async function homeIdOf(layout: HomeLayout): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(layout.root)),
  );
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Options of {@linkcode openBottleEnv}. */
export interface OpenBottleEnvOptions {
  env?: EnvReader;
  debug?: (line: string) => void;
  /** The engine to use instead of `DOCKER_HOST` discovery (the programmatic API's `engine`). */
  endpoint?: EngineEndpoint;
  /**
   * Create nothing (`--dry-run`, SPEC §5.2): no `state/`, and the database is opened read-only
   * if it exists, else an empty one is kept in memory.
   */
  createNothing?: boolean;
}

/**
 * Connects to the engine and opens the host database (creating the home's `state/`, 0700,
 * unless `createNothing`).
 *
 * @throws {EngineUnavailableError} when no engine answers (exit 4).
 * @throws {ConfigError} for a bad `BOT_BOTTLE_SUBNET_POOL`.
 */
export async function openBottleEnv(
  layout: HomeLayout,
  options: OpenBottleEnvOptions = {},
): Promise<BottleEnv> {
  const env = options.env ?? processEnv;
  const pool = subnetPool(env("BOT_BOTTLE_SUBNET_POOL"));
  const client = await connectEngine({
    endpoint: options.endpoint,
    logger: options.debug
      ? (e) =>
        options.debug!(
          `engine ${e.method} ${e.path} ${e.status ?? "-"} ${e.ms}ms${e.id ? ` ${e.id}` : ""}`,
        )
      : undefined,
  });
  let store: Store;
  try {
    if (options.createNothing) {
      store = await exists(layout.db)
        ? openHostStore(layout.db, { readOnly: true })
        : openHostStore(MEMORY);
    } else {
      await Deno.mkdir(layout.state, { recursive: true, mode: 0o700 });
      store = openHostStore(layout.db);
    }
  } catch (error) {
    client.close();
    throw error;
  }
  const bottles = new BottleStore(store);
  const homeId = await homeIdOf(layout);
  return {
    homeId,
    engine: endpointLabel(client.endpoint),
    engineWarnings: [engineDnsLeakWarning(client.serverVersion)].filter((w) => w !== undefined),
    client,
    store,
    bottles,
    layout,
    pool,
    env,
    [Symbol.dispose]() {
      store.close();
      client.close();
    },
  };
}

/**
 * The templates whose end-to-end suite has passed under gVisor (SPEC §6.3), the only ones `runsc`
 * is used for. Claude Code exits under gVisor; plugin templates are untested there.
 */
export const RUNSC_TEMPLATES: readonly string[] = ["shell", "codex", "pi"];

/** What {@linkcode chooseRuntime} decided and learnt. */
export interface RuntimeChoice {
  runtime: "runc" | "runsc";
  /** Whether the engine's `GET /info` lists `runsc`; `null` without a client. */
  runscAvailable: boolean | null;
}

/**
 * The runtime (SPEC §6.3): `BOT_BOTTLE_RUNTIME`, else `resources.runtime`, else `runc`;
 * `runsc` only for {@linkcode RUNSC_TEMPLATES} and only when installed in the engine.
 *
 * @throws {ConfigError} for an unknown value, a template not approved for runsc, or an absent
 * `runsc`.
 */
export async function chooseRuntime(
  client: EngineClient | undefined,
  resolved: ResolvedAgent,
  env: EnvReader,
): Promise<RuntimeChoice> {
  const setting = env("BOT_BOTTLE_RUNTIME")?.trim();
  if (setting && setting !== "runc" && setting !== "runsc") {
    throw new ConfigError(`Cannot use BOT_BOTTLE_RUNTIME "${setting}": not runc or runsc`, {
      hint: "Set BOT_BOTTLE_RUNTIME=runc or runsc, or unset it",
    });
  }
  const runtime = (setting || resolved.resources.runtime || "runc") as "runc" | "runsc";
  const template = resolved.provider.template;
  if (runtime === "runsc" && !RUNSC_TEMPLATES.includes(template)) {
    const why = template === "claude"
      ? "Claude Code exits under gVisor"
      : "its end-to-end suite has not passed under gVisor";
    const asked = setting ? "BOT_BOTTLE_RUNTIME=runsc" : "resources.runtime: runsc";
    throw new ConfigError(
      `Cannot use runtime runsc (from ${asked}) for template "${template}": ${why}; ` +
        `runsc is for ${RUNSC_TEMPLATES.join(", ")} only`,
      { hint: "Unset BOT_BOTTLE_RUNTIME and remove resources.runtime: runsc to run on runc" },
    );
  }
  if (client === undefined) return { runtime, runscAvailable: null };
  const info = await systemInfo(client);
  const runscAvailable = Object.keys(info.Runtimes).includes("runsc");
  if (runtime === "runsc" && !runscAvailable) {
    throw new ConfigError("Cannot use runtime runsc: the engine has no runsc (gVisor) runtime", {
      hint: "Install gVisor and register it with the engine, or set BOT_BOTTLE_RUNTIME=runc",
    });
  }
  return { runtime, runscAvailable };
}

/**
 * The agent image a resolved agent uses (before any build), by SPEC §6.6's precedence after a
 * frozen image: the manifest's `agent_provider.dockerfile`, a plugin's `Dockerfile` (its
 * directory the build context), the base agent image (the `shell` template's) for a plugin
 * without one, the template's image.
 *
 * @throws {ConfigError} for an unreadable Dockerfile or build context.
 */
export async function agentImageFor(resolved: ResolvedAgent, env: EnvReader): Promise<ImageSpec> {
  const extra = await loadExtraCaCerts(env);
  const baseImage = resolved.provider.baseImage ?? baseImages(env).agent;
  const npmRegistry = env("BOT_BOTTLE_NPM_REGISTRY") || undefined;
  const dockerfile = resolved.provider.dockerfile ?? resolved.provider.plugin?.dockerfile ?? null;
  if (dockerfile !== null) {
    return await customAgentImageSpec({
      version: VERSION,
      dockerfilePath: dockerfile,
      baseImage,
      extraCaPem: extra?.pem,
      npmRegistry,
      // A context holding the home (its keys, CA keys, database) is refused: a plugin directory
      // is inside the home, and a link there must not widen the context to all of it.
      home: homeRoot(env),
    });
  }
  const template = resolved.provider.template;
  const builtin = (AGENT_TEMPLATES as readonly string[]).includes(template);
  if (!builtin && resolved.provider.plugin === null) {
    throw new ConfigError(`Cannot launch template "${template}": no such plugin`, {
      hint: `Use one of the builtin templates (${
        AGENT_TEMPLATES.join(", ")
      }), or add ~/.bot-bottle/contrib/${template}/provider.yaml`,
    });
  }
  return await agentImageSpec({
    version: VERSION,
    template: builtin ? template as AgentTemplate : "shell",
    baseImage,
    extraCaPem: extra?.pem,
    npmRegistry,
  });
}

/** The bot-bottle home's root, when it can be told. */
function homeRoot(env: EnvReader): string | undefined {
  try {
    return homeLayout(env).root;
  } catch {
    return undefined;
  }
}

/**
 * The sidecar image a launch runs: `BOT_BOTTLE_SIDECAR_IMAGE` when set (prebuilt, used as is),
 * else bot-bottle's own, named by its build hash.
 *
 * @throws {ConfigError} for an unusable `BOT_BOTTLE_EXTRA_CA_CERTS`.
 */
export async function sidecarImageFor(env: EnvReader): Promise<string> {
  return prebuiltSidecarImage(env) ?? (await sidecarSpecFor(env)).name;
}

/** Sidecar specs by their inputs: a launch needs the spec twice (plan, build), ~15 ms each. */
const sidecarSpecs = new Map<string, Promise<ImageSpec>>();

async function sidecarSpecFor(env: EnvReader): Promise<ImageSpec> {
  const extra = await loadExtraCaCerts(env);
  const images = baseImages(env);
  const key = JSON.stringify([VERSION, images.deno, images.gitleaks, extra?.pem ?? null]);
  let spec = sidecarSpecs.get(key);
  if (spec === undefined) {
    spec = sidecarImageSpec({ version: VERSION, baseImages: images, extraCaPem: extra?.pem });
    sidecarSpecs.set(key, spec);
    spec.catch(() => sidecarSpecs.delete(key));
  }
  return await spec;
}

/** The directory of the image build locks: `<home>/locks`. */
export function imageLockDir(layout: HomeLayout): string {
  return `${layout.root}/locks`;
}

/** Options of {@linkcode ensurePlanImages}. */
export interface EnsurePlanImagesOptions {
  env: EnvReader;
  /** Build lock directory ({@linkcode imageLockDir}): one build per image at a time. */
  lockDir?: string;
  onProgress?: (line: string) => void;
  /** Called before each build that has to run, with the image name. */
  onBuild?: (name: string) => void;
  /** Called after a build, with the image name and its seconds. */
  onBuilt?: (name: string, seconds: number) => void;
  /** Called when another process is building the image and this launch waits for it. */
  onWait?: (name: string) => void;
}

/**
 * Builds (or reuses) the sidecar image and, unless resuming from a frozen image, the agent
 * image of a plan, each under its build lock. A prebuilt `BOT_BOTTLE_SIDECAR_IMAGE` is used as
 * is.
 *
 * @throws {EngineApiError} when a build fails.
 * @throws {InternalError} when an image's inputs changed since the plan named it.
 */
export async function ensurePlanImages(
  client: EngineClient,
  resolved: ResolvedAgent,
  plan: Readonly<BottlePlan>,
  options: EnsurePlanImagesOptions,
): Promise<{ agentBuilt: boolean; sidecarBuilt: boolean }> {
  const env = options.env;
  const ensure = async (spec: ImageSpec, planned: string) => {
    if (spec.name !== planned) {
      // The plan named the image from the same inputs: a difference means they changed meanwhile.
      throw new InternalError(
        `Cannot launch "${plan.slug}": the plan names image "${planned}" but the build makes "${spec.name}"`,
        {
          hint:
            "The image's Dockerfile, build context or extra CAs changed during the launch: run it again",
        },
      );
    }
    const result = await ensureImage(client, spec, {
      lockDir: options.lockDir,
      onProgress: options.onProgress,
      onBuild: options.onBuild,
      onWait: options.onWait,
    });
    if (result.built) options.onBuilt?.(result.name, result.seconds);
    return result.built;
  };
  let sidecarBuilt = false;
  if (prebuiltSidecarImage(env) === undefined) {
    sidecarBuilt = await ensure(await sidecarSpecFor(env), plan.images.sidecar.name);
  }
  let agentBuilt = false;
  if (!plan.images.agent.frozen) {
    agentBuilt = await ensure(await agentImageFor(resolved, env), plan.images.agent.name);
  }
  return { agentBuilt, sidecarBuilt };
}

/**
 * The slug a `--label` gives (SPEC §5.2): slugify, then the length rule.
 *
 * @throws {UsageError} when nothing of the label is left.
 */
export async function slugOfLabel(label: string): Promise<string> {
  const slug = await limitSlug(slugify(label));
  if (slug === "") {
    throw new UsageError(
      `Cannot make a slug of label "${label}"`,
      {
        hint: "Use letters or digits in --label",
      },
    );
  }
  return slug;
}

/** Options of {@linkcode newBottleSlug}. */
export interface NewBottleSlugOptions {
  /**
   * Asked when the label's slug belongs to a live bottle (SPEC §5.2 step 2, interactive): another
   * label to try, or `null` to give up (the `slug_in_use` error is thrown).
   */
  relabel?: (taken: { label: string; slug: string }) => Promise<string | null>;
}

/** The result of {@linkcode newBottleSlug}. */
export interface NewBottleSlugResult {
  slug: string;
  /** The label the slug comes from: the one given, or the one `relabel` answered last. */
  label: string | null;
}

/**
 * The slug of a new bottle: the label's, never renamed (a live bottle with it → `slug_in_use`,
 * or `relabel` is asked for another label), else `<agent>-<5 base36>` free in this home.
 *
 * @throws {BottleError} `slug_in_use`. @throws {UsageError} for a label without a slug.
 */
export async function newBottleSlug(
  bottles: BottleStore,
  agent: string,
  label: string | null,
  options: NewBottleSlugOptions = {},
): Promise<NewBottleSlugResult> {
  const live = (slug: string) => {
    const r = bottles.get(slug);
    return r !== undefined && r.status !== "destroyed";
  };
  if (label === null) return { slug: await nextFreeSlug(await generatedSlug(agent), live), label };
  let wanted = label;
  while (true) {
    const slug = await slugOfLabel(wanted);
    if (!live(slug)) return { slug, label: wanted };
    const taken = new SlugInUseError(`Cannot start "${slug}": a bottle with that slug exists`, {
      hint: `Pick another --label, or \`bot-bottle destroy ${slug}\``,
      slug,
    });
    const next = options.relabel ? await options.relabel({ label: wanted, slug }) : null;
    if (next === null) throw taken;
    wanted = next;
  }
}

/** The agent image a new launch uses and whether the engine has it already. */
export async function probeAgentImage(
  client: EngineClient,
  resolved: ResolvedAgent,
  env: EnvReader,
): Promise<{ name: string; cached: boolean }> {
  const { name } = await agentImageFor(resolved, env);
  try {
    await imageInspect(client, name);
    return { name, cached: true };
  } catch (error) {
    if (error instanceof EngineNotFoundError) return { name, cached: false };
    throw error;
  }
}
