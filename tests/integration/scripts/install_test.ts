/**
 * scripts/install.sh against a local HTTP server serving fake release directories, the way
 * `deno task compile:all` lays one out (`bot-bottle-<target>` per target, `SHA256SUMS` written by
 * scripts/release.ts's `writeChecksums`). `uname` is a fake on `PATH`, so each platform is tried
 * on this machine. The "binaries" are small shell scripts that print their target.
 *
 * Releases served: `/good/` (consistent), `/tampered/` (one binary changed after its checksum
 * was written), `/incomplete/` (SHA256SUMS without the binary's line).
 */
import assert from "node:assert/strict";
import { assetName, TARGETS, writeChecksums } from "../../../scripts/release.ts";

const INSTALL = new URL("../../../scripts/install.sh", import.meta.url).pathname;

interface Fixture extends AsyncDisposable {
  root: string;
  url: string;
  requests: string[];
}

async function writeRelease(dir: string, mutate?: (dir: string) => Promise<void>) {
  await Deno.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const target of TARGETS) {
    const file = `${dir}/${assetName(target)}`;
    await Deno.writeTextFile(file, `#!/bin/sh\necho "fake bot-bottle for ${target}"\n`);
    files.push(file);
  }
  await writeChecksums(dir, files);
  await mutate?.(dir);
}

async function fixture(): Promise<Fixture> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "bot-bottle-install-" }));
  await writeRelease(`${root}/srv/good`);
  await writeRelease(`${root}/srv/tampered`, async (dir) => {
    const file = `${dir}/${assetName("x86_64-unknown-linux-gnu")}`;
    await Deno.writeTextFile(file, "#!/bin/sh\necho tampered\n");
  });
  await writeRelease(`${root}/srv/incomplete`, async (dir) => {
    const sums = await Deno.readTextFile(`${dir}/SHA256SUMS`);
    const kept = sums.split("\n").filter((l) => !l.endsWith("x86_64-unknown-linux-gnu"));
    await Deno.writeTextFile(`${dir}/SHA256SUMS`, kept.join("\n"));
  });
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    if (path.includes("..")) return new Response("no", { status: 400 });
    try {
      return new Response(await Deno.readFile(`${root}/srv${path}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  await Deno.mkdir(`${root}/bin`);
  return {
    root,
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** A fake `uname` answering `-s` and `-m`. */
async function fakeUname(fx: Fixture, os: string, arch: string): Promise<void> {
  await Deno.writeTextFile(
    `${fx.root}/bin/uname`,
    `#!/bin/sh\ncase "$1" in -s) echo ${os} ;; -m) echo ${arch} ;; *) echo ${os} ;; esac\n`,
    { mode: 0o755 },
  );
}

async function install(fx: Fixture, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command("sh", {
    args: [INSTALL, ...args],
    clearEnv: true,
    env: { PATH: `${fx.root}/bin:${Deno.env.get("PATH")}`, HOME: `${fx.root}/home`, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

async function runInstalled(path: string): Promise<string> {
  const out = await new Deno.Command(path, { stdout: "piped" }).output();
  assert.ok(out.success);
  return new TextDecoder().decode(out.stdout);
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

Deno.test("install.sh picks the binary for each platform, checks it and installs it", async () => {
  await using fx = await fixture();
  const cases: [string, string, string][] = [
    ["Linux", "x86_64", "x86_64-unknown-linux-gnu"],
    ["Linux", "aarch64", "aarch64-unknown-linux-gnu"],
    ["Linux", "arm64", "aarch64-unknown-linux-gnu"],
    ["Darwin", "x86_64", "x86_64-apple-darwin"],
    ["Darwin", "arm64", "aarch64-apple-darwin"],
  ];
  for (const [os, arch, target] of cases) {
    await fakeUname(fx, os, arch);
    const dir = `${fx.root}/out-${os}-${arch}`;
    const r = await install(fx, ["--url", `${fx.url}/good/`, "--dir", dir]);
    assert.equal(r.code, 0, `${os} ${arch}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^installed ${assetName(target)} \\(sha256 [0-9a-f]{64}\\)`));
    assert.equal(r.stderr, "");
    assert.equal(await runInstalled(`${dir}/bot-bottle`), `fake bot-bottle for ${target}\n`);
    assert.equal((await Deno.stat(`${dir}/bot-bottle`)).mode! & 0o777, 0o755);
    assert.deepEqual(await entries(dir), ["bot-bottle"]);
  }
  assert.ok(fx.requests.includes("/good/SHA256SUMS"));
  assert.ok(fx.requests.includes("/good/bot-bottle-aarch64-apple-darwin"));
});

Deno.test("install.sh installs to ~/.local/bin by default and takes the URL from the environment", async () => {
  await using fx = await fixture();
  await fakeUname(fx, "Linux", "x86_64");
  const r = await install(fx, [], { BOT_BOTTLE_RELEASE_URL: `${fx.url}/good` });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    await runInstalled(`${fx.root}/home/.local/bin/bot-bottle`),
    "fake bot-bottle for x86_64-unknown-linux-gnu\n",
  );
  assert.match(r.stdout, /note: .*\/home\/\.local\/bin is not on PATH/);
});

Deno.test("install.sh refuses a binary whose checksum does not match, and installs nothing", async () => {
  await using fx = await fixture();
  await fakeUname(fx, "Linux", "x86_64");
  const dir = `${fx.root}/out`;
  // A working install first: a refused update must leave it in place.
  const good = await install(fx, ["--url", `${fx.url}/good`, "--dir", dir]);
  assert.equal(good.code, 0, good.stderr);
  const r = await install(fx, ["--url", `${fx.url}/tampered`, "--dir", dir]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^bot-bottle install: error: checksum mismatch for "bot-bottle-x86_64-unknown-linux-gnu": expected [0-9a-f]{64}, got [0-9a-f]{64}; nothing installed\n {2}hint: /,
  );
  assert.equal(r.stdout, "");
  assert.equal(
    await runInstalled(`${dir}/bot-bottle`),
    "fake bot-bottle for x86_64-unknown-linux-gnu\n",
  );
  assert.deepEqual(await entries(dir), ["bot-bottle"]);
  // Another platform's binary in the same release is intact and installs.
  await fakeUname(fx, "Darwin", "arm64");
  const other = await install(fx, ["--url", `${fx.url}/tampered`, "--dir", `${fx.root}/mac`]);
  assert.equal(other.code, 0, other.stderr);
});

Deno.test("install.sh refuses a binary SHA256SUMS has no line for", async () => {
  await using fx = await fixture();
  await fakeUname(fx, "Linux", "x86_64");
  const dir = `${fx.root}/out`;
  const r = await install(fx, ["--url", `${fx.url}/incomplete`, "--dir", dir]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /SHA256SUMS has no checksum for "bot-bottle-x86_64-unknown-linux-gnu": nothing installed/,
  );
  assert.deepEqual(await entries(dir), []);
});

Deno.test("install.sh says what is wrong: platform, URL, missing release", async () => {
  await using fx = await fixture();
  await fakeUname(fx, "FreeBSD", "amd64");
  let r = await install(fx, ["--url", `${fx.url}/good`, "--dir", `${fx.root}/out`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no bot-bottle binary for the operating system "FreeBSD"/);
  await fakeUname(fx, "Linux", "riscv64");
  r = await install(fx, ["--url", `${fx.url}/good`, "--dir", `${fx.root}/out`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no bot-bottle binary for the CPU "riscv64"/);
  await fakeUname(fx, "Linux", "x86_64");
  r = await install(fx, ["--dir", `${fx.root}/out`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error: no release URL\n {2}hint: Pass --url/);
  r = await install(fx, ["--url", `${fx.url}/missing`, "--dir", `${fx.root}/out`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot download ".*\/missing\/SHA256SUMS"/);
  assert.deepEqual(await entries(`${fx.root}/out`), []);
});
