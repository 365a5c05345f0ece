/**
 * A bottle's logs (`bot-bottle logs`): the sidecar's container logs while it exists, else the
 * files saved at teardown (`state/<slug>/logs/<service>.log`; the agent's output is always
 * tee'd there). With `follow`, container logs stream and a saved file is polled until the
 * bottle's owner is gone or it stops running.
 *
 * @module
 */
import { containerLogs, containerLogsStream } from "../engine/mod.ts";
import { NotFoundError } from "../lib/errors.ts";
import { bottleObjects, stateDir } from "./lifecycle.ts";
import { ownerAlive } from "./owner.ts";
import type { BottleEnv } from "./session.ts";

/** The containers whose logs can be shown. */
export type LogService = "agent" | "sidecar";

/** Options of {@linkcode streamBottleLogs}. */
export interface StreamBottleLogsOptions {
  service: LogService;
  /** Keep writing new output until the bottle stops. */
  follow: boolean;
  /** Where the bytes go (raw: the caller escapes what a bottle controls). */
  write: (bytes: Uint8Array) => void;
}

/** How often a followed log file is read again. */
const FOLLOW_POLL_MS = 500;

/**
 * Writes a bottle's logs of one service.
 *
 * @throws {NotFoundError} when there is neither a sidecar container (for `sidecar`) nor a
 *   saved log file.
 * @throws {EngineError} when the engine fails.
 */
export async function streamBottleLogs(
  env: BottleEnv,
  slug: string,
  options: StreamBottleLogsOptions,
): Promise<void> {
  const { service, follow, write } = options;
  const record = env.bottles.get(slug);
  if (service === "sidecar") {
    const objects = await bottleObjects(env.client, slug);
    const sidecar = objects.containers.find((c) => c.service === "sidecar");
    if (sidecar) {
      if (follow) {
        const streams = await containerLogsStream(env.client, sidecar.id, { tail: "all" });
        await Promise.all([
          (async () => {
            for await (const c of streams.stdout) write(c);
          })(),
          (async () => {
            for await (const c of streams.stderr) write(c);
          })(),
        ]);
      } else {
        const logs = await containerLogs(env.client, sidecar.id, { tail: "all" });
        write(logs.stdout);
        write(logs.stderr);
      }
      return;
    }
  }
  const file = `${stateDir(env.layout, slug)}/logs/${service}.log`;
  let data: Uint8Array;
  try {
    data = await Deno.readFile(file);
  } catch {
    throw new NotFoundError(
      `Cannot show the ${service} logs of "${slug}": ${
        record ? "none were saved" : "no such bottle"
      }`,
      {
        hint: record
          ? `Logs are saved only for kept bottles (state/${slug}/logs/)`
          : "Run `bot-bottle ps` to list bottles",
      },
    );
  }
  write(data);
  if (!follow) return;
  let offset = data.length;
  while (true) {
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
    const now = await Deno.readFile(file).catch(() => new Uint8Array(0));
    if (now.length > offset) {
      write(now.subarray(offset));
      offset = now.length;
    }
    const r = env.bottles.get(slug);
    if (!r || !ownerAlive(r) || (r.status !== "running" && r.status !== "starting")) return;
  }
}
