import assert from "node:assert/strict";
import { customAgentImageSpec } from "../../../src/bottle/build_context.ts";
import {
  AGENT_CLIS,
  AGENT_TEMPLATES,
  agentImageName,
  agentImageSpec,
  type AgentTemplate,
  buildHash,
  DEFAULT_NPM_REGISTRY,
  extraCaFiles,
  hashedImageName,
  imageContext,
  type ImageSpec,
  prebuiltSidecarImage,
  sidecarImageSpec,
  unhashedImageName,
} from "../../../src/bottle/image_spec.ts";
import { LABELS, tarRead } from "../../../src/engine/mod.ts";
import { listAssetsRecursive, readAsset } from "../../../src/lib/assets.ts";
import { ConfigError } from "../../../src/lib/errors.ts";
import { dec, enc } from "../../helpers/bytes.ts";

const CERT_A = "-----BEGIN CERTIFICATE-----\nQUFBQQ==\n-----END CERTIFICATE-----\n";
const CERT_B = "-----BEGIN CERTIFICATE-----\nQkJCQg==\n-----END CERTIFICATE-----\n";
const BASES = { deno: "denoland/deno:debian-2.9.6", gitleaks: "zricethezav/gitleaks:v8.30.1" };

const paths = (spec: ImageSpec) => spec.files.map((f) => f.path);
const fileText = (spec: ImageSpec, path: string) => {
  const file = spec.files.find((f) => f.path === path);
  assert.ok(file, `context has ${path}`);
  return dec(file.data);
};

/** Index of the first line matching `re` in a Dockerfile, -1 when none. */
const lineOf = (dockerfile: string, re: RegExp) =>
  dockerfile.split("\n").findIndex((l) => re.test(l));

Deno.test("prebuiltSidecarImage is BOT_BOTTLE_SIDECAR_IMAGE, trimmed, when set", () => {
  assert.equal(prebuiltSidecarImage(() => undefined), undefined);
  assert.equal(prebuiltSidecarImage(() => "  "), undefined);
  const env = (n: string) => (n === "BOT_BOTTLE_SIDECAR_IMAGE" ? " mirror/sidecar:7 " : undefined);
  assert.equal(prebuiltSidecarImage(env), "mirror/sidecar:7");
});

Deno.test("hashedImageName tags <repo>:<version> with 12 hex of the build hash, and back", () => {
  const hash = "3fa2c1d9e0b4".padEnd(64, "7");
  assert.equal(
    hashedImageName("bot-bottle-shell:0.1.0", hash),
    "bot-bottle-shell:0.1.0-3fa2c1d9e0b4",
  );
  assert.equal(unhashedImageName("bot-bottle-shell:0.1.0-3fa2c1d9e0b4"), "bot-bottle-shell:0.1.0");
  assert.equal(
    unhashedImageName("registry:5000/bot-bottle-pi:0.1.0-3fa2c1d9e0b4"),
    "registry:5000/bot-bottle-pi:0.1.0",
  );
  for (
    const name of [
      "bot-bottle-shell:0.1.0",
      "bot-bottle-shell:0.1.0-3FA2C1D9E0B4",
      "x-3fa2c1d9e0b4",
      "a:b-3fa2c1d9e0b",
    ]
  ) {
    assert.equal(unhashedImageName(name), null, name);
  }
});

Deno.test("sidecarImageSpec names, args and labels the sidecar image", async () => {
  const spec = await sidecarImageSpec({ version: "0.1.0", baseImages: BASES });
  assert.equal(spec.name, hashedImageName("bot-bottle-sidecar:0.1.0", await buildHash(spec)));
  assert.deepEqual(spec.buildArgs, {
    GITLEAKS_IMAGE: "zricethezav/gitleaks:v8.30.1",
    DENO_IMAGE: "denoland/deno:debian-2.9.6",
  });
  assert.deepEqual(spec.labels, { [LABELS.version]: "0.1.0" });
  const named = await sidecarImageSpec({
    version: "0.1.0",
    baseImages: BASES,
    name: "bbtest-sidecar:x",
    labels: { "io.bot-bottle.test-session": "s1" },
  });
  assert.equal(named.name, "bbtest-sidecar:x");
  assert.deepEqual(named.labels, {
    "io.bot-bottle.test-session": "s1",
    [LABELS.version]: "0.1.0",
  });
});

Deno.test("sidecarImageSpec puts the whole src/sidecar tree under sidecar/ with its bytes", async () => {
  const spec = await sidecarImageSpec({ version: "0.1.0", baseImages: BASES });
  const tree = await listAssetsRecursive("src/sidecar");
  assert.ok(tree.length > 0);
  assert.ok(tree.includes("control/protocol.ts"), "nested files are listed");
  const shipped = spec.files.filter((f) => f.path.startsWith("sidecar/") && f.type !== "dir");
  assert.deepEqual(shipped.map((f) => f.path), tree.map((p) => `sidecar/${p}`));
  for (const file of shipped) {
    assert.deepEqual(file.data, await readAsset(`src/sidecar/${file.path.slice(8)}`));
  }
  assert.ok(spec.files.some((f) => f.path === "sidecar" && f.type === "dir"));
});

Deno.test("sidecar.Dockerfile: gitleaks stage, CA first, deno user, cached entry point", async () => {
  const { dockerfile } = await sidecarImageSpec({ version: "0.1.0", baseImages: BASES });
  for (
    const line of [
      "ARG GITLEAKS_IMAGE=zricethezav/gitleaks:v8.30.1",
      "ARG DENO_IMAGE=denoland/deno:debian-2.9.6",
      "FROM ${GITLEAKS_IMAGE} AS gitleaks",
      "FROM ${DENO_IMAGE}",
      "COPY extra-ca/ /usr/local/share/ca-certificates/",
      "COPY --from=gitleaks /usr/bin/gitleaks /usr/bin/gitleaks",
      "COPY sidecar/ /opt/bot-bottle/sidecar/",
      "ENV DENO_NO_UPDATE_CHECK=1 DENO_DIR=/deno-dir/",
      "USER deno",
    ]
  ) {
    assert.ok(dockerfile.split("\n").includes(line), `has the line ${line}`);
  }
  assert.match(
    dockerfile,
    /apt-get install -y --no-install-recommends \\\n\s+git openssh-client ca-certificates;/,
  );
  assert.match(dockerfile, /install -d -o deno -g deno \/srv\/bot-bottle-config \/git;/);
  assert.match(
    dockerfile,
    /if \[ -f \/opt\/bot-bottle\/sidecar\/main\.ts \]; then[^]*deno cache \/opt\/bot-bottle\/sidecar\/main\.ts/,
  );
  const caLine = lineOf(dockerfile, /^COPY extra-ca\//);
  assert.ok(
    caLine >= 0 && caLine < lineOf(dockerfile, /apt-get update/),
    "CAs before any download",
  );
  assert.ok(lineOf(dockerfile, /^USER deno$/) < lineOf(dockerfile, /deno cache/));
  const entry = /^ENTRYPOINT (\[[^]*\])\s*$/m.exec(dockerfile.replaceAll("\\\n", ""));
  assert.ok(entry);
  assert.deepEqual(JSON.parse(entry[1]), [
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
});

Deno.test("agentImageSpec names bot-bottle-<template>:<version>-<hash> and passes BASE_IMAGE", async () => {
  for (const template of AGENT_TEMPLATES) {
    const spec = await agentImageSpec({ template, version: "0.1.0", baseImage: "node:22-slim" });
    assert.match(spec.name, new RegExp(`^bot-bottle-${template}:0\\.1\\.0-[0-9a-f]{12}$`));
    assert.equal(
      spec.name,
      hashedImageName(agentImageName(template, "0.1.0"), await buildHash(spec)),
    );
    assert.equal(spec.buildArgs.BASE_IMAGE, "node:22-slim");
    assert.deepEqual(spec.labels, { [LABELS.version]: "0.1.0" });
    assert.deepEqual(paths(spec), ["extra-ca"]);
  }
});

Deno.test("agentImageSpec passes NPM_REGISTRY only to templates that install a CLI", async () => {
  const shell = await agentImageSpec({
    template: "shell",
    version: "0.1.0",
    baseImage: "b",
    npmRegistry: "https://npm.example/",
  });
  assert.deepEqual(shell.buildArgs, { BASE_IMAGE: "b" });
  const claude = await agentImageSpec({ template: "claude", version: "0.1.0", baseImage: "b" });
  assert.deepEqual(claude.buildArgs, { BASE_IMAGE: "b", NPM_REGISTRY: DEFAULT_NPM_REGISTRY });
  const mirror = await agentImageSpec({
    template: "codex",
    version: "0.1.0",
    baseImage: "b",
    npmRegistry: "https://npm.example/",
  });
  assert.equal(mirror.buildArgs.NPM_REGISTRY, "https://npm.example/");
});

Deno.test("agent Dockerfiles keep node 1000, install the packages and trust the CAs first", async () => {
  for (const template of AGENT_TEMPLATES) {
    const { dockerfile } = await agentImageSpec({ template, version: "0.1.0", baseImage: "b" });
    const lines = dockerfile.split("\n");
    for (
      const line of [
        "ARG BASE_IMAGE=node:22-slim",
        "FROM ${BASE_IMAGE}",
        "ARG NPM_REGISTRY=https://registry.npmjs.org/",
        "COPY extra-ca/ /usr/local/share/ca-certificates/",
        "USER node",
        "WORKDIR /home/node/workspace",
        'CMD ["sleep", "infinity"]',
      ]
    ) {
      assert.ok(lines.includes(line), `${template}: has the line ${line}`);
    }
    const packages = template === "shell"
      ? "bash git ca-certificates curl procps;"
      : "bash git ca-certificates curl procps ripgrep;";
    assert.ok(dockerfile.includes(`--no-install-recommends \\\n      ${packages}`), template);
    assert.match(dockerfile, /id -u node[^]*!= 1000/, `${template}: checks uid 1000`);
    assert.match(dockerfile, /install -d -o node -g node \/home\/node\/workspace/);
    assert.match(dockerfile, /update-ca-certificates;/);
    const firstDownload = lineOf(dockerfile, /apt-get update|npm install/);
    assert.ok(lineOf(dockerfile, /^COPY extra-ca\//) < firstDownload, `${template}: CA first`);
    assert.equal(lines.at(-1) === "" ? lines.at(-2) : lines.at(-1), 'CMD ["sleep", "infinity"]');
  }
});

Deno.test("LLM Dockerfiles pin the CLI of AGENT_CLIS and install it through NPM_REGISTRY", async () => {
  for (const template of ["claude", "codex", "pi"] as const) {
    const { dockerfile } = await agentImageSpec({ template, version: "0.1.0", baseImage: "b" });
    const cli = AGENT_CLIS[template];
    assert.match(cli.version, /^\d+\.\d+\.\d+$/, "an exact version");
    const install = dockerfile.split("RUN ").find((r) => r.includes("npm install -g"));
    assert.ok(install, `${template} installs with npm`);
    assert.ok(
      install.includes(`${cli.package}@${cli.version};`),
      `${template} pins ${cli.version}`,
    );
    assert.ok(install.includes('--registry "${NPM_REGISTRY}"'));
    assert.ok(
      install.startsWith(
        "set -eux; \\\n    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm install -g",
      ),
    );
    assert.ok(!/^ENV NODE_EXTRA_CA_CERTS/m.test(dockerfile), "only for that RUN");
    assert.ok(install.includes(`${cli.command} --version`));
  }
  const shell = await agentImageSpec({ template: "shell", version: "0.1.0", baseImage: "b" });
  assert.ok(!shell.dockerfile.includes("npm install"));
});

Deno.test("agentImageSpec refuses an unknown template with a ConfigError", async () => {
  await assert.rejects(
    agentImageSpec({ template: "cursor" as AgentTemplate, version: "0.1.0", baseImage: "b" }),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes('"cursor"') && e.hint!.includes("shell"),
  );
});

Deno.test("extraCaFiles writes one extra-ca/bot-bottle-extra-N.crt per certificate", () => {
  assert.deepEqual(extraCaFiles("extra-ca", undefined).map((f) => [f.path, f.type]), [
    ["extra-ca", "dir"],
  ]);
  const files = extraCaFiles("extra-ca", `junk\n${CERT_A}${CERT_B}`);
  assert.deepEqual(files.map((f) => f.path), [
    "extra-ca",
    "extra-ca/bot-bottle-extra-1.crt",
    "extra-ca/bot-bottle-extra-2.crt",
  ]);
  assert.equal(dec(files[1].data), CERT_A);
  assert.equal(dec(files[2].data), CERT_B);
  assert.throws(
    () =>
      extraCaFiles(
        "extra-ca",
        `${CERT_A}-----BEGIN PRIVATE KEY-----\nX\n-----END PRIVATE KEY-----`,
      ),
    ConfigError,
  );
});

Deno.test("every spec builder puts the extra CAs in its context", async () => {
  const sidecar = await sidecarImageSpec({
    version: "1",
    baseImages: BASES,
    extraCaPem: CERT_A + CERT_B,
  });
  assert.equal(fileText(sidecar, "extra-ca/bot-bottle-extra-1.crt"), CERT_A);
  assert.equal(fileText(sidecar, "extra-ca/bot-bottle-extra-2.crt"), CERT_B);
  const shell = await agentImageSpec({
    template: "shell",
    version: "1",
    baseImage: "b",
    extraCaPem: CERT_B,
  });
  assert.deepEqual(paths(shell), ["extra-ca", "extra-ca/bot-bottle-extra-1.crt"]);
  assert.equal(fileText(shell, "extra-ca/bot-bottle-extra-1.crt"), CERT_B);
  const custom = await customAgentImageSpec({
    dockerfilePath: "src/bottle/images/agent-shell.Dockerfile",
    version: "1",
    baseImage: "b",
    extraCaPem: CERT_A,
  });
  assert.equal(fileText(custom, ".bot-bottle-extra-ca/bot-bottle-extra-1.crt"), CERT_A);
});

const BASE_SPEC: ImageSpec = {
  name: "x:1",
  dockerfile: "FROM scratch\nCOPY a /a\n",
  files: [
    { path: "a", data: enc("alpha") },
    { path: "dir", type: "dir", data: new Uint8Array() },
    { path: "dir/b", data: enc("beta"), mode: 0o755 },
    { path: "link", type: "symlink", data: new Uint8Array(), linkname: "a" },
  ],
  buildArgs: { ONE: "1", TWO: "2" },
  labels: { k: "v" },
};

Deno.test("buildHash is a stable SHA-256 hex, independent of file and arg order, name and labels", async () => {
  const hash = await buildHash(BASE_SPEC);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(await buildHash(structuredClone(BASE_SPEC)), hash);
  assert.equal(
    await buildHash({
      ...BASE_SPEC,
      name: "other:2",
      labels: { other: "label" },
      files: [...BASE_SPEC.files].reverse(),
      buildArgs: { TWO: "2", ONE: "1" },
    }),
    hash,
  );
  const explicitModes = BASE_SPEC.files.map((f) => ({
    ...f,
    mode: f.mode ?? (f.type === "dir" ? 0o755 : f.type === "symlink" ? 0o777 : 0o644),
  }));
  assert.equal(await buildHash({ ...BASE_SPEC, files: explicitModes }), hash, "default modes");
});

Deno.test("buildHash changes when any input changes", async () => {
  const hash = await buildHash(BASE_SPEC);
  const withFile = (i: number, change: Partial<ImageSpec["files"][number]>) => ({
    ...BASE_SPEC,
    files: BASE_SPEC.files.map((f, j) => (j === i ? { ...f, ...change } : f)),
  });
  const variants: [string, ImageSpec][] = [
    ["Dockerfile text", { ...BASE_SPEC, dockerfile: "FROM scratch\nCOPY a /b\n" }],
    ["Dockerfile path", { ...BASE_SPEC, dockerfilePath: "build/Dockerfile" }],
    ["file bytes", withFile(0, { data: enc("alphA") })],
    ["file path", withFile(0, { path: "A" })],
    ["file mode", withFile(2, { mode: 0o644 })],
    ["entry type", withFile(1, { type: "file" })],
    ["symlink target", withFile(3, { linkname: "dir/b" })],
    ["added file", { ...BASE_SPEC, files: [...BASE_SPEC.files, { path: "c", data: enc("") }] }],
    ["removed file", { ...BASE_SPEC, files: BASE_SPEC.files.slice(1) }],
    ["build arg value", { ...BASE_SPEC, buildArgs: { ONE: "1", TWO: "3" } }],
    ["build arg name", { ...BASE_SPEC, buildArgs: { ONE: "1", TW0: "2" } }],
    ["added build arg", { ...BASE_SPEC, buildArgs: { ...BASE_SPEC.buildArgs, THREE: "" } }],
    ["bytes moved between files", {
      ...BASE_SPEC,
      files: [{ path: "a", data: enc("alphab") }, { path: "dir/b", data: enc("eta") }],
    }],
  ];
  const seen = new Set([hash]);
  for (const [what, spec] of variants) {
    const changed = await buildHash(spec);
    assert.ok(!seen.has(changed), `${what} changes the hash`);
    seen.add(changed);
  }
});

Deno.test("the build hash of a template image follows its base image, registry and extra CAs", async () => {
  const base = { template: "claude" as const, version: "0.1.0", baseImage: "node:22-slim" };
  const hash = await buildHash(await agentImageSpec(base));
  assert.equal(await buildHash(await agentImageSpec(base)), hash, "stable across calls");
  for (
    const changed of [
      { ...base, baseImage: "mirror/node:22-slim" },
      { ...base, npmRegistry: "https://npm.example/" },
      { ...base, extraCaPem: CERT_A },
      { ...base, template: "codex" as const },
    ]
  ) {
    assert.notEqual(await buildHash(await agentImageSpec(changed)), hash, JSON.stringify(changed));
  }
  assert.equal(
    await buildHash(await agentImageSpec({ ...base, version: "0.2.0", name: "other:1" })),
    hash,
    "the version is in the name and labels, not in what is built",
  );
  const sidecar = await buildHash(await sidecarImageSpec({ version: "0.1.0", baseImages: BASES }));
  const otherDeno = await sidecarImageSpec({
    version: "0.1.0",
    baseImages: { ...BASES, deno: "mirror/deno:2" },
  });
  assert.notEqual(await buildHash(otherDeno), sidecar);
});

Deno.test("imageContext writes the Dockerfile first, then entries in path order", () => {
  const entries = tarRead(imageContext({ ...BASE_SPEC, files: [...BASE_SPEC.files].reverse() }));
  assert.deepEqual(entries.map((e) => [e.path.replace(/\/$/, ""), e.type, e.mode]), [
    ["Dockerfile", "file", 0o644],
    ["a", "file", 0o644],
    ["dir", "dir", 0o755],
    ["dir/b", "file", 0o755],
    ["link", "symlink", 0o777],
  ]);
  assert.equal(dec(entries[0].data), BASE_SPEC.dockerfile);
  assert.equal(dec(entries[1].data), "alpha");
  assert.equal(entries[4].linkname, "a");
  const custom = tarRead(imageContext({ ...BASE_SPEC, dockerfilePath: "agent.Dockerfile" }));
  assert.equal(custom[0].path, "agent.Dockerfile");
});
