/**
 * bot-bottle's own images built for real: the shell template and the sidecar (under test names,
 * so the product tags are never clobbered), reuse by build hash, what the images contain, the
 * extra CA being trusted, custom contexts (symlinks sent as links, never followed) and how a
 * failing build is reported. Builds use apt, so the first two tests take a while.
 */
import assert from "node:assert/strict";
import { customAgentImageSpec } from "../../../src/bottle/build_context.ts";
import { ensureImage } from "../../../src/bottle/image_build.ts";
import {
  agentImageSpec,
  buildHash,
  type ImageSpec,
  sidecarImageSpec,
} from "../../../src/bottle/image_spec.ts";
import { createBuildProgress } from "../../../src/bottle/image_progress.ts";
import { baseImages } from "../../../src/bottle/base_images.ts";
import {
  containerCreate,
  type ContainerCreateConfig,
  containerStart,
  EngineApiError,
  EngineNotFoundError,
  execRun,
  imageInspect,
  LABELS,
} from "../../../src/engine/mod.ts";
import { listAssetsRecursive } from "../../../src/lib/assets.ts";
import { loadExtraCaCerts } from "../../../src/lib/extra_ca.ts";
import { type EngineFixture, engineFixture, engineTest } from "../../helpers/engine.ts";

const VERSION = "0.0.0-test";
const IMAGES = baseImages();

/**
 * The extra CAs of this host (a TLS-inspecting network needs them for apt and npm) plus a CA made
 * for this run, which no base image can already trust: finding it in the bundle proves the
 * install.
 */
async function extraCas(): Promise<{ pem: string; probe: string }> {
  const dir = await Deno.makeTempDir({ prefix: "bot-bottle-test-ca-" });
  try {
    const output = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/ca.pem`,
        "-days",
        "1",
        "-subj",
        "/CN=bot-bottle image test CA",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(output.success, `openssl req: ${new TextDecoder().decode(output.stderr)}`);
    const probe = await Deno.readTextFile(`${dir}/ca.pem`);
    const host = await loadExtraCaCerts();
    return { pem: (host?.pem ?? "") + probe, probe };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A line from the middle of a PEM certificate: unique, and never re-wrapped by the bundle. */
function fingerprintLine(pem: string): string {
  const lines = pem.trim().split("\n").slice(1, -1);
  return lines[Math.floor(lines.length / 2)];
}

async function build(fx: EngineFixture, spec: ImageSpec) {
  const writes: string[] = [];
  const progress = createBuildProgress((t) => writes.push(t), { tty: false, name: spec.name });
  const result = await ensureImage(fx.client, spec, { onProgress: progress.line });
  progress.done(`built ${result.name} in ${result.seconds}s`);
  return { result, progress: writes.join("") };
}

async function run(fx: EngineFixture, image: string, config: Partial<ContainerCreateConfig> = {}) {
  const { Id } = await containerCreate(fx.client, fx.name("run"), {
    Image: image,
    Labels: fx.labels,
    ...config,
  });
  await containerStart(fx.client, Id);
  return async (cmd: string[], user?: string) => {
    const result = await execRun(fx.client, Id, cmd, { user });
    assert.equal(
      result.exitCode,
      0,
      `${cmd.join(" ")} exited ${result.exitCode}: ${result.stdoutText}${result.stderrText}`,
    );
    return result.stdoutText + result.stderrText;
  };
}

engineTest(
  "the shell image builds once, is reused by build hash, and keeps node, git, bash, curl, the CA",
  async () => {
    await using fx = await engineFixture();
    const { pem, probe } = await extraCas();
    const spec = await agentImageSpec({
      template: "shell",
      version: VERSION,
      baseImage: IMAGES.agent,
      extraCaPem: pem,
      name: `${fx.name("shell")}:${VERSION}`,
      labels: fx.labels,
    });
    const first = await build(fx, spec);
    assert.equal(first.result.built, true);
    assert.match(first.result.id, /^sha256:[0-9a-f]{64}$/);
    assert.match(
      first.progress,
      new RegExp(`^building ${spec.name}: Step 1/\\d+ : ARG BASE_IMAGE`),
    );
    assert.ok(first.progress.endsWith(`built ${spec.name} in ${first.result.seconds}s\n`));

    const second = await ensureImage(fx.client, spec);
    assert.equal(second.built, false, "same build hash: not rebuilt");
    assert.equal(second.id, first.result.id);

    const image = await imageInspect(fx.client, spec.name);
    assert.equal(image.Config.Labels?.[LABELS.buildHash], await buildHash(spec));
    assert.equal(image.Config.Labels?.[LABELS.version], VERSION);
    assert.equal(image.Config.User, "node");
    assert.equal(image.Config.WorkingDir, "/home/node/workspace");
    assert.deepEqual(image.Config.Cmd, ["sleep", "infinity"]);

    const sh = await run(fx, spec.name);
    assert.equal((await sh(["id", "-u", "node"])).trim(), "1000");
    assert.equal((await sh(["id", "-u"])).trim(), "1000", "runs as node");
    assert.equal((await sh(["pwd"])).trim(), "/home/node/workspace");
    assert.equal((await sh(["stat", "-c", "%u", "/home/node/workspace"])).trim(), "1000");
    assert.match(await sh(["git", "--version"]), /^git version \d/);
    assert.match(await sh(["bash", "--version"]), /GNU bash/);
    assert.match(await sh(["curl", "--version"]), /^curl \d/);
    assert.match(await sh(["ps", "--version"]), /procps/);
    const bundle = await sh(["cat", "/etc/ssl/certs/ca-certificates.crt"]);
    assert.ok(bundle.includes(fingerprintLine(probe)), "the extra CA is in the system bundle");
  },
);

engineTest(
  "the sidecar image has gitleaks, git, ssh, deno, the sidecar tree and deno-owned dirs",
  async () => {
    await using fx = await engineFixture();
    const { pem, probe } = await extraCas();
    const spec = await sidecarImageSpec({
      version: VERSION,
      baseImages: IMAGES,
      extraCaPem: pem,
      name: `${fx.name("sidecar")}:${VERSION}`,
      labels: fx.labels,
    });
    const first = await build(fx, spec);
    assert.equal(first.result.built, true);
    const second = await ensureImage(fx.client, spec);
    assert.equal(second.built, false);
    assert.equal(second.id, first.result.id);

    const image = await imageInspect(fx.client, spec.name);
    assert.equal(image.Config.Labels?.[LABELS.buildHash], await buildHash(spec));
    assert.equal(image.Config.Labels?.[LABELS.version], VERSION);
    assert.equal(image.Config.User, "deno");
    assert.deepEqual(image.Config.Entrypoint, [
      "deno",
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-net",
      "--allow-read",
      "--allow-write=/run/bot-bottle,/srv/bot-bottle-config,/git,/tmp",
      "--allow-env",
      "--allow-sys",
      "--allow-run",
      "/opt/bot-bottle/sidecar/main.ts",
    ]);
    assert.ok(image.Config.Env?.includes("DENO_NO_UPDATE_CHECK=1"));
    assert.ok(image.Config.Env?.includes("DENO_DIR=/deno-dir/"));

    const sh = await run(fx, spec.name, { Entrypoint: ["sleep"], Cmd: ["infinity"] });
    assert.match(await sh(["gitleaks", "version"]), /8\.30\.1/);
    assert.match(await sh(["git", "--version"]), /^git version \d/);
    assert.match(await sh(["ssh", "-V"]), /^OpenSSH_/);
    assert.match(await sh(["deno", "--version"]), /^deno 2\./);
    assert.equal((await sh(["id", "-un"])).trim(), "deno");
    assert.equal(
      (await sh(["stat", "-c", "%U %u", "/srv/bot-bottle-config", "/git"])).trim(),
      "deno 1993\ndeno 1993",
    );
    const shipped = (await sh(["find", "/opt/bot-bottle/sidecar", "-type", "f"]))
      .trim().split("\n").map((p) => p.replace("/opt/bot-bottle/sidecar/", "")).sort();
    const tree = await listAssetsRecursive("src/sidecar");
    assert.deepEqual(shipped, tree);
    if (tree.includes("main.ts")) {
      // Cached at build time: the start neither downloads nor transpiles.
      await sh(["test", "-s", "/deno-dir/gen/file/opt/bot-bottle/sidecar/main.ts.js"]);
    }
    const bundle = await sh(["cat", "/etc/ssl/certs/ca-certificates.crt"]);
    assert.ok(bundle.includes(fingerprintLine(probe)), "the extra CA is in the system bundle");
  },
);

engineTest(
  "a custom Dockerfile's directory is the context; symlinks are sent, never followed",
  async () => {
    await using fx = await engineFixture();
    const dir = await Deno.makeTempDir({ prefix: "bot-bottle-custom-" });
    try {
      await Deno.mkdir(`${dir}/outside`);
      await Deno.writeTextFile(`${dir}/outside/secret.txt`, "outside-secret-marker\n");
      await Deno.mkdir(`${dir}/ctx/sub`, { recursive: true });
      await Deno.writeTextFile(`${dir}/ctx/sub/tool.sh`, "#!/bin/sh\necho tool-ran\n");
      await Deno.chmod(`${dir}/ctx/sub/tool.sh`, 0o755);
      await Deno.symlink("../outside/secret.txt", `${dir}/ctx/leak`);
      await Deno.writeTextFile(
        `${dir}/ctx/agent.Dockerfile`,
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . /ctx/\nCMD ["sleep", "infinity"]\n',
      );
      const options = {
        dockerfilePath: `${dir}/ctx/agent.Dockerfile`,
        version: VERSION,
        baseImage: IMAGES.debian,
        extraCaPem: (await extraCas()).pem,
        labels: fx.labels,
      };
      const named = await customAgentImageSpec(options);
      assert.match(named.name, new RegExp(`^bot-bottle-custom-[0-9a-f]{12}:${VERSION}$`));
      const spec = await customAgentImageSpec({ ...options, name: `${fx.name("custom")}:1` });
      const { result } = await build(fx, spec);
      assert.equal(result.built, true);

      const sh = await run(fx, spec.name);
      assert.equal((await sh(["/ctx/sub/tool.sh"])).trim(), "tool-ran", "modes are kept");
      assert.equal((await sh(["readlink", "/ctx/leak"])).trim(), "../outside/secret.txt");
      assert.equal(
        (await sh(["sh", "-c", "cat /ctx/leak 2>/dev/null || echo dangling"])).trim(),
        "dangling",
      );
      assert.equal(
        (await sh(["sh", "-c", "grep -r outside-secret-marker /ctx || echo absent"])).trim(),
        "absent",
      );
      assert.match(await sh(["ls", "/ctx/.bot-bottle-extra-ca"]), /bot-bottle-extra-1\.crt/);
      assert.match(await sh(["cat", "/ctx/agent.Dockerfile"]), /COPY \. \/ctx\//);

      // A changed context rebuilds under the same name; the replaced image is removed unless a
      // container still uses it.
      const rebuild = async (marker: string) => {
        await Deno.writeTextFile(`${dir}/ctx/sub/tool.sh`, `#!/bin/sh\necho ${marker}\n`);
        const rebuilt = await ensureImage(
          fx.client,
          await customAgentImageSpec({ ...options, name: spec.name }),
        );
        assert.equal(rebuilt.built, true);
        return rebuilt;
      };
      const second = await rebuild("tool-ran-2");
      assert.notEqual(second.id, result.id);
      assert.notEqual(second.hash, result.hash);
      assert.equal((await imageInspect(fx.client, result.id)).Id, result.id, "in use: kept");
      const third = await rebuild("tool-ran-3");
      assert.notEqual(third.id, second.id);
      await assert.rejects(
        imageInspect(fx.client, second.id),
        EngineNotFoundError,
        "unused: removed",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

engineTest(
  "a failing build is one EngineApiError naming the image, the step and its output",
  async () => {
    await using fx = await engineFixture();
    const spec: ImageSpec = {
      name: `${fx.name("fail")}:1`,
      dockerfile: `FROM ${IMAGES.debian}\nRUN echo first-marker; echo second-marker >&2; exit 3\n`,
      files: [],
      buildArgs: {},
      labels: fx.labels,
    };
    await assert.rejects(ensureImage(fx.client, spec), (e: unknown) => {
      assert.ok(e instanceof EngineApiError, String(e));
      assert.equal(e.exitCode, 4);
      const [head, output] = [e.message, [...e.details ?? []]];
      assert.equal(
        head.replace(/ step 2\/\d+ /, " step 2/N "),
        `Cannot build image "${spec.name}": step 2/N "RUN echo first-marker; echo second-marker >&2; exit 3" failed with exit code 3; last output:`,
        "the labels add LABEL steps after the RUN",
      );
      // stdout and stderr of a RUN reach the stream in either order.
      assert.deepEqual(output.sort(), ["    first-marker", "    second-marker"]);
      assert.match(e.hint ?? "", /BOT_BOTTLE_EXTRA_CA_CERTS/);
      return true;
    });
    await assert.rejects(imageInspect(fx.client, spec.name), EngineNotFoundError);
  },
);

engineTest(
  "a missing base image is reported with the setup script and the override variable",
  async () => {
    await using fx = await engineFixture();
    const spec = await agentImageSpec({
      template: "shell",
      version: VERSION,
      baseImage: "bbtest-no-such-base/node:none",
      name: `${fx.name("nobase")}:1`,
      labels: fx.labels,
    });
    await assert.rejects(ensureImage(fx.client, spec), (e: unknown) => {
      assert.ok(e instanceof EngineApiError, String(e));
      assert.match(
        e.message,
        new RegExp(
          `^Cannot build image "${spec.name}": step 2/\\d+ "FROM \\$\\{BASE_IMAGE\\}" failed: `,
        ),
      );
      assert.match(e.hint ?? "", /"bbtest-no-such-base\/node:none" is missing/);
      assert.match(e.hint ?? "", /scripts\/setup\.sh/);
      assert.match(e.hint ?? "", /BOT_BOTTLE_AGENT_BASE_IMAGE/);
      return true;
    });
  },
);
