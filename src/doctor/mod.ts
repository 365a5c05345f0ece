/**
 * `bot-bottle doctor` (SPEC §14.2): checks the host a bottle runs on and says how to fix what is
 * wrong. {@linkcode runDoctor} gathers and judges, in report order: the engine and its API
 * version, the CVE-2024-29018 DNS notice, the runtimes (gVisor), free disk space, base images,
 * bot-bottle's images, home permissions, every home bottle's credentials (never printed), the
 * provider plugins, the macOS Keychain and the extra CA file. Checks that need the engine say "not checked" when it is
 * unreachable; the others still run.
 *
 * | file             | what                                                          |
 * | ---------------- | ------------------------------------------------------------- |
 * | `checks.ts`      | the check type, the text and JSON renderings, engine/runtime/disk judges (pure) |
 * | `images.ts`      | `base-images` and `images`                                    |
 * | `home.ts`        | `home`: directory and secret-file modes and owners            |
 * | `credentials.ts` | `credentials`: what each home bottle's launch reads           |
 * | `plugins.ts`     | `plugins`: `contrib/` directories ignored or invalid          |
 * | `host.ts`        | free space, `security`, the extra CA file                     |
 *
 * @module
 */
import { connectEngine, type EngineClient, systemInfo } from "../engine/mod.ts";
import { BottleError } from "../lib/errors.ts";
import { type EnvReader, type HomeLayout, homeLayout, processEnv } from "../lib/home.ts";
import { openCatalog } from "../manifest/mod.ts";
import {
  type Check,
  type DiskFacts,
  type EngineFacts,
  judgeDisk,
  judgeEngine,
  judgeRuntime,
  notChecked,
} from "./checks.ts";
import { checkBottleCredentials } from "./credentials.ts";
import { gatherPlugins, judgePlugins } from "./plugins.ts";
import { gatherHome, judgeHome } from "./home.ts";
import { checkExtraCa, checkKeychain, diskFacts } from "./host.ts";
import { gatherImages, judgeBaseImages, judgeImages } from "./images.ts";

export {
  type Check,
  CHECK_NAMES,
  type CheckStatus,
  doctorExitCode,
  doctorJson,
  formatChecks,
  summaryLine,
} from "./checks.ts";

/** Options of {@linkcode runDoctor}. */
export interface RunDoctorOptions {
  /** The host environment; default the process's. */
  env?: EnvReader;
  /** `Deno.build.os` unless given. */
  platform?: string;
  /** The user's uid (owner checks); default `Deno.uid()`. */
  uid?: number | null;
  /** Manifest warnings (skipped files). */
  warn?: (line: string) => void;
}

/**
 * Runs every check; never throws for a failed check (that is a `fail` line).
 *
 * @example
 * ```ts
 * const checks = await runDoctor();
 * console.log(formatChecks(checks));
 * ```
 */
export async function runDoctor(options: RunDoctorOptions = {}): Promise<Check[]> {
  const env = options.env ?? processEnv;
  const layout = homeLayout(env);
  const checks: Check[] = [];
  let client: EngineClient | undefined;
  let facts: EngineFacts;
  try {
    client = await connectEngine({ env, pingTimeoutMs: 10_000 });
    facts = {
      reachable: true,
      endpoint: client.label,
      serverVersion: client.serverVersion,
      apiVersion: client.apiVersion,
    };
  } catch (error) {
    if (!(error instanceof BottleError)) throw error;
    facts = { reachable: false, message: error.message, hint: error.hint };
  }
  try {
    checks.push(...judgeEngine(facts));
    checks.push(...await engineChecks(client, env, layout));
  } finally {
    client?.close();
  }
  checks.push(...judgeHome(await gatherHome(layout), options.uid ?? currentUid()));
  checks.push(...await credentialChecks(layout, env, options.warn));
  checks.push(...judgePlugins(layout.contrib, await gatherPlugins(layout.contrib)));
  checks.push(await checkKeychain(options.platform ?? Deno.build.os, env));
  checks.push(await checkExtraCa(env));
  return checks;
}

/** `runtime`, `disk`, `base-images` and `images`, from the engine when there is one. */
async function engineChecks(
  client: EngineClient | undefined,
  env: EnvReader,
  layout: HomeLayout,
): Promise<Check[]> {
  const disks: DiskFacts[] = [await diskFacts("the bot-bottle home", layout.root)];
  if (client === undefined) {
    return [
      notChecked("runtime"),
      ...judgeDisk(disks),
      notChecked("base-images"),
      notChecked("images"),
    ];
  }
  const checks: Check[] = [];
  let info;
  try {
    info = await systemInfo(client);
  } catch (error) {
    if (!(error instanceof BottleError)) throw error;
    const detail = `not checked: ${error.message}`;
    return [{ status: "warn", name: "runtime", detail }, ...judgeDisk(disks)];
  }
  checks.push(judgeRuntime(Object.keys(info.Runtimes), env("BOT_BOTTLE_RUNTIME")));
  const root = typeof info.DockerRootDir === "string" ? info.DockerRootDir : undefined;
  if (client.endpoint.kind === "unix" && root) {
    disks.push(await diskFacts("the engine's images and containers", root));
  }
  checks.push(...judgeDisk(disks));
  try {
    const { images, bases } = await gatherImages(client, env);
    checks.push(...judgeBaseImages(bases, images), ...judgeImages(images));
  } catch (error) {
    // An unusable extra CA file (the `extra-ca` check names it) or an engine failure.
    if (!(error instanceof BottleError)) throw error;
    const detail = `not checked: ${error.message}`;
    checks.push(
      { status: "warn", name: "base-images", detail },
      { status: "warn", name: "images", detail },
    );
  }
  return checks;
}

/** `credentials` for each bottle of the home, in name order. */
async function credentialChecks(
  layout: HomeLayout,
  env: EnvReader,
  warn: ((line: string) => void) | undefined,
): Promise<Check[]> {
  // The home only: repository agents never define bottles.
  const catalog = openCatalog({ home: layout, cwd: layout.root, warn: warn ?? (() => {}) });
  const names = catalog.names();
  if (names.length === 0) {
    return [{ status: "ok", name: "credentials", detail: `no bottles in ${layout.bottles}` }];
  }
  const checks: Check[] = [];
  for (const name of names) checks.push(...await checkBottleCredentials(catalog, name, env));
  return checks;
}

function currentUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}
