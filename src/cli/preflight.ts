/**
 * The preflight summary of `start`/`resume` (SPEC §5.3): names, schemes and origins, never a
 * value; written to stderr before the confirmation.
 *
 * @module
 */
import type { BottlePlan } from "../bottle/plan.ts";
import type { ResolvedAgent } from "../manifest/mod.ts";
import { gitIdentityText } from "./identity_text.ts";
import { routeMatches } from "./route_text.ts";
import { escapeControl } from "./io.ts";

/**
 * The preflight text. `runscAvailable` is whether the engine offers gVisor (`GET /info`), shown
 * next to `runc` when it does (SPEC §6.3).
 */
export function formatPreflight(
  plan: BottlePlan,
  resolved: ResolvedAgent,
  runscAvailable: boolean | null = null,
): string {
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
  rows.push([
    "runtime",
    plan.runtime === "runsc"
      ? "runsc (gVisor)"
      : runscAvailable
      ? "runc (runsc available)"
      : "runc",
  ]);
  const identity = gitIdentityText(resolved.gitIdentity);
  if (identity !== null) rows.push(["git identity", identity]);
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
  const origins = plan.routes.map((r) =>
    r.origin === "provider" ? `provider:${r.provider}` : r.origin
  );
  const matches = plan.routes.map((r) => routeMatches(r));
  const widest = (cells: string[]) => Math.max(0, ...cells.map((c) => c.length));
  const hostWidth = widest(plan.routes.map((r) => r.host));
  const originWidth = widest(origins);
  const matchesWidth = widest(matches);
  for (const [i, r] of plan.routes.entries()) {
    rows.push([
      i === 0 ? "egress" : "",
      [
        r.host.padEnd(hostWidth),
        (r.auth?.scheme ?? "-").padEnd(6),
        origins[i].padEnd(originWidth),
        matches[i].padEnd(matchesWidth),
        `on_match=${r.dlp.onMatch}`,
      ].join("  "),
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
