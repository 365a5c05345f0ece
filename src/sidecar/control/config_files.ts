/**
 * The public part of a config, written into the config volume that the agent mounts read-only
 * at `/etc/bot-bottle/` (SPEC §6.3, §9.1): the value-free route table (`routes.json`, and the same
 * at `current-config/routes.json`), the gate settings (`gate.json`) and the CA certificate. Never
 * a slot value, the canary, a known secret, the CA key, a deploy key or the forge token. Each file
 * is written to a temporary name and renamed, so the agent never reads half a file.
 *
 * @module
 */

import { EXIT_FAILURE, SidecarError } from "../errors.ts";
import { DEFAULT_GIT_GATE_PORT } from "../settings.ts";
import { routeTable } from "./config.ts";
import type { GateRepoConfig, SidecarConfig } from "./protocol.ts";

/** The route table's file name in the config directory. */
export const ROUTES_FILE = "routes.json";

/** The directory the route table is also in (SPEC §9.1: `/etc/bot-bottle/current-config/`). */
export const CURRENT_CONFIG_DIR = "current-config";

/** The gate settings' file name in the config directory. */
export const GATE_FILE = "gate.json";

/** The CA certificate's file name in the config directory (only when the config has a CA). */
export const CA_CERT_FILE = "ca.crt";

/** Where the agent reaches git-gate (its git config rewrites upstreams to `<this>/<name>.git`). */
export const GATE_ORIGIN = `http://git-gate:${DEFAULT_GIT_GATE_PORT}`;

/** Mode of every file: the agent runs as another user and must read them. */
export const CONFIG_FILE_MODE = 0o644;

/** One repository in `gate.json`: what the agent may know about it, no key. */
export interface GateFileRepo {
  name: string;
  /** The agent's remote, `http://git-gate:9080/<name>.git`. */
  url: string;
  upstream:
    | { kind: "ssh"; url: string; hostKey: string }
    | { kind: "local"; defaultBranch: string | null };
  refs: { protected: string[]; allow: string[] };
}

/**
 * The files of the config volume below `/etc/bot-bottle/`, by relative path, CA certificate
 * aside (pure, so the no-secret rule is unit-tested).
 *
 * @example
 * ```ts
 * publicConfigFiles(config).map((f) => f.path); // ["routes.json", "current-config/routes.json", "gate.json"]
 * ```
 */
export function publicConfigFiles(config: SidecarConfig): { path: string; text: string }[] {
  const routes = JSON.stringify(routeTable(config.routes), null, 2);
  const gate = { repos: config.gitGate.map(gateFileRepo) };
  return [
    { path: ROUTES_FILE, text: routes },
    { path: `${CURRENT_CONFIG_DIR}/${ROUTES_FILE}`, text: routes },
    { path: GATE_FILE, text: JSON.stringify(gate, null, 2) },
  ];
}

/** A repository's settings without its key (a `static` key is the deploy key itself). */
export function gateFileRepo(repo: GateRepoConfig): GateFileRepo {
  const upstream = repo.upstream;
  return {
    name: repo.name,
    url: `${GATE_ORIGIN}/${repo.name}.git`,
    upstream: upstream.kind === "ssh"
      ? { kind: "ssh", url: withoutPassword(upstream.url), hostKey: upstream.hostKey }
      : { kind: "local", defaultBranch: upstream.defaultBranch },
    refs: { protected: [...repo.refs.protected], allow: [...repo.refs.allow] },
  };
}

/**
 * Writes {@linkcode publicConfigFiles} and, when the config has a CA, `ca.crt`; removes a stale
 * `ca.crt` otherwise. Creates the directories when they are missing.
 *
 * @example
 * ```ts
 * await writeConfigFiles("/srv/bot-bottle-config", config);
 * ```
 * @throws {SidecarError} naming the file that could not be written.
 */
export async function writeConfigFiles(dir: string, config: SidecarConfig): Promise<void> {
  for (const path of [dir, `${dir}/${CURRENT_CONFIG_DIR}`]) {
    try {
      await Deno.mkdir(path, { recursive: true, mode: 0o755 });
    } catch (error) {
      throw new SidecarError(`Cannot create "${path}": ${detail(error)}`, EXIT_FAILURE);
    }
  }
  for (const file of publicConfigFiles(config)) {
    await writeFileAtomic(`${dir}/${file.path}`, file.text);
  }
  const caPath = `${dir}/${CA_CERT_FILE}`;
  if (config.ca !== null) {
    const pem = config.ca.certPem.endsWith("\n") ? config.ca.certPem : `${config.ca.certPem}\n`;
    await writeFileAtomic(caPath, pem);
    return;
  }
  try {
    await Deno.remove(caPath);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new SidecarError(`Cannot remove "${caPath}": ${detail(error)}`, EXIT_FAILURE);
    }
  }
}

async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(temporary, text, { mode: CONFIG_FILE_MODE, createNew: true });
    await Deno.chmod(temporary, CONFIG_FILE_MODE);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new SidecarError(`Cannot write "${path}": ${detail(error)}`, EXIT_FAILURE);
  }
}

/** An `ssh://user:password@…` URL without the password (scp-like URLs cannot carry one). */
function withoutPassword(url: string): string {
  if (!url.startsWith("ssh://")) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password === "") return url;
    parsed.password = "";
    return parsed.href;
  } catch {
    return url.replace(/^ssh:\/\/([^/@:]*):[^/@]*@/, "ssh://$1@");
  }
}

/** The OS error: a path and a reason, never file content. */
function detail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
