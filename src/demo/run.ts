/**
 * `bot-bottle demo` end to end (SPEC §14.1): a shell bottle from the embedded demo manifests in
 * a temporary home (the user's home is never read or written), a throwaway upstream on the
 * bottle's egress network, the four steps run inside the agent container, then everything
 * removed — also when interrupted (`signal`), and unless `keep` once the steps ran.
 *
 * The sequence: generate the run's material (SSH host and client keys, a CA and a certificate
 * for the upstream, the token), render the manifests, plan the bottle through the same
 * preparation as `start`, build the images (`images.ts`), launch with the upstream started as
 * soon as the egress network exists (`LaunchContext.onNetworks`), run the steps (`steps.ts`),
 * tear down by the bottle's labels. The upstream's CA is trusted by this bottle's sidecar only
 * (added to its `BOT_BOTTLE_EXTRA_CA_CERTS` at launch, never to image builds, so the shared
 * images keep their build hash).
 *
 * @module
 */
import { launchBottle, type LaunchedBottle } from "../bottle/launch.ts";
import { teardownBottle, type TeardownResult } from "../bottle/lifecycle.ts";
import { gatherLaunchInputs, prepareLaunch } from "../bottle/prepare_launch.ts";
import { type BottleEnv, openBottleEnv } from "../bottle/session.ts";
import { recordEvent } from "../bottle/status.ts";
import { type EngineClient, execRun } from "../engine/mod.ts";
import { FailureError, InterruptedError } from "../lib/errors.ts";
import { type EnvReader, homeLayout, processEnv } from "../lib/home.ts";
import { openCatalog } from "../manifest/mod.ts";
import { importCa, mintCa, mintLeaf } from "../sidecar/pki/mod.ts";
import { VERSION } from "../version.ts";
import { type DemoImage, demoImageSpecs, ensureDemoImages } from "./images.ts";
import { writeDemoManifests } from "./manifests.ts";
import { generateSshKey } from "./ssh_key.ts";
import {
  DEMO_HOST,
  DEMO_STEPS,
  type DemoStep,
  fakeAwsKey,
  judgeAllowed,
  judgeDlp,
  judgePush,
  judgeUnlisted,
  parseProbe,
  PUSH_BRANCHES,
  STEP_SCRIPTS,
  type StepVerdict,
  upstreamSaw,
} from "./steps.ts";
import { startUpstream, type Upstream, UPSTREAM_ALIAS, type UpstreamSecrets } from "./upstream.ts";

/** The host variable holding the demo route's token (in the demo's environment only). */
export const DEMO_TOKEN_VARIABLE = "BOT_BOTTLE_DEMO_TOKEN";

/** Options of {@linkcode runDemo}. */
export interface RunDemoOptions {
  /** Leave the bottle, its upstream and the temporary home once the steps ran. */
  keep: boolean;
  /** The host environment (engine, extra CAs, runtime); default the process's. */
  env?: EnvReader;
  /** Progress text for stderr; lines end in `\n` (a live build line does not). */
  write: (text: string) => void;
  /** stderr is a terminal: builds show one live line. */
  tty: boolean;
  columns?: number;
  /** Told each step's verdict as soon as it is known. */
  onStep?: (index: number, step: DemoStep, verdict: StepVerdict) => void;
  /** Aborting it interrupts the demo, which then removes what it created. */
  signal?: AbortSignal;
  /** Debug lines (engine calls, each step's raw output). */
  debug?: (line: string) => void;
  /** Where the temporary home is made; default the system's temporary directory. */
  tempDir?: string;
}

/** One step's result. */
export interface DemoStepResult extends DemoStep, StepVerdict {}

/** What the demo did. */
export interface DemoResult {
  /** Every step held. */
  passed: boolean;
  slug: string;
  /** The temporary bot-bottle home (removed unless kept). */
  home: string;
  steps: DemoStepResult[];
  images: DemoImage[];
  /** What the teardown removed; null when kept. */
  removed: Omit<TeardownResult, "stateRemoved"> | null;
  kept: boolean;
  seconds: number;
}

/** The run's material: keys, certificate, token, written where the manifests point. */
interface Material extends UpstreamSecrets {
  gitKeyPath: string;
  hostKeyLine: string;
  caCertPath: string;
}

async function makeMaterial(root: string): Promise<Material> {
  const hostKey = await generateSshKey("bot-bottle demo host key");
  const gitKey = await generateSshKey("bot-bottle demo git-gate key");
  const now = Date.now();
  const ca = await mintCa({
    commonName: "bot-bottle demo upstream CA",
    organization: "bot-bottle",
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 24 * 3600_000),
  });
  const leaf = await mintLeaf(await importCa(ca.certPem, ca.keyPem), DEMO_HOST);
  const gitKeyPath = `${root}/git-gate-key`;
  const caCertPath = `${root}/upstream-ca.crt`;
  await Deno.writeTextFile(gitKeyPath, gitKey.privatePem, { mode: 0o600 });
  await Deno.writeTextFile(caCertPath, ca.certPem, { mode: 0o600 });
  const token = Array.from(
    crypto.getRandomValues(new Uint8Array(24)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return {
    gitKeyPath,
    caCertPath,
    hostKeyLine: hostKey.publicLine,
    hostKeyPem: hostKey.privatePem,
    clientPublicLine: gitKey.publicLine,
    certPem: leaf.certPem,
    keyPem: leaf.keyPem,
    token,
  };
}

/** `env` with some variables replaced. */
function overlay(env: EnvReader, values: Record<string, string>): EnvReader {
  return (name) => Object.hasOwn(values, name) ? values[name] : env(name);
}

/**
 * Runs the demo; resolves when the steps ran (passed or not) and the bottle is gone (or kept).
 *
 * @throws {InterruptedError} when `signal` aborted (after removing what the demo created).
 * @throws {BottleError} when the bottle cannot be built, launched or removed (engine, images).
 */
export async function runDemo(options: RunDemoOptions): Promise<DemoResult> {
  const env = options.env ?? processEnv;
  const started = performance.now();
  const say = (line: string) => options.write(`${line}\n`);
  const checkpoint = () => {
    if (options.signal?.aborted) throw new InterruptedError("Interrupted");
  };
  checkpoint();
  const root = await Deno.makeTempDir({ dir: options.tempDir, prefix: "bot-bottle-demo-" });
  await Deno.chmod(root, 0o700);
  const homeVars = { BOT_BOTTLE_HOME: `${root}/home`, BOT_BOTTLE_DB: `${root}/home/bot-bottle.db` };
  const layout = homeLayout(overlay(env, homeVars));
  let benv: BottleEnv | undefined;
  let slug: string | undefined;
  let launched: LaunchedBottle | undefined;
  let work: { steps: DemoStepResult[]; images: DemoImage[] } | undefined;
  let failure: unknown;
  try {
    const material = await makeMaterial(root);
    await writeDemoManifests(layout, {
      UPSTREAM_HOST: UPSTREAM_ALIAS,
      GIT_KEY_PATH: material.gitKeyPath,
      HOST_KEY: material.hostKeyLine,
    });
    const hostEnv = overlay(env, { ...homeVars, [DEMO_TOKEN_VARIABLE]: material.token });
    const extraCa = [env("BOT_BOTTLE_EXTRA_CA_CERTS") ?? "", material.caCertPath];
    const launchEnv = overlay(hostEnv, {
      BOT_BOTTLE_EXTRA_CA_CERTS: extraCa.filter((p) => p !== "").join(":"),
    });
    benv = await openBottleEnv(layout, { env: hostEnv, debug: options.debug });
    const catalog = openCatalog({ home: layout, cwd: root, warn: say });
    const prepared = (await prepareLaunch(benv, {
      catalog,
      agent: "demo",
      bottles: [],
      label: null,
      color: null,
      headless: true,
      prompt: "bot-bottle demo",
    }))!;
    slug = prepared.plan.slug;
    say(`demo: bottle "${slug}" in a temporary home, ${root}`);
    checkpoint();
    const images = await ensureDemoImages(
      benv.client,
      await demoImageSpecs(prepared.resolved, hostEnv),
      { write: options.write, tty: options.tty, columns: options.columns, signal: options.signal },
    );
    checkpoint();
    const inputs = await gatherLaunchInputs(benv, prepared);
    const client = benv.client;
    const homeId = benv.homeId;
    const bottleSlug = slug;
    let upstream: Upstream | undefined;
    launched = await launchBottle(
      {
        client,
        bottles: benv.bottles,
        layout,
        pool: benv.pool,
        env: launchEnv,
        note: say,
        debug: options.debug,
        onStep: (step, detail) => {
          options.debug?.(`launch: ${step} ${detail}`);
          checkpoint();
        },
        onNetworks: async ({ egress }) => {
          checkpoint();
          upstream = await startUpstream(client, material, {
            slug: bottleSlug,
            version: VERSION,
            homeId,
            image: images.at(-1)!.name,
            network: egress,
          });
          say(`demo: upstream "${upstream.name}" listening on the bottle's egress network`);
          checkpoint();
        },
      },
      prepared.plan,
      inputs.secrets,
      {
        owner: "cli",
        resume: false,
        prompt: prepared.resolved.agent.prompt,
        files: inputs.files,
        approvals: false,
      },
    );
    say(`demo: bottle "${slug}" started; running the steps`);
    const steps = await runSteps(client, launched, upstream!, options, checkpoint);
    work = { steps, images };
  } catch (error) {
    failure = error;
  }

  const keep = options.keep && work !== undefined && !options.signal?.aborted;
  await launched?.release().catch(() => {});
  let removed: DemoResult["removed"] = null;
  let cleanupError: unknown;
  if (!keep && benv !== undefined && slug !== undefined) {
    try {
      const result = await teardownBottle(
        { client: benv.client, bottles: benv.bottles, layout, note: say, env },
        slug,
        { keepState: false, keepHome: false },
      );
      removed = {
        containers: result.containers,
        networks: result.networks,
        volumes: result.volumes,
      };
      try {
        recordEvent(benv.bottles, slug, "destroy", { execId: null });
      } catch {
        // the temporary database goes with the home
      }
    } catch (error) {
      cleanupError = error;
    }
  }
  benv?.[Symbol.dispose]();
  if (!keep && cleanupError === undefined) {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  if (cleanupError !== undefined) {
    say(`demo: error: ${(cleanupError as Error).message}`);
    throw new FailureError(`Cannot remove the demo's bottle "${slug}"`, {
      cause: cleanupError,
      hint: `Run \`BOT_BOTTLE_HOME=${layout.root} bot-bottle cleanup --all --yes\`, then ` +
        `remove ${root}`,
    });
  }
  if (options.signal?.aborted) {
    throw new InterruptedError(
      slug === undefined
        ? "Interrupted; the demo created nothing"
        : `Interrupted; the demo's bottle "${slug}" and its upstream were removed`,
      { cause: failure },
    );
  }
  if (failure !== undefined) throw failure;
  return {
    passed: work!.steps.every((s) => s.passed),
    slug: slug!,
    home: layout.root,
    steps: work!.steps,
    images: work!.images,
    removed,
    kept: keep,
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

/** Runs the four steps in the agent container, reporting each verdict as it comes. */
async function runSteps(
  client: EngineClient,
  launched: LaunchedBottle,
  upstream: Upstream,
  options: RunDemoOptions,
  checkpoint: () => void,
): Promise<DemoStepResult[]> {
  const exec = async (step: DemoStep, extraEnv: string[] = [], workingDir?: string) => {
    checkpoint();
    const result = await execRun(client, launched.agentId, ["bash", "-c", STEP_SCRIPTS[step.id]], {
      user: "node",
      env: [...launched.execEnv, ...extraEnv],
      workingDir,
    });
    options.debug?.(`step ${step.id} (exit ${result.exitCode}):\n${result.stdoutText}`);
    return result.stdoutText;
  };
  const results: DemoStepResult[] = [];
  const report = (step: DemoStep, verdict: StepVerdict) => {
    results.push({ ...step, ...verdict });
    options.onStep?.(results.length, step, verdict);
  };
  const [allowed, unlisted, dlp, push] = DEMO_STEPS;
  report(allowed, judgeAllowed(parseProbe(await exec(allowed))));
  report(unlisted, judgeUnlisted(parseProbe(await exec(unlisted))));
  const body = JSON.stringify({
    note: "the deploy credentials, for safekeeping",
    aws_access_key_id: fakeAwsKey(),
  });
  const dlpProbe = parseProbe(await exec(dlp, [`DEMO_BODY=${body}`]));
  report(dlp, judgeDlp(dlpProbe, upstreamSaw(await upstream.requestLog(), "POST", "/upload")));
  const pushOutput = await exec(push, [`DEMO_KEY=${fakeAwsKey()}`], "/home/node/workspace/demo");
  report(
    push,
    judgePush(pushOutput, {
      cleanUpstream: await upstream.branchCommit(PUSH_BRANCHES.clean),
      leakUpstream: (await upstream.branchCommit(PUSH_BRANCHES.leak)) !== null,
    }),
  );
  return results;
}
