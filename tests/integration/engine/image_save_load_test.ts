import assert from "node:assert/strict";
import {
  EngineApiError,
  EngineNotFoundError,
  imageCopy,
  imageImport,
  imageInspect,
  imageLoad,
  imageRemove,
  imageSave,
  tarCreate,
  tarRead,
} from "../../../src/engine/mod.ts";
import { readAllBytes } from "../../../src/engine/bytes.ts";
import { engineFixture, engineTest, TEST_SESSION_LABEL } from "../../helpers/engine.ts";

engineTest(
  "imageSave streams a docker save tar that imageLoad restores with its tags",
  async () => {
    await using fx = await engineFixture();
    const repo = fx.name("save");
    const label = `LABEL ${TEST_SESSION_LABEL}=${fx.sessionId}`;
    const a = await imageImport(fx.client, tarCreate([{ path: "a", data: "a" }]), repo, "a", {
      changes: [label],
    });
    const b = await imageImport(fx.client, tarCreate([{ path: "b", data: "b" }]), repo, "b", {
      changes: [label],
    });
    const tar = await readAllBytes(await imageSave(fx.client, [`${repo}:a`, `${repo}:b`]));
    const entries = tarRead(tar);
    const manifest = JSON.parse(
      new TextDecoder().decode(entries.find((e) => e.path === "manifest.json")!.data),
    ) as { RepoTags: string[] }[];
    assert.deepEqual(manifest.flatMap((m) => m.RepoTags).sort(), [`${repo}:a`, `${repo}:b`]);

    await imageRemove(fx.client, a.id, { force: true });
    await imageRemove(fx.client, b.id, { force: true });
    await assert.rejects(imageInspect(fx.client, `${repo}:a`), EngineNotFoundError);
    const { loaded } = await imageLoad(fx.client, tar);
    assert.deepEqual(loaded.sort(), [`${repo}:a`, `${repo}:b`]);
    assert.equal((await imageInspect(fx.client, `${repo}:a`)).Id, a.id, "the same image id");
    assert.equal((await imageInspect(fx.client, `${repo}:b`)).Id, b.id);

    // imageCopy to the same engine: streamed through, every name reported, bytes counted.
    const copied = await imageCopy(fx.client, fx.client, [`${repo}:a`]);
    assert.deepEqual(copied.loaded, [`${repo}:a`]);
    assert.ok(copied.bytes > 0);
  },
);

engineTest("imageSave of a missing image is EngineNotFoundError naming it", async () => {
  await using fx = await engineFixture();
  const name = `${fx.name("nosave")}:none`;
  await assert.rejects(imageSave(fx.client, [name]), (e: unknown) => {
    assert.ok(e instanceof EngineNotFoundError, String(e));
    assert.ok(e.message.startsWith(`Cannot export images "${name}": `), e.message);
    return true;
  });
});

engineTest("imageLoad of a tar that is not a docker save is EngineApiError", async () => {
  await using fx = await engineFixture();
  const junk = tarCreate([{ path: "hello.txt", data: "not an image\n" }]);
  await assert.rejects(imageLoad(fx.client, junk), (e: unknown) => {
    assert.ok(e instanceof EngineApiError, String(e));
    assert.ok(e.message.startsWith("Cannot load images: "), e.message);
    return true;
  });
});
