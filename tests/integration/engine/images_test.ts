import assert from "node:assert/strict";
import {
  EngineApiError,
  EngineNotFoundError,
  imageBuild,
  imageImport,
  imageInspect,
  imageList,
  imageRemove,
  imageTag,
  tarCreate,
} from "../../../src/engine/mod.ts";
import { engineFixture, engineTest, TEST_SESSION_LABEL } from "../../helpers/engine.ts";

const BASE = "debian:bookworm-slim";

engineTest("imageImport streams a tar, applies changes and reports progress", async () => {
  await using fx = await engineFixture();
  const repo = fx.name("import");
  const tar = tarCreate([{ path: "hello.txt", data: "hello\n" }]);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(tar.subarray(0, 700));
      controller.enqueue(tar.subarray(700));
      controller.close();
    },
  });
  const lines: string[] = [];
  const { id } = await imageImport(fx.client, body, repo, "v1", {
    changes: [
      'CMD ["/hello.txt"]',
      "USER 1000",
      "ENV GREETING=hi",
      `LABEL ${TEST_SESSION_LABEL}=${fx.sessionId}`,
    ],
    message: "bot-bottle test import",
    onProgress: (line) => lines.push(line),
  });
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.ok(lines.includes(id), "the final status line (the id) reached onProgress");
  const image = await imageInspect(fx.client, `${repo}:v1`);
  assert.equal(image.Id, id);
  assert.deepEqual(image.RepoTags, [`${repo}:v1`]);
  assert.deepEqual(image.Config.Cmd, ["/hello.txt"]);
  assert.equal(image.Config.User, "1000");
  assert.ok(image.Config.Env?.includes("GREETING=hi"));
  assert.equal(image.Config.Labels?.[TEST_SESSION_LABEL], fx.sessionId);
});

engineTest("imageTag adds a tag, imageList finds by label, imageRemove deletes", async () => {
  await using fx = await engineFixture();
  const repo = fx.name("tag");
  const { id } = await imageImport(fx.client, tarCreate([{ path: "f", data: "x" }]), repo, "a", {
    changes: [`LABEL ${TEST_SESSION_LABEL}=${fx.sessionId}`],
  });
  await imageTag(fx.client, id, repo, "b");
  assert.deepEqual((await imageInspect(fx.client, id)).RepoTags.sort(), [`${repo}:a`, `${repo}:b`]);
  const listed = await imageList(fx.client, { labels: fx.labels });
  assert.deepEqual(listed.map((i) => i.Id), [id]);
  assert.equal(
    (await imageList(fx.client, { labels: { [TEST_SESSION_LABEL]: "other" } })).length,
    0,
  );
  await imageRemove(fx.client, id, { force: true });
  await assert.rejects(imageInspect(fx.client, id), EngineNotFoundError);
});

engineTest("imageInspect of a missing image is EngineNotFoundError with exit 6", async () => {
  await using fx = await engineFixture();
  const name = `${fx.name("missing")}:none`;
  await assert.rejects(imageInspect(fx.client, name), (e: unknown) => {
    assert.ok(e instanceof EngineNotFoundError);
    assert.equal(e.exitCode, 6);
    assert.equal(e.status, 404);
    assert.ok(e.message.startsWith(`Cannot inspect image "${name}": `), e.message);
    assert.match(e.message, /No such image/);
    return true;
  });
});

engineTest(
  "imageBuild builds an in-memory context with args, labels and a custom Dockerfile path",
  async () => {
    await using fx = await engineFixture();
    const tag = `${fx.name("build")}:1`;
    const context = tarCreate([
      {
        path: "build/Custom.Dockerfile",
        data: [
          `FROM ${BASE}`,
          "COPY greeting.txt /greeting.txt",
          "ARG WHO",
          'RUN echo "built for $WHO" && cat /greeting.txt',
          "LABEL stage=test",
        ].join("\n"),
      },
      { path: "greeting.txt", data: "hello from the context\n" },
    ]);
    const lines: string[] = [];
    const { id } = await imageBuild(fx.client, context, {
      tag,
      dockerfile: "build/Custom.Dockerfile",
      buildArgs: { WHO: "tests" },
      labels: { ...fx.labels, "io.bot-bottle.build-hash": "abc" },
      onProgress: (line) => lines.push(line),
    });
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.ok(
      lines.some((l) => /^Step 1\/\d+ : FROM debian:bookworm-slim$/.test(l)),
      lines.join("\n"),
    );
    assert.ok(lines.some((l) => l.trim() === "built for tests"), "RUN output reaches onProgress");
    assert.ok(lines.some((l) => l.trim() === "hello from the context"));
    const image = await imageInspect(fx.client, tag);
    assert.equal(image.Id, id);
    assert.equal(image.Config.Labels?.stage, "test");
    assert.equal(image.Config.Labels?.["io.bot-bottle.build-hash"], "abc");
    assert.equal(image.Config.Labels?.[TEST_SESSION_LABEL], fx.sessionId);
  },
);

engineTest("imageBuild throws when a RUN step fails although the engine answered 200", async () => {
  await using fx = await engineFixture();
  const tag = `${fx.name("fail")}:1`;
  const context = tarCreate([{
    path: "Dockerfile",
    data: `FROM ${BASE}\nRUN echo before && false\n`,
  }]);
  const lines: string[] = [];
  await assert.rejects(
    imageBuild(fx.client, context, { tag, labels: fx.labels, onProgress: (l) => lines.push(l) }),
    (e: unknown) => {
      assert.ok(e instanceof EngineApiError);
      assert.equal(e.exitCode, 4);
      assert.ok(e.message.startsWith(`Cannot build image "${tag}": `), e.message);
      assert.match(e.message, /returned a non-zero code: 1/);
      return true;
    },
  );
  assert.ok(lines.some((l) => l.trim() === "before"), "output before the failure was surfaced");
  await assert.rejects(imageInspect(fx.client, tag), EngineNotFoundError);
});

engineTest("imageBuild reports a Dockerfile syntax error as a typed error", async () => {
  await using fx = await engineFixture();
  const context = tarCreate([{ path: "Dockerfile", data: "FROMM nothing\n" }]);
  await assert.rejects(imageBuild(fx.client, context, { labels: fx.labels }), (e: unknown) => {
    assert.ok(e instanceof Error && "exitCode" in e && e.exitCode === 4);
    assert.match(e.message, /^Cannot build image: .*FROMM/i);
    return true;
  });
});
