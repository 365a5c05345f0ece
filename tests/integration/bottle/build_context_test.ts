/**
 * A custom build context read from the real file system: one that holds the bot-bottle state is
 * refused before anything is read.
 */
import assert from "node:assert/strict";
import { customAgentImageSpec } from "../../../src/bottle/build_context.ts";
import { engineTest } from "../../helpers/engine.ts";

engineTest(
  "a custom context holding the bot-bottle state is refused before anything is read",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "bot-bottle-home-" });
    try {
      await Deno.mkdir(`${dir}/state/slug`, { recursive: true });
      await Deno.writeTextFile(`${dir}/state/slug/Dockerfile`, "FROM scratch\n");
      await Deno.writeTextFile(`${dir}/Dockerfile`, "FROM scratch\n");
      for (const path of [`${dir}/state/slug/Dockerfile`, `${dir}/Dockerfile`]) {
        await assert.rejects(
          customAgentImageSpec({ dockerfilePath: path, version: "1", baseImage: "b", home: dir }),
          (e: unknown) => e instanceof Error && /holds the bot-bottle home/.test(e.message),
          path,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
