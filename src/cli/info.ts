import { resolveAgent, type ResolvedAgent, type ResolvedRoute } from "../manifest/mod.ts";
import type { CommandSpec } from "./command.ts";
import { escapeControl } from "./io.ts";
import { openCliCatalog } from "./catalog.ts";
import { gitIdentityText } from "./identity_text.ts";
import { routeDetectors, routeMatches, routeOrigin } from "./route_text.ts";
import { describeInboundPolicy } from "../sidecar/egress/dlp/inbound/policy.ts";

/** One env entry of `info --json`: names and kinds only, never a value. */
export interface InfoEnv {
  name: string;
  kind: "literal" | "host" | "prompt" | "placeholder";
  /** `?` and `${…}` values are secrets. */
  secret: boolean;
  /** Provider placeholders the sidecar replaces on the wire. */
  hidden: boolean;
  /** For `host`: the host variable copied. */
  hostVar: string | null;
  bottle: string | null;
}

/** The `info --json` object (docs/cli-output.md). */
export interface InfoOutput {
  agent: Omit<ResolvedAgent["agent"], "prompt">;
  bottles: ResolvedAgent["bottles"];
  bottleNeedsConfirmation: boolean;
  provider: Omit<ResolvedAgent["provider"], "settings"> & { settingsKeys: string[] };
  gitIdentity: ResolvedAgent["gitIdentity"];
  gitGate: ResolvedAgent["gitGate"];
  routes: ResolvedRoute[];
  egressLog: 0 | 1 | 2;
  env: InfoEnv[];
  resources: ResolvedAgent["resources"];
}

/** The value-free view of a resolved agent that `info --json` prints. */
export function infoOutput(r: ResolvedAgent): InfoOutput {
  const { prompt: _prompt, ...agent } = r.agent;
  const { settings, ...provider } = r.provider;
  return {
    agent,
    bottles: r.bottles,
    bottleNeedsConfirmation: r.bottleNeedsConfirmation,
    provider: { ...provider, settingsKeys: Object.keys(settings).sort() },
    gitIdentity: r.gitIdentity,
    gitGate: r.gitGate,
    routes: r.routes,
    egressLog: r.egressLog,
    env: [
      ...r.env.map((e): InfoEnv => ({
        name: e.name,
        kind: e.kind,
        secret: e.secret,
        hidden: false,
        hostVar: e.hostVar ?? null,
        bottle: e.bottle ?? null,
      })),
      ...r.hiddenEnv.map((name): InfoEnv => ({
        name,
        kind: "placeholder",
        secret: false,
        hidden: true,
        hostVar: null,
        bottle: null,
      })),
    ],
    resources: r.resources,
  };
}

/** The human form of `info` (§5.2): labelled lines, names and schemes, never values. */
export function formatInfo(r: ResolvedAgent): string {
  const lines: [string, string][] = [];
  const add = (label: string, value: string) => lines.push([label, value]);
  add("agent", `${r.agent.name} (${r.agent.source}) ${r.agent.file}`);
  add("prompt", r.agent.promptFirstLine || "(empty)");
  add(
    "bottles",
    r.bottles.chains.map((c) => [c.name, ...c.ancestors].join(" <- ")).join(" + "),
  );
  if (r.bottleNeedsConfirmation) {
    add(
      "note",
      `repository agent picks bottle "${
        r.bottles.requested[0]
      }": start asks to confirm; headless needs --bottle`,
    );
  }
  const template = r.provider.template + (r.provider.builtin ? "" : " (plugin)");
  const credential = r.provider.forwardHostCredentials
    ? "host credentials forwarded"
    : r.provider.authToken
    ? `auth_token from ${r.provider.authToken}`
    : "no credential";
  add("template", `${template}, ${credential}`);
  add("git identity", gitIdentityText(r.gitIdentity) ?? "(none)");
  if (r.gitGate.length === 0) add("git-gate", "(no remotes)");
  r.gitGate.forEach((g, i) =>
    add(
      i === 0 ? "git-gate" : "",
      `${g.name} -> ${g.url} [${g.key.provider === "gitea" ? "gitea deploy key" : "static key"}]`,
    )
  );
  if (r.routes.length === 0) add("egress", "(no routes: all outbound traffic blocked)");
  const cols = [
    Math.max(...r.routes.map((x) => x.host.length), 0),
    Math.max(...r.routes.map((x) => (x.auth?.scheme ?? "-").length), 0),
    Math.max(...r.routes.map((x) => routeOrigin(x).length), 0),
    Math.max(...r.routes.map((x) => routeMatches(x).length), 0),
    Math.max(...r.routes.map((x) => `on_match=${x.dlp.onMatch}`.length), 0),
    Math.max(...r.routes.map((x) => routeDetectors(x).length), 0),
  ];
  r.routes.forEach((x, i) =>
    add(
      i === 0 ? "egress" : "",
      [
        x.host.padEnd(cols[0]),
        (x.auth?.scheme ?? "-").padEnd(cols[1]),
        routeOrigin(x).padEnd(cols[2]),
        routeMatches(x).padEnd(cols[3]),
        `on_match=${x.dlp.onMatch}`.padEnd(cols[4]),
        routeDetectors(x).padEnd(cols[5]),
        `inbound=${describeInboundPolicy(x)}`,
      ].join("  "),
    )
  );
  const env = [
    ...r.env.map((e) => `${e.name}${e.secret ? " (secret)" : ""}`),
    ...r.hiddenEnv.map((n) => `${n} (hidden)`),
  ];
  add("env", env.length > 0 ? env.join(", ") : "(none)");
  if (r.agent.skills.length > 0) add("skills", r.agent.skills.join(", "));
  const res = r.resources;
  add(
    "resources",
    [
      res.memory !== null ? `memory ${res.memory}` : "",
      res.cpus !== null ? `cpus ${res.cpus}` : "",
      `pids ${res.pids}`,
      res.runtime !== null ? `runtime ${res.runtime}` : "",
    ].filter(Boolean).join(", "),
  );
  const width = Math.max(...lines.map(([l]) => l.length));
  return lines.map(([l, v]) => escapeControl(`${l.padEnd(width)}  ${v}`.trimEnd()) + "\n").join(
    "",
  );
}

/** `bot-bottle info`: show a resolved agent. */
export const infoCommand: CommandSpec = {
  name: "info",
  summary:
    "Show a resolved agent: prompt, bottle chain, template, git identity, remotes, routes, env names.",
  positionals: [{ name: "agent", required: true, description: "Agent manifest name" }],
  options: {
    bottle: {
      type: "string",
      multiple: true,
      valueName: "B",
      description: "Bottle manifest; repeat to merge in order",
    },
  },
  details:
    "Only the agent and its bottle chain are read. Names of variables are shown, never values.\n`--json` prints the object described in docs/cli-output.md.",
  run({ io, globals, positionals, values }) {
    const catalog = openCliCatalog(io, globals);
    const bottles = (values.bottle as string[] | undefined) ?? [];
    const resolved = resolveAgent(catalog, positionals[0], { bottles });
    if (globals.json) io.out(JSON.stringify(infoOutput(resolved), null, 2) + "\n");
    else io.out(formatInfo(resolved));
    return Promise.resolve(0);
  },
};
