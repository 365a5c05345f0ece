import { bottleObjects, stateDir } from "../bottle/lifecycle.ts";
import { ownerAlive } from "../bottle/owner.ts";
import { openBottleEnv } from "../bottle/session.ts";
import { containerLogs, containerLogsStream } from "../engine/mod.ts";
import { NotFoundError, UsageError } from "../lib/errors.ts";
import { homeLayout } from "../lib/home.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { escapeControl } from "./io.ts";

const decoder = new TextDecoder();

async function run(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const slug = ctx.positionals[0];
  const service = (ctx.values.service as string | undefined) ?? "agent";
  if (service !== "agent" && service !== "sidecar") {
    throw new UsageError(`Unknown --service "${escapeControl(service)}"`, {
      hint: "Use agent or sidecar",
    });
  }
  const follow = ctx.values.follow === true;
  const layout = homeLayout();
  using benv = await openBottleEnv(layout);
  const record = benv.bottles.get(slug);
  const objects = await bottleObjects(benv.client, slug);
  const dir = `${stateDir(layout, slug)}/logs`;
  const print = (bytes: Uint8Array) => io.out(escapeControl(decoder.decode(bytes)));
  if (service === "sidecar") {
    const sidecar = objects.containers.find((c) => c.service === "sidecar");
    if (sidecar) {
      if (follow) {
        const streams = await containerLogsStream(benv.client, sidecar.id, { tail: "all" });
        await Promise.all([
          (async () => {
            for await (const c of streams.stdout) print(c);
          })(),
          (async () => {
            for await (const c of streams.stderr) print(c);
          })(),
        ]);
      } else {
        const logs = await containerLogs(benv.client, sidecar.id, { tail: "all" });
        print(logs.stdout);
        print(logs.stderr);
      }
      return 0;
    }
  }
  const file = `${dir}/${service}.log`;
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
  print(data);
  if (!follow) return 0;
  let offset = data.length;
  while (true) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await Deno.readFile(file).catch(() => new Uint8Array(0));
    if (now.length > offset) {
      print(now.subarray(offset));
      offset = now.length;
    }
    const r = benv.bottles.get(slug);
    if (!r || !ownerAlive(r) || (r.status !== "running" && r.status !== "starting")) return 0;
  }
}

/** `bot-bottle logs`: show a bottle's logs. */
export const logsCommand: CommandSpec = {
  name: "logs",
  summary: "Show a bottle's container logs, or the files saved at teardown.",
  positionals: [{ name: "slug", required: true, description: "The bottle" }],
  options: {
    service: {
      type: "string",
      valueName: "agent|sidecar",
      description: "Which container (default agent)",
    },
    follow: { type: "boolean", short: "f", description: "Keep printing new output" },
  },
  run,
};
