import { applyCleanup, planCleanup } from "../bottle/cleanup.ts";
import { planImageCleanup, removeImages } from "../bottle/image_cleanup.ts";
import { openBottleEnv } from "../bottle/session.ts";
import { homeLayout } from "../lib/home.ts";
import { VERSION } from "../version.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { confirm, debugLines, escapeControl } from "./io.ts";

/**
 * `bot-bottle cleanup`: remove objects of bottles that are no longer live, and the images
 * bot-bottle built that are superseded (`image_cleanup.ts`).
 */
export const cleanupCommand: CommandSpec = {
  name: "cleanup",
  summary:
    "Remove labelled engine objects and state of bottles that are no longer live, and superseded images.",
  positionals: [],
  options: {
    yes: { type: "boolean", short: "y", description: "Do not ask for confirmation" },
    all: { type: "boolean", description: "Include live, idle, frozen and orchestrated bottles" },
  },
  run,
};

/** What `cleanup --json` prints (docs/cli-output.md): every key, also when nothing was cleaned. */
export interface CleanupJson {
  bottles: string[];
  containers: number;
  networks: number;
  volumes: number;
  images: number;
  failures: { slug: string; message: string }[];
  /** Superseded images the engine refused to remove (other than in use). */
  imageFailures: { image: string; message: string }[];
}

/** The `cleanup --json` line; counts left out are zero. */
export function cleanupJson(result: Partial<CleanupJson> = {}): string {
  const json: CleanupJson = {
    bottles: result.bottles ?? [],
    containers: result.containers ?? 0,
    networks: result.networks ?? 0,
    volumes: result.volumes ?? 0,
    images: result.images ?? 0,
    failures: result.failures ?? [],
    imageFailures: result.imageFailures ?? [],
  };
  return JSON.stringify(json) + "\n";
}

async function run(ctx: CommandContext): Promise<number> {
  const { io, globals } = ctx;
  using benv = await openBottleEnv(homeLayout(), {
    debug: debugLines(ctx.io, ctx.globals.verbose),
  });
  const lc = benv;
  const candidates = await planCleanup(lc, { all: ctx.values.all === true, homeId: benv.homeId });
  const images = await planImageCleanup(benv.client, { version: VERSION, now: Date.now() });
  if (candidates.length === 0 && images.length === 0) {
    if (globals.json) io.out(cleanupJson());
    else if (!globals.quiet) io.err("bot-bottle: nothing to clean up\n");
    return 0;
  }
  // The listing is what a confirmation is asked about; with --yes it is a notice like the others.
  if (ctx.values.yes !== true || (!globals.json && !globals.quiet)) {
    if (images.length > 0) {
      io.err(
        `images:\n${
          images.map((i) =>
            `  ${escapeControl(i.names.join(", ") || i.id.slice(0, 19))} (${i.reason})\n`
          ).join("")
        }`,
      );
    }
    for (const c of candidates) {
      const parts = [
        ...c.objects.containers.map((o) => `container ${o.name}`),
        ...c.objects.networks.map((o) => `network ${o.name}`),
        ...c.objects.volumes.map((o) => `volume ${o.name}`),
        ...(c.stateDir ? [`state/${c.slug}/`] : []),
      ];
      io.err(
        `${escapeControl(c.slug)} (${c.reason}):\n${
          parts.map((p) => `  ${escapeControl(p)}\n`).join("")
        }`,
      );
    }
  }
  if (ctx.values.yes !== true) {
    if (!io.stdinIsTTY) {
      io.err(
        "bot-bottle: error: Cannot ask for confirmation: stdin is not a terminal\n  hint: Pass --yes to remove the objects listed above\n",
      );
      return 2;
    }
    const what = [
      ...(candidates.length > 0 ? [`these objects of ${candidates.length} bottle(s)`] : []),
      ...(images.length > 0 ? [`${images.length} image(s)`] : []),
    ].join(" and ");
    if (!await confirm(io, `remove ${what}?`)) return 0;
  }
  const { removed, failures } = await applyCleanup(lc, candidates);
  const imagesRemoved = await removeImages(benv.client, images);
  const sum = (k: "containers" | "networks" | "volumes") => removed.reduce((n, r) => n + r[k], 0);
  for (const f of failures) {
    io.err(
      `bot-bottle: error: Cannot clean up "${escapeControl(f.slug)}": ${
        escapeControl(f.message)
      }\n`,
    );
  }
  // The engine's message names the image (`Cannot remove image "…": …`).
  for (const f of imagesRemoved.failures) {
    io.err(
      `bot-bottle: error: ${escapeControl(f.message)}\n  hint: Remove it by hand (\`docker rmi ${
        escapeControl(f.image)
      }\`), or run cleanup again later\n`,
    );
  }
  if (globals.json) {
    io.out(cleanupJson({
      bottles: candidates.map((c) => c.slug),
      containers: sum("containers"),
      networks: sum("networks"),
      volumes: sum("volumes"),
      images: imagesRemoved.removed,
      failures,
      imageFailures: imagesRemoved.failures,
    }));
  } else if (!globals.quiet) {
    io.err(
      `bot-bottle: removed ${sum("containers")} containers, ${sum("networks")} networks, ${
        sum("volumes")
      } volumes of ${
        candidates.length - failures.length
      } bottle(s), ${imagesRemoved.removed} image(s)${
        imagesRemoved.inUse > 0 ? ` (${imagesRemoved.inUse} in use, kept)` : ""
      }\n`,
    );
  }
  return failures.length + imagesRemoved.failures.length > 0 ? 1 : 0;
}
