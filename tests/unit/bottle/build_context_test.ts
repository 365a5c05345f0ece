import assert from "node:assert/strict";
import { customAgentImageSpec } from "../../../src/bottle/build_context.ts";
import { buildHash, DEFAULT_NPM_REGISTRY, type ImageSpec } from "../../../src/bottle/image_spec.ts";
import { LABELS } from "../../../src/engine/mod.ts";
import { listAssetsRecursive, readAsset } from "../../../src/lib/assets.ts";
import { ConfigError } from "../../../src/lib/errors.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const paths = (spec: ImageSpec) => spec.files.map((f) => f.path);

Deno.test("customAgentImageSpec: the Dockerfile's directory is the context, named by hash", async () => {
  const spec = await customAgentImageSpec({
    dockerfilePath: "src/bottle/images/agent-shell.Dockerfile",
    version: "0.1.0",
    baseImage: "node:22-slim",
  });
  assert.match(spec.name, /^bot-bottle-custom-[0-9a-f]{12}:0\.1\.0$/);
  assert.equal(spec.name.slice(18, 30), (await buildHash(spec)).slice(0, 12));
  assert.equal(spec.dockerfilePath, "agent-shell.Dockerfile");
  assert.equal(spec.dockerfile, dec(await readAsset("src/bottle/images/agent-shell.Dockerfile")));
  const siblings = (await listAssetsRecursive("src/bottle/images"))
    .filter((p) => p !== "agent-shell.Dockerfile");
  assert.deepEqual(paths(spec), [".bot-bottle-extra-ca", ...siblings]);
  assert.deepEqual(spec.buildArgs, {
    BASE_IMAGE: "node:22-slim",
    NPM_REGISTRY: DEFAULT_NPM_REGISTRY,
  });
  assert.deepEqual(spec.labels, { [LABELS.version]: "0.1.0" });
  const other = await customAgentImageSpec({
    dockerfilePath: "src/bottle/images/agent-shell.Dockerfile",
    version: "0.1.0",
    baseImage: "mirror/node:22",
  });
  assert.notEqual(other.name, spec.name, "different input, different name");
});

Deno.test("customAgentImageSpec names a missing or non-file Dockerfile in a ConfigError", async () => {
  await assert.rejects(
    customAgentImageSpec({
      dockerfilePath: "/nonexistent/agent/Dockerfile",
      version: "1",
      baseImage: "b",
    }),
    (e: unknown) =>
      e instanceof ConfigError && e.exitCode === 3 &&
      e.message ===
        'Cannot read the agent Dockerfile "/nonexistent/agent/Dockerfile": no such file' &&
      e.hint!.includes("agent_provider.dockerfile"),
  );
  await assert.rejects(
    customAgentImageSpec({ dockerfilePath: "src/bottle/images", version: "1", baseImage: "b" }),
    (e: unknown) => e instanceof ConfigError && /"src\/bottle\/images": not a file/.test(e.message),
  );
});

Deno.test("customAgentImageSpec refuses a context holding the bot-bottle home, or too big", async () => {
  const dockerfilePath = "src/bottle/images/agent-shell.Dockerfile";
  for (const home of ["src/bottle/images", "src/bottle/images/nested-home"]) {
    await assert.rejects(
      customAgentImageSpec({ dockerfilePath, version: "1", baseImage: "b", home }),
      (e: unknown) => e instanceof ConfigError && /holds the bot-bottle home/.test(e.message),
      home,
    );
  }
  await customAgentImageSpec({ dockerfilePath, version: "1", baseImage: "b", home: "src/lib" });
  await assert.rejects(
    customAgentImageSpec({ dockerfilePath, version: "1", baseImage: "b", maxContextBytes: 100 }),
    (e: unknown) => e instanceof ConfigError && /more than 100 bytes/.test(e.message),
  );
});
