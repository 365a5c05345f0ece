import assert from "node:assert/strict";
import {
  AGENT_CONFIG_DIR,
  AGENT_HOME,
  AGENT_USER,
  agentCreateConfig,
  type BottlePlan,
  parseMemory,
  planBottle,
  type PlanInput,
  sidecarCreateConfig,
} from "../../../src/bottle/plan.ts";
import type { ContainerCreateConfig } from "../../../src/engine/containers.ts";
import { ConfigError } from "../../../src/lib/errors.ts";
import { resolveAgent, type ResolvedAgent } from "../../../src/manifest/mod.ts";
import { memoryCatalog } from "../manifest/catalog.ts";

const VERSION = "0.1.0-test";
const SLUG = "shell-ab12c";
const GiB = 1024 ** 3;

/** The starter `shell` bottle and agent (manifests/). */
const SHELL_BOTTLE = `agent_provider:
  template: shell
resources:
  memory: 2g
  cpus: 2`;
const SHELL_AGENT = "bottle: shell\n---\n\nInteractive shell session.";

/** A bottle with an `auth` route and env entries of every kind. */
const API_BOTTLE = `extends: shell
env:
  API_TOKEN: "\${HOST_VAR}"
  ASKED: "?Your password"
  PLAIN: plain-literal
egress:
  routes:
    - host: api.example.com
      auth: {scheme: Bearer, token_ref: MY_TOKEN}
    - host: registry.npmjs.org
      matches: [{methods: [GET]}]
resources: {memory: 512m, cpus: 1.5, pids: 256}`;

const CLAUDE_BOTTLE = `agent_provider: {template: claude, auth_token: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN}
env: {GH: "\${GH_TOKEN}"}`;

const AGENTS = {
  shell: SHELL_AGENT,
  api: "bottle: api\n---\n\nCall the API.",
  claude: "bottle: claude\n---\n\nYou write code.",
  gated: "bottle: gated\n---\n\nPush code.",
};

const GATED_BOTTLE = `extends: shell
git-gate:
  user: {name: Bottle Bot, email: bot@example.com}
  repos:
    api:
      url: ssh://git@gitea.example.com:2222/acme/api.git
      key: {provider: gitea, provisioner_token: GITEA_ADMIN_TOKEN}
      host_key: "ssh-ed25519 AAAAC3Nza"`;

const catalog = () =>
  memoryCatalog(
    { shell: SHELL_BOTTLE, api: API_BOTTLE, claude: CLAUDE_BOTTLE, gated: GATED_BOTTLE },
    AGENTS,
  );

function resolve(agent: string): ResolvedAgent {
  return resolveAgent(catalog(), agent);
}

function plan(agent: string, overrides: Partial<PlanInput> = {}): BottlePlan {
  const resolved = resolve(agent);
  return planBottle({
    resolved,
    slug: SLUG,
    version: VERSION,
    agentImage: `bot-bottle-${resolved.provider.template}:${VERSION}`,
    agentImageCached: true,
    sidecarImage: `bot-bottle-sidecar:${VERSION}`,
    runtime: "runc",
    label: null,
    color: null,
    headless: false,
    prompt: null,
    resume: false,
    remoteControl: false,
    ...overrides,
  });
}

function envMap(create: ContainerCreateConfig): Map<string, string> {
  return new Map(
    (create.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

/** Sets host variables to unique values for the duration of `fn`. */
function withHostEnv(names: readonly string[], fn: (values: string[]) => void): void {
  const values = names.map((n) => `SECRET-${n}-${crypto.randomUUID()}`);
  const saved = names.map((n) => Deno.env.get(n));
  names.forEach((n, i) => Deno.env.set(n, values[i]));
  try {
    fn(values);
  } finally {
    names.forEach((n, i) =>
      saved[i] === undefined ? Deno.env.delete(n) : Deno.env.set(n, saved[i]!)
    );
  }
}

Deno.test("planBottle plans exactly the SPEC §6.2 objects with their names", () => {
  const p = plan("shell");
  assert.deepEqual(
    p.networks.map((n) => [n.name, n.service, n.internal]),
    [
      [`bot-bottle-net-${SLUG}`, "net-internal", true],
      [`bot-bottle-egress-${SLUG}`, "net-egress", false],
    ],
  );
  assert.deepEqual(p.volumes.map((v) => [v.name, v.service]), [
    [`bot-bottle-config-${SLUG}`, "config"],
    [`bot-bottle-home-${SLUG}`, "home"],
  ]);
  assert.deepEqual(Object.keys(p.containers).sort(), ["agent", "sidecar"]);
  assert.equal(p.containers.sidecar.name, `bot-bottle-sidecar-${SLUG}`);
  assert.equal(p.containers.sidecar.service, "sidecar");
  assert.equal(p.containers.agent.name, `bot-bottle-agent-${SLUG}`);
  assert.equal(p.containers.agent.service, "agent");
  assert.equal(p.slug, SLUG);
  assert.equal(p.version, VERSION);
  assert.equal(p.backend, "docker");
});

Deno.test("planBottle makes the internal network Internal, with inhibit_ipv4; the launch picks the subnet", () => {
  const [internal, egress] = plan("shell").networks;
  assert.equal(internal.internal, true);
  assert.deepEqual(internal.options, { "com.docker.network.bridge.inhibit_ipv4": "true" });
  assert.equal(internal.subnet, null);
  assert.equal(egress.internal, false);
  assert.deepEqual(egress.options, {});
});

Deno.test("sidecarCreateConfig adds the launch's subnet and the sidecar's fixed address, leaving the plan as is", () => {
  const p = plan("shell");
  const before = structuredClone(p);
  const create = sidecarCreateConfig(p, {
    internalSubnet: "10.213.0.16/28",
    sidecarAddress: "10.213.0.30",
  });
  assert.equal(envMap(create).get("BOT_BOTTLE_INTERNAL_SUBNET"), "10.213.0.16/28");
  assert.equal(
    envMap(create).get("BOT_BOTTLE_SIDECAR_BIND_ADDRESS"),
    "10.213.0.30",
    "the daemons listen on the internal address only (SPEC §6.4)",
  );
  const internal = create.NetworkingConfig?.EndpointsConfig[`bot-bottle-net-${SLUG}`];
  assert.deepEqual(internal?.IPAMConfig, { IPv4Address: "10.213.0.30" });
  assert.deepEqual(
    internal?.Aliases,
    p.containers.sidecar.create.NetworkingConfig?.EndpointsConfig[
      `bot-bottle-net-${SLUG}`
    ].Aliases,
  );
  assert.equal(envMap(p.containers.sidecar.create).get("BOT_BOTTLE_INTERNAL_SUBNET"), undefined);
  assert.deepEqual(p, before, "the plan is not mutated");
});

Deno.test("agentCreateConfig makes the sidecar's address the agent's only resolver", () => {
  const p = plan("shell");
  const before = structuredClone(p);
  const create = agentCreateConfig(p, { sidecarAddress: "10.213.0.18" });
  assert.deepEqual(create.HostConfig?.Dns, ["10.213.0.18"]);
  assert.deepEqual(create.HostConfig?.CapDrop, ["ALL"], "the rest of the body is the plan's");
  assert.deepEqual(p, before, "the plan is not mutated");
});

Deno.test("planBottle labels every object with io.bot-bottle.slug, service and version", () => {
  const p = plan("shell");
  const objects: [string, string, Record<string, string> | undefined][] = [
    ...p.networks.map((n) =>
      [n.name, n.service, n.labels] as [string, string, Record<string, string>]
    ),
    ...p.volumes.map((v) =>
      [v.name, v.service, v.labels] as [string, string, Record<string, string>]
    ),
    [p.containers.sidecar.name, "sidecar", p.containers.sidecar.create.Labels],
    [p.containers.agent.name, "agent", p.containers.agent.create.Labels],
  ];
  assert.equal(objects.length, 6);
  for (const [name, service, labels] of objects) {
    assert.deepEqual(labels, {
      "io.bot-bottle.slug": SLUG,
      "io.bot-bottle.service": service,
      "io.bot-bottle.version": VERSION,
    }, name);
  }
});

Deno.test("planBottle hardens the agent container (SPEC §6.3)", () => {
  const agent = plan("shell").containers.agent;
  const create = agent.create;
  const host = create.HostConfig!;
  assert.equal(create.User, "1000:1000");
  assert.equal(AGENT_USER, "1000:1000");
  assert.equal(create.WorkingDir, "/home/node/workspace");
  assert.deepEqual(host.CapDrop, ["ALL"]);
  assert.equal(host.CapAdd, undefined);
  assert.deepEqual(host.SecurityOpt, ["no-new-privileges"]);
  assert.equal(host.PidsLimit, 4096, "the default pids limit");
  assert.equal(host.Init, true);
  assert.equal(host.Memory, 2 * GiB, 'memory "2g"');
  assert.equal(host.NanoCpus, 2e9, "cpus 2");
  assert.deepEqual(host.Sysctls, { "net.ipv6.conf.all.disable_ipv6": "1" });
  assert.equal(host.NetworkMode, `bot-bottle-net-${SLUG}`);
  assert.deepEqual(Object.keys(create.NetworkingConfig!.EndpointsConfig), [
    `bot-bottle-net-${SLUG}`,
  ]);
  assert.equal(host.Privileged, undefined);
  assert.equal(host.Devices, undefined);
  assert.equal(host.Binds, undefined);
  assert.equal(host.PortBindings, undefined);
  assert.equal(host.Runtime, undefined, "runc is the engine default");
  assert.deepEqual(agent.connect, [], "the agent is on the internal network only");
  assert.deepEqual(agent.hardening.capDrop, ["ALL"]);
  assert.equal(agent.hardening.pidsLimit, 4096);
  assert.deepEqual(agent.hardening.limits, { memoryBytes: 2 * GiB, nanoCpus: 2e9 });
  assert.deepEqual(agent.hardening.readOnlyMounts, [AGENT_CONFIG_DIR]);
});

Deno.test("planBottle mounts only volumes in the agent: config read-only, home read-write", () => {
  const mounts = plan("shell").containers.agent.create.HostConfig!.Mounts!;
  assert.ok(mounts.every((m) => m.Type === "volume"), JSON.stringify(mounts));
  assert.deepEqual(
    mounts.map((m) => [m.Source, m.Target, m.ReadOnly === true]).sort(),
    [
      [`bot-bottle-config-${SLUG}`, "/etc/bot-bottle", true],
      [`bot-bottle-home-${SLUG}`, "/home/node", false],
    ],
  );
  assert.equal(AGENT_HOME, "/home/node");
  assert.equal(AGENT_CONFIG_DIR, "/etc/bot-bottle");
  // The agent starts alongside the sidecar: its image must never populate (or own) the config
  // volume the sidecar writes; the home volume takes the image's skeleton.
  const config = mounts.find((m) => m.Target === AGENT_CONFIG_DIR)!;
  assert.deepEqual(config.VolumeOptions, { NoCopy: true });
  assert.equal(mounts.find((m) => m.Target === AGENT_HOME)!.VolumeOptions, undefined);
});

Deno.test("planBottle puts no host path, device, privilege or engine socket anywhere", () => {
  for (const agent of ["shell", "api", "claude", "gated"]) {
    const p = plan(agent, { runtime: "runsc" });
    const json = JSON.stringify(p);
    assert.ok(!json.includes("docker.sock"), `${agent}: docker.sock`);
    assert.ok(!json.includes("/var/run/docker"), `${agent}: /var/run/docker`);
    assert.ok(!json.includes('"bind"'), `${agent}: a bind mount`);
    for (const c of [p.containers.sidecar, p.containers.agent]) {
      const host = c.create.HostConfig!;
      assert.equal(host.Binds, undefined, `${agent}/${c.service}: Binds`);
      assert.equal(host.Privileged, undefined, `${agent}/${c.service}: Privileged`);
      assert.equal(host.Devices, undefined, `${agent}/${c.service}: Devices`);
      assert.equal(host.CapAdd, undefined, `${agent}/${c.service}: CapAdd`);
      assert.equal(host.PortBindings, undefined, `${agent}/${c.service}: PortBindings`);
      assert.ok((host.Mounts ?? []).every((m) => m.Type === "volume"), `${agent}/${c.service}`);
    }
  }
});

Deno.test("planBottle uses the manifest's pids, memory and cpus for the agent", () => {
  const host = plan("api").containers.agent.create.HostConfig!;
  assert.equal(host.PidsLimit, 256);
  assert.equal(host.Memory, 512 * 1024 ** 2);
  assert.equal(host.NanoCpus, 1.5e9);
});

Deno.test("planBottle leaves Memory and NanoCpus unset when the manifest sets no limits", () => {
  const host = plan("claude").containers.agent.create.HostConfig!;
  assert.equal("Memory" in host, false);
  assert.equal("NanoCpus" in host, false);
  assert.equal(host.PidsLimit, 4096);
});

Deno.test("planBottle hardens the sidecar and gives it the bundle aliases (SPEC §6.4)", () => {
  const sidecar = plan("shell").containers.sidecar;
  const host = sidecar.create.HostConfig!;
  assert.deepEqual(host.CapDrop, ["ALL"]);
  assert.equal(host.CapAdd, undefined);
  assert.deepEqual(host.SecurityOpt, ["no-new-privileges"]);
  assert.equal(host.Init, true);
  assert.deepEqual(host.Sysctls, { "net.ipv4.ip_unprivileged_port_start": "0" });
  assert.equal(host.NetworkMode, `bot-bottle-net-${SLUG}`);
  assert.equal(host.Runtime, undefined);
  assert.equal(sidecar.create.Image, `bot-bottle-sidecar:${VERSION}`);
  assert.deepEqual(sidecar.create.NetworkingConfig, {
    EndpointsConfig: {
      [`bot-bottle-net-${SLUG}`]: { Aliases: ["egress", "git-gate", "supervise"] },
    },
  });
  assert.deepEqual(sidecar.connect, [{ network: `bot-bottle-egress-${SLUG}`, aliases: [] }]);
  assert.deepEqual(
    (host.Mounts ?? []).map((m) => [m.Type, m.Source]),
    [["volume", `bot-bottle-config-${SLUG}`]],
  );
});

Deno.test("planBottle gives the sidecar only names and constants in its Env", () => {
  const env = envMap(plan("api").containers.sidecar.create);
  assert.deepEqual([...env.keys()].sort(), [
    "BOT_BOTTLE_SIDECAR_DAEMONS",
    "BOT_BOTTLE_SLOTS",
    "BOT_BOTTLE_SLUG",
    "DENO_NO_UPDATE_CHECK",
    "EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS",
  ]);
  assert.equal(env.get("BOT_BOTTLE_SLUG"), SLUG);
  assert.equal(env.get("BOT_BOTTLE_SIDECAR_DAEMONS"), "dns,egress,git-gate,supervise");
  assert.equal(env.get("BOT_BOTTLE_SLOTS"), "EGRESS_TOKEN_1");
  assert.equal(env.get("EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS"), "300");
  assert.equal(env.get("DENO_NO_UPDATE_CHECK"), "1");
  const launched = envMap(
    sidecarCreateConfig(plan("api"), {
      internalSubnet: "10.213.0.16/28",
      sidecarAddress: "10.213.0.30",
    }),
  );
  assert.equal(launched.get("BOT_BOTTLE_INTERNAL_SUBNET"), "10.213.0.16/28");
  assert.equal(
    envMap(plan("shell", { daemons: ["dns", "egress", "forge"] }).containers.sidecar.create).get(
      "BOT_BOTTLE_SIDECAR_DAEMONS",
    ),
    "dns,egress,forge",
  );
});

Deno.test("planBottle lists slot names in env.slots and BOT_BOTTLE_SLOTS", () => {
  const cases: [string, string[]][] = [
    ["shell", []],
    ["api", ["EGRESS_TOKEN_1"]],
    ["claude", ["EGRESS_TOKEN_1"]],
  ];
  for (const [agent, slots] of cases) {
    const p = plan(agent);
    assert.deepEqual(p.env.slots, slots, agent);
    assert.equal(envMap(p.containers.sidecar.create).get("BOT_BOTTLE_SLOTS"), slots.join(","));
    for (const slot of slots) assert.match(slot, /^EGRESS_TOKEN_\d+$/);
  }
});

Deno.test("planBottle sets proxies, NO_PROXY and CA paths in the agent container's Env", () => {
  const env = envMap(plan("shell").containers.agent.create);
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) {
    assert.equal(env.get(name), "http://egress:9099", name);
  }
  for (const name of ["NO_PROXY", "no_proxy"]) {
    const hosts = (env.get(name) ?? "").split(",");
    for (const h of ["localhost", "127.0.0.1", "git-gate", "supervise", "forge"]) {
      assert.ok(hosts.includes(h), `${name} has ${h}`);
    }
    assert.ok(!hosts.includes("egress"), `${name} must not bypass the proxy itself`);
  }
  assert.equal(env.get("NODE_EXTRA_CA_CERTS"), "/etc/bot-bottle/ca.crt");
  assert.equal(env.get("CODEX_CA_CERTIFICATE"), "/etc/bot-bottle/ca.crt");
  assert.equal(env.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt");
  assert.equal(env.get("REQUESTS_CA_BUNDLE"), "/etc/ssl/certs/ca-certificates.crt");
  assert.equal(env.get("HOME"), "/home/node");
});

Deno.test("planBottle keeps manifest env, placeholders and the canary out of the agent container's Env", () => {
  for (const agent of ["api", "claude"]) {
    const p = plan(agent);
    const env = envMap(p.containers.agent.create);
    for (
      const name of [
        "API_TOKEN",
        "ASKED",
        "PLAIN",
        "GH",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "BOT_BOTTLE_CANARY",
      ]
    ) {
      assert.equal(env.has(name), false, `${agent}: ${name} in the container Env`);
    }
    assert.ok(!JSON.stringify(p.containers.agent.create).includes("egress-placeholder"), agent);
  }
});

Deno.test("planBottle lists env names (secret and hidden marked) but no values", () => {
  const p = plan("api");
  for (const name of ["API_TOKEN", "ASKED", "PLAIN", "BOT_BOTTLE_CANARY", "HTTP_PROXY"]) {
    assert.ok(p.env.agent.includes(name), name);
  }
  assert.deepEqual(p.env.secret.sort(), ["API_TOKEN", "ASKED"]);
  assert.deepEqual(p.env.hidden, ["BOT_BOTTLE_CANARY"]);
  assert.equal(new Set(p.env.agent).size, p.env.agent.length, "no duplicate names");
  const claude = plan("claude");
  assert.deepEqual(claude.env.hidden, ["CLAUDE_CODE_OAUTH_TOKEN", "BOT_BOTTLE_CANARY"]);
  assert.deepEqual(claude.env.secret, ["GH"]);
});

Deno.test("planBottle never puts a secret value in the plan or either create body", () => {
  // The plan is built from names only; values are resolved at launch. Set every host variable
  // the manifests name to a unique value and check that none of them appears anywhere.
  const names = [
    "HOST_VAR",
    "MY_TOKEN",
    "GH_TOKEN",
    "BOT_BOTTLE_CLAUDE_OAUTH_TOKEN",
    "GITEA_ADMIN_TOKEN",
  ];
  withHostEnv(names, (values) => {
    for (const agent of ["shell", "api", "claude", "gated"]) {
      for (const headless of [false, true]) {
        const p = plan(agent, { headless, prompt: headless ? "do the thing" : null });
        const serialized = [
          JSON.stringify(p),
          JSON.stringify(p.containers.sidecar.create),
          JSON.stringify(p.containers.agent.create),
        ];
        for (const text of serialized) {
          for (const value of values) {
            assert.ok(!text.includes(value), `${agent} (headless ${headless}) leaks a value`);
          }
          assert.ok(!text.includes("SECRET-"), `${agent}: a secret prefix`);
        }
      }
    }
  });
});

Deno.test("planBottle names the auth route's token variable and slot, not its value", () => {
  withHostEnv(["MY_TOKEN"], ([value]) => {
    const p = plan("api");
    const route = p.routes.find((r) => r.host === "api.example.com")!;
    assert.deepEqual(route.auth, {
      scheme: "Bearer",
      tokenRef: "MY_TOKEN",
      slot: "EGRESS_TOKEN_1",
    });
    assert.ok(!JSON.stringify(p.routes).includes(value));
  });
});

Deno.test("planBottle's plan is plain data that survives a JSON round trip", () => {
  for (const agent of ["shell", "api", "claude", "gated"]) {
    const p = plan(agent, { headless: true, prompt: "echo hi" });
    assert.deepEqual(JSON.parse(JSON.stringify(p)), p, agent);
  }
});

Deno.test("planBottle runs shell as `bash -lc <prompt>` headless and `bash -l` interactive", () => {
  const prompt = "echo 'hello world'; exit 3";
  const cases: [Partial<PlanInput>, string[], boolean][] = [
    [{ headless: true, prompt }, ["bash", "-lc", prompt], false],
    [{ headless: false }, ["bash", "-l"], true],
    [{ headless: false, resume: true }, ["bash", "-l"], true],
    [{ headless: true, prompt, resume: true }, ["bash", "-lc", prompt], false],
  ];
  for (const [input, argv, tty] of cases) {
    const p = plan("shell", input);
    assert.deepEqual(p.exec.argv, argv, JSON.stringify(input));
    assert.equal(p.exec.tty, tty);
    assert.equal(p.exec.user, "1000:1000");
    assert.equal(p.exec.workingDir, "/home/node/workspace");
    assert.equal(p.headless, input.headless);
  }
});

Deno.test("planBottle passes claude's resume and remote-control args", () => {
  const p = plan("claude", { resume: true, remoteControl: true });
  assert.equal(p.exec.argv[0], "claude");
  assert.ok(p.exec.argv.includes("--dangerously-skip-permissions"));
  assert.ok(p.exec.argv.includes("--continue"));
  assert.ok(p.exec.argv.includes("--remote-control"));
  const headless = plan("claude", { headless: true, prompt: "fix it" });
  assert.deepEqual(headless.exec.argv.slice(-2), ["-p", "fix it"]);
});

Deno.test("planBottle sets HostConfig.Runtime only for runsc, and only on the agent", () => {
  const runsc = plan("shell", { runtime: "runsc" });
  assert.equal(runsc.runtime, "runsc");
  assert.equal(runsc.containers.agent.create.HostConfig!.Runtime, "runsc");
  assert.equal(runsc.containers.agent.hardening.runtime, "runsc");
  assert.equal(runsc.containers.sidecar.create.HostConfig!.Runtime, undefined);
  const runc = plan("shell", { runtime: "runc" });
  assert.equal("Runtime" in runc.containers.agent.create.HostConfig!, false);
  assert.equal(runc.containers.agent.hardening.runtime, "runc");
});

Deno.test("planBottle records agent, bottles, images, label and provisioning", () => {
  const p = plan("gated", {
    label: "My Label",
    color: "red",
    agentImageCached: false,
    frozenImage: `bot-bottle-frozen:${SLUG}`,
    agentImage: `bot-bottle-frozen:${SLUG}`,
  });
  assert.deepEqual(p.agent, { name: "gated", source: "home", template: "shell" });
  assert.deepEqual(p.bottles, ["gated"]);
  assert.equal(p.label, "My Label");
  assert.equal(p.color, "red");
  assert.deepEqual(p.images.agent, {
    name: `bot-bottle-frozen:${SLUG}`,
    template: "shell",
    cached: false,
    frozen: true,
  });
  assert.equal(p.containers.agent.create.Image, `bot-bottle-frozen:${SLUG}`);
  assert.deepEqual(p.provision.repos, ["api"]);
  assert.equal(p.provision.promptFile, "/home/node/.bot-bottle-prompt.txt");
  assert.deepEqual(p.gitIdentity, { name: "Bottle Bot", email: "bot@example.com" });
  assert.equal(plan("shell").images.agent.frozen, false);
});

Deno.test("planBottle refuses a template that is not builtin with a ConfigError", () => {
  const resolved = resolve("shell");
  const input: PlanInput = {
    resolved: {
      ...resolved,
      provider: { ...resolved.provider, template: "my-plugin", builtin: false },
    },
    slug: SLUG,
    version: VERSION,
    agentImage: "x",
    agentImageCached: null,
    sidecarImage: "y",
    runtime: "runc",
    label: null,
    color: null,
    headless: false,
    prompt: null,
    resume: false,
    remoteControl: false,
  };
  assert.throws(
    () => planBottle(input),
    (e: unknown) => e instanceof ConfigError && e.exitCode === 3,
  );
});

Deno.test("parseMemory reads sizes with b/k/m/g units into bytes", () => {
  const cases: [string | number, number][] = [
    ["2g", 2 * GiB],
    ["2G", 2 * GiB],
    ["4g", 4 * GiB],
    ["1.5g", 1.5 * GiB],
    ["512m", 512 * 1024 ** 2],
    ["512M", 512 * 1024 ** 2],
    ["64k", 64 * 1024],
    ["100b", 100],
    ["100", 100],
    [1073741824, GiB],
  ];
  for (const [value, bytes] of cases) {
    assert.equal(parseMemory(value), bytes, String(value));
  }
});

Deno.test("parseMemory rejects anything else with a ConfigError (exit 3)", () => {
  for (const value of ["", "g", "0", "0g", "-1g", "2 g", "2gb", "2t", "1e9", " 2g", "two"]) {
    assert.throws(
      () => parseMemory(value),
      (e: unknown) => e instanceof ConfigError && e.exitCode === 3,
      JSON.stringify(value),
    );
  }
});

Deno.test("planBottle gives claude MCP_TOOL_TIMEOUT above the launch's supervise wait (SPEC §9.2)", () => {
  const timeout = (p: BottlePlan) => envMap(p.containers.agent.create).get("MCP_TOOL_TIMEOUT");
  assert.equal(timeout(plan("claude")), "960000");
  assert.equal(timeout(plan("claude", { mcpToolTimeoutSeconds: 3660 })), "3660000");
  // Templates without the variable do not get it.
  assert.equal(timeout(plan("shell", { mcpToolTimeoutSeconds: 3660 })), undefined);
});
