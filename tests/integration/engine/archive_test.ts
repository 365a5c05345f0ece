import assert from "node:assert/strict";
import {
  containerArchiveGet,
  containerArchivePut,
  containerCreate,
  containerStart,
  EngineError,
  EngineNotFoundError,
  execRun,
  tarCreate,
  tarRead,
  volumeCreate,
} from "../../../src/engine/mod.ts";
import { engineFixture, engineTest } from "../../helpers/engine.ts";
import { dec } from "../../helpers/bytes.ts";

const BASE = "debian:bookworm-slim";
const LONG_DIR = `deep/${"d".repeat(60)}/${"e".repeat(60)}`;
const LONG_FILE = `${LONG_DIR}/${"f".repeat(120)}.txt`; // > 255 bytes in total: needs PAX

function bundle() {
  return tarCreate([
    { path: "bundle", type: "dir", uid: 1000, gid: 1000, mode: 0o750 },
    {
      path: "bundle/hello.txt",
      data: "hello\n",
      uid: 1000,
      gid: 1000,
      mode: 0o640,
      mtime: 1_700_000_000,
    },
    { path: "bundle/run.sh", data: "#!/bin/sh\necho ran\n", mode: 0o755 },
    { path: "bundle/link", type: "symlink", linkname: "hello.txt" },
    { path: `bundle/${LONG_DIR}`, type: "dir", uid: 1000, gid: 1000 },
    { path: `bundle/${LONG_FILE}`, data: "long\n", uid: 1000, gid: 1000 },
  ]);
}

async function gnuTarList(
  bytes: Uint8Array,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command("tar", {
    args: ["-tvf", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  const out = await child.output();
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

async function runningContainer(fx: Awaited<ReturnType<typeof engineFixture>>, extra = {}) {
  const { Id } = await containerCreate(fx.client, fx.name("archive"), {
    Image: BASE,
    Cmd: ["sleep", "300"],
    Labels: fx.labels,
    ...extra,
  });
  await containerStart(fx.client, Id);
  return Id;
}

engineTest("GNU tar accepts the archives tarCreate writes", async () => {
  const listed = await gnuTarList(bundle());
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stderr, "");
  assert.match(listed.stdout, /^drwxr-x--- 1000\/1000 +0 .* bundle\/$/m);
  assert.match(listed.stdout, /^-rw-r----- 1000\/1000 +6 2023-11-1\d .* bundle\/hello\.txt$/m);
  assert.match(listed.stdout, /^lrwxrwxrwx 0\/0 .* bundle\/link -> hello\.txt$/m);
  assert.ok(listed.stdout.includes(`bundle/${LONG_FILE}`), "the PAX long name is read by GNU tar");
});

engineTest(
  "containerArchivePut extracts with tar-header owners and modes; get returns them",
  async () => {
    await using fx = await engineFixture();
    const id = await runningContainer(fx);
    await containerArchivePut(fx.client, id, "/tmp", bundle());
    const stat = await execRun(fx.client, id, [
      "stat",
      "-c",
      "%u:%g %a %F %n",
      "/tmp/bundle",
      "/tmp/bundle/hello.txt",
      "/tmp/bundle/run.sh",
      `/tmp/bundle/${LONG_FILE}`,
    ]);
    assert.equal(stat.exitCode, 0, stat.stderrText);
    assert.deepEqual(stat.stdoutText.trim().split("\n"), [
      "1000:1000 750 directory /tmp/bundle",
      "1000:1000 640 regular file /tmp/bundle/hello.txt",
      "0:0 755 regular file /tmp/bundle/run.sh",
      `1000:1000 644 regular file /tmp/bundle/${LONG_FILE}`,
    ]);
    const ran = await execRun(fx.client, id, ["/tmp/bundle/run.sh"]);
    assert.equal(ran.stdoutText, "ran\n");
    assert.equal(
      (await execRun(fx.client, id, ["readlink", "/tmp/bundle/link"])).stdoutText,
      "hello.txt\n",
    );

    const { tar, stat: pathStat } = await containerArchiveGet(fx.client, id, "/tmp/bundle");
    assert.equal(pathStat?.name, "bundle");
    assert.equal(pathStat?.isDir, true);
    assert.equal(pathStat?.permissions, 0o750);
    const entries = new Map(tarRead(tar).map((e) => [e.path.replace(/\/$/, ""), e]));
    assert.equal(dec(entries.get("bundle/hello.txt")!.data), "hello\n");
    assert.equal(entries.get("bundle/hello.txt")!.uid, 1000);
    assert.equal(entries.get("bundle/hello.txt")!.mode & 0o777, 0o640);
    assert.equal(entries.get("bundle/hello.txt")!.mtime, 1_700_000_000);
    assert.equal(entries.get("bundle/link")!.type, "symlink");
    assert.equal(entries.get("bundle/link")!.linkname, "hello.txt");
    assert.equal(dec(entries.get(`bundle/${LONG_FILE}`)!.data), "long\n");
    assert.equal(entries.get("bundle")!.type, "dir");

    const listed = await gnuTarList(tar);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes(`bundle/${LONG_FILE}`));
  },
);

engineTest("containerArchiveGet of a single file carries its stat header", async () => {
  await using fx = await engineFixture();
  const id = await runningContainer(fx);
  const { tar, stat } = await containerArchiveGet(fx.client, id, "/etc/hostname");
  assert.equal(stat?.name, "hostname");
  assert.equal(stat?.isDir, false);
  const [entry] = tarRead(tar);
  assert.equal(entry.path, "hostname");
  assert.equal(entry.size, stat?.size);
});

engineTest("containerArchiveGet of a missing path is EngineNotFoundError", async () => {
  await using fx = await engineFixture();
  const id = await runningContainer(fx);
  await assert.rejects(containerArchiveGet(fx.client, id, "/no/such/path"), (e: unknown) => {
    assert.ok(e instanceof EngineNotFoundError);
    assert.ok(e.message.startsWith(`Cannot copy "/no/such/path" out of container "${id}": `));
    return true;
  });
});

engineTest("containerArchivePut into a read-only volume mount fails (LESSONS 35)", async () => {
  await using fx = await engineFixture();
  const volume = fx.name("ro");
  await volumeCreate(fx.client, volume, { labels: fx.labels });
  const id = await runningContainer(fx, {
    HostConfig: { Mounts: [{ Type: "volume", Source: volume, Target: "/config", ReadOnly: true }] },
  });
  await assert.rejects(
    containerArchivePut(fx.client, id, "/config", tarCreate([{ path: "x", data: "x" }])),
    (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.exitCode, 4);
      assert.ok(e.message.startsWith(`Cannot copy files into container "${id}" at "/config": `));
      assert.match(e.message, /read-only/);
      return true;
    },
  );
});
