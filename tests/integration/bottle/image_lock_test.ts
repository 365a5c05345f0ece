/**
 * Building images with the real engine, several at once: with a build lock directory, concurrent
 * `ensureImage` calls for one image run one build and the others wait and reuse it (without the
 * lock, each builds: the control); two configurations keep their own hash-named tags and never
 * rebuild each other's; an image an older bot-bottle built under the name without the hash is
 * tagged and reused; `cleanup`'s image half removes an untagged build. The images are tiny
 * (one `RUN` on the Debian base), named and labelled per test session, and swept at the end.
 */
import assert from "node:assert/strict";
import { ensureImage } from "../../../src/bottle/image_build.ts";
import { planImageCleanup, removeImages } from "../../../src/bottle/image_cleanup.ts";
import {
  buildHash,
  hashedImageName,
  imageContext,
  type ImageSpec,
} from "../../../src/bottle/image_spec.ts";
import { baseImages } from "../../../src/bottle/base_images.ts";
import { containerCreate, imageBuild, imageInspect, LABELS } from "../../../src/engine/mod.ts";
import { type EngineFixture, engineFixture, engineTest } from "../../helpers/engine.ts";

const BASE = baseImages().debian;

/** A one-step image; `value` changes its content (another "configuration"). */
async function tinySpec(fx: EngineFixture, value: string, base?: string): Promise<ImageSpec> {
  const spec: ImageSpec = {
    name: "",
    dockerfile: `ARG BASE\nFROM \${BASE}\nARG VALUE\nRUN echo "\${VALUE}" > /value\n`,
    files: [],
    buildArgs: { BASE, VALUE: `${fx.sessionId}-${value}` },
    labels: { ...fx.labels, [LABELS.version]: "0.0.0-test" },
  };
  spec.name = hashedImageName(base ?? `${fx.name("lock")}:1`, await buildHash(spec));
  return spec;
}

async function lockDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "bot-bottle-locks-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

engineTest("four concurrent ensureImage calls under one lock directory build once", async () => {
  await using fx = await engineFixture();
  await using locks = await lockDir();
  const spec = await tinySpec(fx, "once");
  const builds: string[] = [];
  const waits: string[] = [];
  const results = await Promise.all(
    Array.from({ length: 4 }, () =>
      ensureImage(fx.client, spec, {
        lockDir: locks.path,
        onBuild: (name) => builds.push(name),
        onWait: (name) => waits.push(name),
      })),
  );
  assert.deepEqual(builds, [spec.name]);
  assert.equal(results.filter((r) => r.built).length, 1);
  assert.equal(new Set(results.map((r) => r.id)).size, 1);
  assert.ok(results.filter((r) => !r.built).every((r) => r.waited), "the others waited");
  assert.ok(waits.length >= 1 && waits.every((n) => n === spec.name));
  const inspected = await imageInspect(fx.client, spec.name);
  assert.equal(inspected.Config.Labels?.[LABELS.buildHash], await buildHash(spec));
});

engineTest("without a lock directory, concurrent calls each build (the control)", async () => {
  await using fx = await engineFixture();
  const spec = await tinySpec(fx, "unlocked");
  const results = await Promise.all(
    Array.from({ length: 2 }, () => ensureImage(fx.client, spec)),
  );
  assert.equal(results.filter((r) => r.built).length, 2);
});

engineTest("two configurations keep their own tags and do not rebuild each other's", async () => {
  await using fx = await engineFixture();
  await using locks = await lockDir();
  const base = `${fx.name("config")}:1`;
  const a = await tinySpec(fx, "ca-one", base);
  const b = await tinySpec(fx, "ca-two", base);
  assert.notEqual(a.name, b.name);
  const firstA = await ensureImage(fx.client, a, { lockDir: locks.path });
  const firstB = await ensureImage(fx.client, b, { lockDir: locks.path });
  assert.equal(firstA.built, true);
  assert.equal(firstB.built, true);
  const againA = await ensureImage(fx.client, a, { lockDir: locks.path });
  const againB = await ensureImage(fx.client, b, { lockDir: locks.path });
  assert.equal(againA.built, false);
  assert.equal(againA.id, firstA.id);
  assert.equal(againB.built, false);
  assert.equal(againB.id, firstB.id);
  assert.equal((await imageInspect(fx.client, a.name)).Id, firstA.id);
});

engineTest("an image built under the name without the hash is tagged and reused", async () => {
  await using fx = await engineFixture();
  const spec = await tinySpec(fx, "legacy");
  const legacy = spec.name.replace(/-[0-9a-f]{12}$/, "");
  const old = await ensureImage(fx.client, { ...spec, name: legacy });
  assert.equal(old.built, true);
  const now = await ensureImage(fx.client, spec);
  assert.equal(now.built, false);
  assert.equal(now.id, old.id);
  assert.equal((await imageInspect(fx.client, spec.name)).Id, old.id);
});

engineTest("cleanup's image half removes an untagged build and keeps the current one", async () => {
  await using fx = await engineFixture();
  const spec = await tinySpec(fx, "kept");
  const current = await ensureImage(fx.client, spec);
  // What two launches building the same image at once used to leave: a build whose tag another
  // build took, untagged.
  const other = await tinySpec(fx, "orphan");
  const { id: orphan } = await imageBuild(fx.client, imageContext(other), {
    labels: { ...other.labels, [LABELS.buildHash]: await buildHash(other) },
    buildArgs: other.buildArgs,
  });
  const candidates = await planImageCleanup(fx.client, { version: "0.0.0-test", now: Date.now() });
  const mine = candidates.filter((c) => c.id === orphan || c.id === current.id);
  assert.deepEqual(mine.map((c) => [c.id, c.reason]), [
    [orphan, "untagged: a later build took its name"],
  ]);
  assert.deepEqual(await removeImages(fx.client, mine), { removed: 1, inUse: 0, failures: [] });
  await assert.rejects(imageInspect(fx.client, orphan));
  assert.equal((await imageInspect(fx.client, spec.name)).Id, current.id);
});

engineTest("cleanup's image half keeps an image in use and reports any other refusal", async () => {
  await using fx = await engineFixture();
  const build = async (value: string) => {
    const spec = await tinySpec(fx, value);
    const { id } = await imageBuild(fx.client, imageContext(spec), {
      labels: { ...spec.labels, [LABELS.buildHash]: await buildHash(spec) },
      buildArgs: spec.buildArgs,
    });
    return id;
  };
  const used = await build("used");
  await containerCreate(fx.client, fx.name("user"), {
    Image: used,
    Cmd: ["true"],
    Labels: fx.labels,
  });
  const candidates = await planImageCleanup(fx.client, { version: "0.0.0-test", now: Date.now() });
  const mine = candidates.filter((c) => c.id === used);
  assert.equal(mine.length, 1);
  // In use (409): kept, not a failure.
  assert.deepEqual(await removeImages(fx.client, mine), { removed: 0, inUse: 1, failures: [] });
  assert.equal((await imageInspect(fx.client, used)).Id, used);
  // Any other refusal (here a 400) is that image's failure with the engine's reason; the next
  // candidate is still removed.
  const gone = await build("gone");
  const result = await removeImages(fx.client, [
    { id: used, names: ["Not A Valid:name"], reason: "test" },
    { id: gone, names: [], reason: "test" },
  ]);
  assert.equal(result.removed, 1);
  assert.equal(result.inUse, 0);
  assert.equal(result.failures.length, 1);
  assert.equal(result.failures[0].image, "Not A Valid:name");
  assert.match(result.failures[0].message, /invalid reference format/);
  await assert.rejects(imageInspect(fx.client, gone));
});
