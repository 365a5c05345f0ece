import assert from "node:assert/strict";
import {
  checkProgressMessage,
  consumeProgress,
  JsonLineSplitter,
  progressText,
} from "../../../src/engine/progress.ts";
import { buildImageId } from "../../../src/engine/build.ts";
import { EngineApiError } from "../../../src/engine/errors.ts";

function streamOf(texts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const t of texts) controller.enqueue(enc.encode(t));
      controller.close();
    },
  });
}

const BUILD_OK = [
  '{"stream":"Step 1/2 : FROM debian:bookworm-slim"}\n{"stream":"\\n"}\n',
  '{"stream":" ---\\u003e 3a0d5a9b820b\\n"}\n{"aux":{"ID":"sha256:',
  'abc123"}}\n{"stream":"Successfully built abc123\\n"}\n',
];

const BUILD_FAILED = [
  '{"stream":"Step 2/2 : RUN false"}\n',
  '{"stream":"\\n"}\n{"stream":" ---\\u003e Running in 5e2\\n"}\n',
  '{"errorDetail":{"code":1,"message":"The command \'/bin/sh -c false\' returned a non-zero code: 1"},"error":"The command \'/bin/sh -c false\' returned a non-zero code: 1"}\n',
];

Deno.test("JsonLineSplitter joins lines split across chunks", () => {
  const splitter = new JsonLineSplitter();
  assert.deepEqual(splitter.push('{"status":"a"}\n{"sta'), [{ status: "a" }]);
  assert.deepEqual(splitter.push('tus":"b"}\r\n'), [{ status: "b" }]);
  assert.deepEqual(splitter.push('{"status":"c"}'), []);
  assert.deepEqual(splitter.flush(), [{ status: "c" }]);
});

Deno.test("JsonLineSplitter keeps a non-JSON line as stream text", () => {
  assert.deepEqual(new JsonLineSplitter().push("plain text\n"), [{ stream: "plain text" }]);
});

Deno.test("progressText formats stream and status lines", () => {
  assert.equal(progressText({ stream: "Step 1/2\n" }), "Step 1/2");
  assert.equal(
    progressText({ status: "Downloading", id: "abc", progress: "[=>]" }),
    "abc: Downloading [=>]",
  );
  assert.equal(progressText({ aux: { ID: "x" } }), undefined);
});

Deno.test("checkProgressMessage throws on error and errorDetail lines", () => {
  assert.doesNotThrow(() => checkProgressMessage({ stream: "ok" }, "Cannot build image"));
  assert.throws(
    () => checkProgressMessage({ errorDetail: { message: "bad\nmore" } }, 'Cannot build image "x"'),
    (e: unknown) => e instanceof EngineApiError && e.message === 'Cannot build image "x": bad',
  );
  assert.throws(() => checkProgressMessage({ error: "only error" }, "A"), /A: only error/);
});

Deno.test("consumeProgress passes every readable line to onProgress and returns all messages", async () => {
  const lines: string[] = [];
  const messages = await consumeProgress(streamOf(BUILD_OK), {
    action: "Cannot build image",
    onProgress: (line) => lines.push(line),
  });
  assert.deepEqual(lines, [
    "Step 1/2 : FROM debian:bookworm-slim",
    " ---> 3a0d5a9b820b",
    "Successfully built abc123",
  ]);
  assert.equal(buildImageId(messages), "sha256:abc123");
});

Deno.test("a build stream that answered 200 but carries errorDetail throws", async () => {
  const lines: string[] = [];
  await assert.rejects(
    consumeProgress(streamOf(BUILD_FAILED), {
      action: 'Cannot build image "t:1"',
      onProgress: (l) => lines.push(l),
    }),
    (e: unknown) => {
      assert.ok(e instanceof EngineApiError);
      assert.equal(e.exitCode, 4);
      assert.equal(
        e.message,
        `Cannot build image "t:1": The command '/bin/sh -c false' returned a non-zero code: 1`,
      );
      return true;
    },
  );
  assert.equal(lines[0], "Step 2/2 : RUN false", "lines before the error still reach onProgress");
});

Deno.test("buildImageId falls back to the Successfully built line", () => {
  assert.equal(buildImageId([{ stream: "Successfully built 0123456789ab\n" }]), "0123456789ab");
  assert.equal(buildImageId([{ stream: "nothing" }]), undefined);
});

Deno.test("stream text is split into whole lines however the engine cuts it", async () => {
  const lines: string[] = [];
  await consumeProgress(
    streamOf([
      '{"stream":"built for tests\\nhello from"}\n',
      '{"stream":" the context\\n"}\n{"status":"Pulling fs layer","id":"l1"}\n',
      '{"stream":"no newline at the end"}',
    ]),
    { action: "Cannot build image", onProgress: (line) => lines.push(line) },
  );
  assert.deepEqual(lines, [
    "built for tests",
    "hello from the context",
    "l1: Pulling fs layer",
    "no newline at the end",
  ]);
});
