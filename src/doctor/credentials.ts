/**
 * The `credentials` check of `bot-bottle doctor` (SPEC §11, §14.2): for every bottle in the
 * home, what a launch would read from the host — route tokens (`auth_token`, `token_ref`),
 * `"${VAR}"` env entries, git-gate keys and provisioner tokens, a forwarded host login — is
 * there. Values are read exactly as a launch reads them and never printed; a problem names the
 * variable, file or condition. {@linkcode credentialRefs} is pure; {@linkcode checkBottleCredentials}
 * does the reading.
 *
 * @module
 */
import { readGateKeys, readHostCredentials } from "../credentials/mod.ts";
import { BottleError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";
import {
  type ManifestCatalog,
  parseManifest,
  resolveAgent,
  type ResolvedAgent,
  validateAgent,
} from "../manifest/mod.ts";
import type { Check } from "./checks.ts";

/** A host variable a bottle's launch reads. */
export interface VariableRef {
  variable: string;
  /** What it is for: `the token for api.anthropic.com`, `env GITHUB_TOKEN`. */
  use: string;
}

/**
 * The host variables a resolved bottle reads at launch (route tokens and `${VAR}` env entries),
 * each once, in manifest order. Provider routes of a bottle that forwards the host login take
 * the login instead of a variable.
 */
export function credentialRefs(resolved: ResolvedAgent): VariableRef[] {
  const refs: VariableRef[] = [];
  const add = (variable: string, use: string) => {
    if (!refs.some((r) => r.variable === variable)) refs.push({ variable, use });
  };
  for (const route of resolved.routes) {
    if (!route.auth) continue;
    if (resolved.provider.forwardHostCredentials && route.provider !== null) continue;
    add(route.auth.tokenRef, `the token the sidecar injects for ${route.host}`);
  }
  for (const entry of resolved.env) {
    if (entry.kind === "host" && entry.hostVar) add(entry.hostVar, `env ${entry.name}`);
  }
  return refs;
}

/** The agent name doctor resolves each bottle with (not a valid file name, so never a user's). */
const PROBE_AGENT = "(doctor)";

/** `catalog` plus one agent, {@linkcode PROBE_AGENT}, whose bottle is `bottle`. */
function probeCatalog(catalog: ManifestCatalog, bottle: string): ManifestCatalog {
  const agent = validateAgent(
    parseManifest(`---\nbottle: ${bottle}\n---\n`, "(doctor)"),
    PROBE_AGENT,
  );
  return {
    get: (name) => catalog.get(name),
    names: () => catalog.names(),
    agent: (name) => (name === PROBE_AGENT ? { manifest: agent, source: "home" } : undefined),
    agentNames: () => [PROBE_AGENT],
    plugin: (name) => catalog.plugin?.(name),
    pluginNames: () => catalog.pluginNames?.() ?? [],
  };
}

function problem(bottle: string, detail: string, fix: string | undefined): Check {
  return {
    status: "fail",
    name: "credentials",
    detail: `bottle ${bottle}: ${detail}`,
    fix: fix ?? "See docs/credentials.md",
  };
}

/**
 * The `credentials` lines of one home bottle: one `fail` per missing credential, else one `ok`
 * naming what was found; a `warn` when the bottle cannot be resolved (a broken manifest).
 */
export async function checkBottleCredentials(
  catalog: ManifestCatalog,
  bottle: string,
  hostEnv: EnvReader,
): Promise<Check[]> {
  let resolved: ResolvedAgent;
  try {
    resolved = resolveAgent(probeCatalog(catalog, bottle), PROBE_AGENT, { bottles: [bottle] });
  } catch (error) {
    return [{
      status: "warn",
      name: "credentials",
      detail: `bottle ${bottle}: not checked: ${(error as Error).message.split("\n")[0]}`,
      fix: "Run `bot-bottle list` to see the problem, then fix the manifest",
    }];
  }
  const checks: Check[] = [];
  const found: string[] = [];
  for (const ref of credentialRefs(resolved)) {
    const value = hostEnv(ref.variable);
    if (value === undefined || value === "") {
      checks.push(problem(
        bottle,
        `${ref.variable} is ${value === undefined ? "not set" : "empty"}`,
        `Export ${ref.variable} (${ref.use}) before starting; see docs/credentials.md`,
      ));
    } else {
      found.push(`${ref.variable} set`);
    }
  }
  const failed = (error: unknown) => {
    if (!(error instanceof BottleError)) throw error;
    checks.push(problem(bottle, error.message, error.hint));
  };
  for (const repo of resolved.gitGate) {
    try {
      await readGateKeys([repo], hostEnv);
      found.push(
        repo.key.provider === "static"
          ? `git-gate key of ${repo.name} readable`
          : `${repo.key.provisionerToken} set`,
      );
    } catch (error) {
      failed(error);
    }
  }
  if (resolved.provider.forwardHostCredentials) {
    try {
      await readHostCredentials(resolved.provider.template, { hostEnv });
      found.push(`the host's ${resolved.provider.template} login usable`);
    } catch (error) {
      failed(error);
    }
  }
  if (checks.length > 0) return checks;
  return [{
    status: "ok",
    name: "credentials",
    detail: `bottle ${bottle}: ${found.length > 0 ? found.join(", ") : "needs no credentials"}`,
  }];
}
