import assert from "node:assert/strict";
import { parsePathStat } from "../../../src/engine/archive.ts";
import { EngineApiError } from "../../../src/engine/errors.ts";

const header = (value: unknown) => btoa(JSON.stringify(value));

Deno.test("parsePathStat decodes a file's stat header", () => {
  const stat = parsePathStat(
    header({
      name: "hello.txt",
      size: 3,
      mode: 0o640,
      mtime: "2024-01-01T00:00:00Z",
      linkTarget: "",
    }),
  );
  assert.deepEqual(stat, {
    name: "hello.txt",
    size: 3,
    mode: 0o640,
    mtime: "2024-01-01T00:00:00Z",
    linkTarget: "",
    isDir: false,
    isSymlink: false,
    permissions: 0o640,
  });
});

Deno.test("parsePathStat recognises Go's directory and symlink mode bits", () => {
  const dir = parsePathStat(header({ name: "etc", size: 4096, mode: 2 ** 31 + 0o755 }));
  assert.equal(dir.isDir, true);
  assert.equal(dir.permissions, 0o755);
  const link = parsePathStat(header({ name: "l", mode: 2 ** 27 + 0o777, linkTarget: "/x" }));
  assert.equal(link.isSymlink, true);
  assert.equal(link.isDir, false);
  assert.equal(link.linkTarget, "/x");
});

Deno.test("parsePathStat rejects a header that is not base64 JSON", () => {
  assert.throws(() => parsePathStat("%%%"), EngineApiError);
  assert.throws(() => parsePathStat(btoa("not json")), EngineApiError);
});
