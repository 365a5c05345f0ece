/**
 * `deno task images`: builds, only when missing, the base images bot-bottle's own images
 * start from, without any image registry: Debian bookworm from `mmdebstrap` imported into
 * the engine, and stand-ins for node, deno and gitleaks built on it through the engine API.
 * Names are the product's defaults, or its overrides (`BOT_BOTTLE_*_IMAGE`), so there is no
 * test-only code path. The Debian image trusts `BOT_BOTTLE_EXTRA_CA_CERTS` so `apt-get`
 * and `npm` work behind a TLS-inspecting network.
 *
 * One more role is for the tests only: `test-sshd`, {@linkcode TEST_SSHD_IMAGE}, an OpenSSH
 * server with git on the Debian image, the git upstream of `tests/helpers/git_upstream.ts`.
 *
 * Usage: deno task images [--gitleaks PATH] [--force]
 *        [--only debian,agent,deno,gitleaks,test-sshd]
 * Needs: root (mmdebstrap), npm (fetches node and npm tarballs), a gitleaks binary.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type BaseImages, baseImages } from "../src/bottle/base_images.ts";
import {
  connectEngine,
  type EngineClient,
  EngineNotFoundError,
  imageBuild,
  imageImport,
  imageInspect,
  tarCreate,
} from "../src/engine/mod.ts";
import { loadExtraCaCerts } from "../src/lib/extra_ca.ts";

const NODE_VERSION = "22.23.5";
const NPM_VERSION = "10.9.9";
const DEBIAN_SUITE = "bookworm";
const DEBIAN_MIRROR = Deno.env.get("BOT_BOTTLE_DEBIAN_MIRROR") ?? "http://deb.debian.org/debian";
const HERE = new URL("./images/", import.meta.url);

const { values } = parseArgs({
  args: Deno.args,
  options: {
    gitleaks: { type: "string" },
    force: { type: "boolean" },
    only: { type: "string" },
  },
});
/** The test upstream's image; `tests/helpers/git_upstream.ts` spells the same name. */
const TEST_SSHD_IMAGE = "bot-bottle-test-sshd:1";

type Role = keyof BaseImages | "test-sshd";
const ROLES: readonly Role[] = ["debian", "agent", "deno", "gitleaks", "test-sshd"];
const roles = (values.only?.split(",") ?? [...ROLES]) as Role[];
for (const role of roles) {
  if (!ROLES.includes(role)) {
    fail(`Unknown role "${role}" in --only`, `Choose among ${ROLES.join(", ")}`);
  }
}
const images = baseImages();
const imageOf = (role: Role): string => role === "test-sshd" ? TEST_SSHD_IMAGE : images[role];

function log(line: string): void {
  console.log(`images: ${line}`);
}

function fail(message: string, hint?: string): never {
  console.error(`images: error: ${message}`);
  if (hint) console.error(`  hint: ${hint}`);
  Deno.exit(1);
}

async function exists(engine: EngineClient, name: string): Promise<boolean> {
  try {
    await imageInspect(engine, name);
    return true;
  } catch (error) {
    if (error instanceof EngineNotFoundError) return false;
    throw error;
  }
}

async function run(cmd: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(cmd, { args, cwd: options.cwd, stderr: "piped" }).output();
  } catch (error) {
    fail(`Cannot run "${cmd}": ${(error as Error).message}`, `Install ${cmd} (scripts/setup.sh)`);
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-15).join("\n");
    fail(`"${cmd} ${args.slice(0, 3).join(" ")}…" failed (exit ${output.code}):\n${stderr}`);
  }
  return new TextDecoder().decode(output.stdout);
}

/** Debian bookworm minbase + ca-certificates + the extra CAs, from mmdebstrap. */
async function buildDebian(engine: EngineClient, name: string): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "bot-bottle-debian-" });
  try {
    const extra = await loadExtraCaCerts();
    const hooks: string[] = [];
    if (extra) {
      const certs = extra.pem.split(/(?<=-----END CERTIFICATE-----\n)/).filter((c) => c.trim());
      await Deno.mkdir(`${work}/ca`);
      for (const [i, cert] of certs.entries()) {
        await Deno.writeTextFile(`${work}/ca/bot-bottle-extra-${i + 1}.crt`, cert);
      }
      hooks.push(
        `--customize-hook=mkdir -p "$1/usr/local/share/ca-certificates"`,
        `--customize-hook=cp ${work}/ca/*.crt "$1/usr/local/share/ca-certificates/"`,
        `--customize-hook=chroot "$1" update-ca-certificates`,
      );
      log(
        `debian: trusting ${extra.count} extra CA certificate(s) from ${extra.sources.join(", ")}`,
      );
    }
    await run("mmdebstrap", [
      "--quiet",
      "--variant=minbase",
      "--include=ca-certificates",
      "--mode=root",
      '--aptopt=Acquire::Check-Valid-Until "false"',
      ...hooks,
      `--customize-hook=rm -rf "$1/var/lib/apt/lists/"*`,
      DEBIAN_SUITE,
      `${work}/rootfs.tar`,
      `deb ${DEBIAN_MIRROR} ${DEBIAN_SUITE} main`,
      `deb ${DEBIAN_MIRROR} ${DEBIAN_SUITE}-updates main`,
      `deb ${DEBIAN_MIRROR.replace(/\/debian$/, "/debian-security")} ${DEBIAN_SUITE}-security main`,
    ]);
    const [repo, tag] = splitName(name);
    using file = await Deno.open(`${work}/rootfs.tar`);
    await imageImport(engine, file.readable, repo, tag, {
      changes: ['CMD ["bash"]', "LABEL io.bot-bottle.bootstrap=debian"],
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/** node:22-slim stand-in: the node binary and npm from the npm registry. */
async function buildNode(engine: EngineClient, name: string, debian: string): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "bot-bottle-node-" });
  try {
    const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
    const packed = await run("npm", [
      "pack",
      "--silent",
      `node-linux-${arch}@${NODE_VERSION}`,
      `npm@${NPM_VERSION}`,
    ], { cwd: work });
    const [nodeTgz, npmTgz] = packed.trim().split("\n");
    await build(engine, name, "node.Dockerfile", {
      "node.tgz": await Deno.readFile(`${work}/${nodeTgz}`),
      "npm.tgz": await Deno.readFile(`${work}/${npmTgz}`),
    }, { DEBIAN_IMAGE: debian, NODE_VERSION });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

async function build(
  engine: EngineClient,
  name: string,
  dockerfile: string,
  files: Record<string, Uint8Array>,
  buildArgs: Record<string, string>,
): Promise<void> {
  const entries = [
    { path: "Dockerfile", data: await Deno.readFile(new URL(dockerfile, HERE)) },
    ...Object.entries(files).map(([path, data]) => ({ path, data })),
  ];
  const context = tarCreate(entries.map((e) => ({ ...e, mode: 0o755 })));
  await imageBuild(engine, context, {
    tag: name,
    buildArgs,
    labels: { "io.bot-bottle.bootstrap": dockerfile.replace(".Dockerfile", "") },
    onProgress: (line) => {
      const text = line.trim();
      if (text.startsWith("Step ")) log(`  ${text}`);
    },
  });
}

function splitName(name: string): [string, string] {
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? [name.slice(0, colon), name.slice(colon + 1)] : [
    name,
    "latest",
  ];
}

async function gitleaksBinary(): Promise<string> {
  const path = values.gitleaks ?? (await run("sh", ["-c", "command -v gitleaks"])).trim();
  if (!path) {
    fail("Cannot find a gitleaks binary", "Pass --gitleaks PATH (scripts/setup.sh installs it)");
  }
  return path;
}

const engine = await connectEngine();
const total = performance.now();
let built = 0;
for (const role of roles) {
  const name = imageOf(role);
  if (!values.force && await exists(engine, name)) {
    log(`${role}: ${name} present, kept`);
    continue;
  }
  if (role !== "debian" && !await exists(engine, images.debian)) {
    fail(`Cannot build ${name}: its base ${images.debian} is missing`, "Run without --only");
  }
  log(`${role}: building ${name}`);
  const started = performance.now();
  switch (role) {
    case "debian":
      await buildDebian(engine, name);
      break;
    case "agent":
      await buildNode(engine, name, images.debian);
      break;
    case "deno":
      await build(engine, name, "deno.Dockerfile", {
        deno: await Deno.readFile(Deno.execPath()),
      }, { DEBIAN_IMAGE: images.debian });
      break;
    case "gitleaks":
      await build(engine, name, "gitleaks.Dockerfile", {
        gitleaks: await Deno.readFile(await gitleaksBinary()),
      }, { DEBIAN_IMAGE: images.debian });
      break;
    case "test-sshd":
      await build(engine, name, "test-sshd.Dockerfile", {}, { DEBIAN_IMAGE: images.debian });
      break;
  }
  built++;
  log(`${role}: built ${name} in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}
log(
  `${built} built, ${roles.length - built} kept, ${
    ((performance.now() - total) / 1000).toFixed(1)
  }s`,
);
engine.close();
