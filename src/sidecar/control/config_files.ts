/**
 * The public part of a config, written into the config volume that the agent mounts read-only
 * at `/etc/bot-bottle/` (SPEC §6.3): the value-free route table and the CA certificate. Never a
 * slot value, the canary, a known secret or the CA key. Each file is written to a temporary name
 * and renamed, so the agent never reads half a file.
 *
 * @module
 */

import { EXIT_FAILURE, SidecarError } from "../errors.ts";
import { routeTable } from "./config.ts";
import type { SidecarConfig } from "./protocol.ts";

/** The route table's file name in the config directory. */
export const ROUTES_FILE = "routes.json";

/** The CA certificate's file name in the config directory (only when the config has a CA). */
export const CA_CERT_FILE = "ca.crt";

/** Mode of both files: the agent runs as another user and must read them. */
export const CONFIG_FILE_MODE = 0o644;

/**
 * Writes `routes.json` and, when the config has a CA, `ca.crt`; removes a stale `ca.crt`
 * otherwise. Creates the directory when it is missing.
 *
 * @example
 * ```ts
 * await writeConfigFiles("/srv/bot-bottle-config", config);
 * ```
 * @throws {SidecarError} naming the file that could not be written.
 */
export async function writeConfigFiles(dir: string, config: SidecarConfig): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new SidecarError(`Cannot create "${dir}": ${detail(error)}`, EXIT_FAILURE);
  }
  await writeFileAtomic(
    `${dir}/${ROUTES_FILE}`,
    JSON.stringify(routeTable(config.routes), null, 2),
  );
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

/** The OS error: a path and a reason, never file content. */
function detail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
