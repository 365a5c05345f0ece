/**
 * The preflight summary of `start`/`resume` (SPEC §5.3): names, schemes and origins, never a
 * value; written to stderr before the confirmation.
 *
 * @module
 */
import type { BottlePlan } from "../bottle/plan.ts";
import type { ResolvedAgent } from "../manifest/mod.ts";
import { routeMatches } from "./route_text.ts";
import { escapeControl } from "./io.ts";

/** The preflight text. */
export function formatPreflight(plan: BottlePlan, resolved: ResolvedAgent): string {
  const rows: [string, string][] = [];
  rows.push(["agent", `${plan.agent.name} (${plan.agent.source})`]);
  rows.push([
    "bottles",
    resolved.bottles.chains.map((c) => [c.name, ...c.ancestors].join(" <- ")).join(" + "),
  ]);
  rows.push(["slug", plan.slug]);
  if (plan.label) rows.push(["label", plan.label]);
  const cached = plan.images.agent.frozen
    ? "frozen"
    : plan.images.agent.cached === null
    ? "not checked"
    : plan.images.agent.cached
    ? "cached"
    : "to build";
  rows.push(["image", `${plan.images.agent.name} (${cached})`]);
  rows.push(["runtime", plan.runtime === "runsc" ? "runsc (gVisor)" : "runc"]);
  const id = resolved.gitIdentity;
  if (id.name || id.email) {
    const from = id.name?.from ?? id.email?.from;
    rows.push([
      "git identity",
      `${id.name?.value ?? "?"} <${id.email?.value ?? "?"}> (${from})`,
    ]);
  }
  for (const [i, repo] of plan.gitGate.entries()) {
    rows.push([
      i === 0 ? "git-gate" : "",
      `${repo.name} -> ${repo.url} [${
        repo.key.provider === "gitea" ? "gitea deploy key" : "static key"
      }]`,
    ]);
  }
  for (const [i, repo] of plan.localRepos.entries()) {
    rows.push([
      i === 0 && plan.gitGate.length === 0 ? "git-gate" : "",
      `${repo.name} -> ${repo.path} [your checkout; pushes come back as bot-bottle/${plan.slug}/<branch>]`,
    ]);
  }
  if (plan.routes.length === 0) rows.push(["egress", "none (every outbound request is blocked)"]);
  const hostWidth = Math.max(0, ...plan.routes.map((r) => r.host.length));
  for (const [i, r] of plan.routes.entries()) {
    const origin = r.origin === "manifest" ? "manifest" : `provider:${r.provider}`;
    rows.push([
      i === 0 ? "egress" : "",
      `${r.host.padEnd(hostWidth)}  ${(r.auth?.scheme ?? "-").padEnd(6)}  ${origin}  ${
        routeMatches(r)
      }  on_match=${r.dlp.onMatch}`,
    ]);
  }
  const env = [
    ...resolved.env.map((e) => `${e.name}${e.secret ? " (secret)" : ""}`),
    ...resolved.hiddenEnv.map((n) => `${n} (hidden)`),
  ];
  rows.push(["env", env.length > 0 ? env.join(", ") : "none from manifests"]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = ["bot-bottle: launch plan"];
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${escapeControl(v)}`);
  return lines.join("\n") + "\n";
}
