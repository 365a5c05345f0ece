/**
 * The orchestrator's configuration (SPEC §13.1): environment variables validated with zod into
 * an {@linkcode OrchestratorConfig}. Every bad value gives one line naming the variable and what
 * is expected — never the value, since several of them are secrets — and
 * {@linkcode OrchestratorConfigError} (exit 3) carries the lines.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError } from "../lib/errors.ts";
import { defaultOrchestratorDb, type EnvReader } from "../lib/home.ts";
import type { EngineSpec } from "./types.ts";

/** The validated configuration of `orchestrate run`. */
export interface OrchestratorConfig {
  forgeUrl: string;
  forgeToken: string;
  agentOrg: string;
  webhookSecret: string;
  host: string;
  port: number;
  /** Seconds a launch or resume may run before the watchdog freezes it. */
  watchdogTimeout: number;
  maxConcurrent: number;
  /** Token for `/` and `/runs` on a non-loopback bind; null when unset. */
  dashboardToken: string | null;
  /** The orchestrator's SQLite file. */
  dbPath: string;
  engines: EngineSpec[];
  /** What is allowed but weak (a short secret or token), one line each, never the value. */
  warnings: string[];
}

/** Below this many characters a secret or token is accepted with a warning. */
const STRONG_SECRET_CHARS = 16;

/** The configuration was invalid: one line per bad value (exit 3). */
export class OrchestratorConfigError extends ConfigError {
  /** `VARIABLE: what is expected`, one per bad value. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid orchestrator configuration: ${problems.join("; ")}`, {
      hint: "Set the variables as docs/orchestrator.md (Configuration) describes",
    });
    this.problems = problems;
  }
}

const nonEmpty = (what: string) =>
  z.string({ error: `required: ${what}` }).min(1, `required: ${what}`);

const intIn = (min: number, max: number, what: string) =>
  z.string().regex(/^[0-9]+$/, `expected ${what}`).transform(Number).refine(
    (n) => n >= min && n <= max,
    `expected ${what}`,
  );

const httpUrl = nonEmpty("the Gitea base URL, e.g. https://gitea.example").refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && u.username === "" &&
      u.password === "";
  } catch {
    return false;
  }
}, "expected an http(s) URL without credentials, e.g. https://gitea.example");

const ENV_SCHEMA = z.object({
  FORGE_URL: httpUrl,
  FORGE_TOKEN: nonEmpty("the bot account's Gitea API token"),
  FORGE_AGENT_ORG: nonEmpty("the Gitea organisation of the agent accounts").regex(
    /^[A-Za-z0-9_.-]+$/,
    "expected an organisation name (letters, digits, _ . -)",
  ),
  FORGE_WEBHOOK_SECRET: nonEmpty("the webhook secret configured in Gitea (no start without it)"),
  FORGE_WEBHOOK_HOST: z.string().min(1, "expected an address to listen on, e.g. 127.0.0.1")
    .regex(/^[A-Za-z0-9.:_-]+$/, "expected an address to listen on, e.g. 127.0.0.1")
    .default("127.0.0.1"),
  FORGE_WEBHOOK_PORT: intIn(1, 65535, "a port 1-65535").default(8477),
  FORGE_WATCHDOG_TIMEOUT: intIn(1, 7 * 24 * 3600, "seconds, 1-604800").default(1800),
  FORGE_MAX_CONCURRENT: intIn(1, 256, "an integer 1-256").default(4),
  FORGE_DASHBOARD_TOKEN: z.string().optional(),
  BOT_BOTTLE_DB: z.string().min(1).refine((s) => s.startsWith("/"), "expected an absolute path")
    .optional(),
  FORGE_ENGINES: z.string().optional(),
});

const ENV_NAMES = Object.keys(ENV_SCHEMA.shape) as (keyof typeof ENV_SCHEMA.shape)[];

/**
 * Parses `FORGE_ENGINES`: `name=URL[;capacity=N][;certs=/dir]`, comma-separated.
 *
 * @returns the engines, or the problems found (each names the entry, never a value beyond it).
 */
export function parseEngines(
  text: string,
  defaultCapacity: number,
): { engines: EngineSpec[]; problems: string[] } {
  const engines: EngineSpec[] = [];
  const problems: string[] = [];
  const entries = text.split(",").map((e) => e.trim()).filter((e) => e !== "");
  if (entries.length === 0) problems.push("FORGE_ENGINES: expected at least one name=URL entry");
  for (const [i, entry] of entries.entries()) {
    const where = `FORGE_ENGINES entry ${i + 1}`;
    const [head, ...opts] = entry.split(";").map((p) => p.trim());
    const eq = head.indexOf("=");
    const name = eq > 0 ? head.slice(0, eq) : "";
    const url = eq > 0 ? head.slice(eq + 1) : "";
    if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(name)) {
      problems.push(`${where}: expected name=URL with a name of [a-z0-9_-] (1-32 characters)`);
      continue;
    }
    if (!/^unix:\/\/\/.+$/.test(url) && !/^tcp:\/\/[^/\s]+:[0-9]{1,5}$/.test(url)) {
      problems.push(`${where} "${name}": expected unix:///path or tcp://host:port`);
      continue;
    }
    let capacity = defaultCapacity;
    let certPath: string | null = null;
    let ok = true;
    for (const opt of opts) {
      const m = /^(capacity|certs)=(.+)$/.exec(opt);
      if (m?.[1] === "capacity" && /^[0-9]+$/.test(m[2]) && Number(m[2]) >= 1) {
        capacity = Number(m[2]);
      } else if (m?.[1] === "certs" && m[2].startsWith("/")) {
        certPath = m[2];
      } else {
        problems.push(
          `${where} "${name}": expected options capacity=N (N >= 1) or certs=/absolute/dir`,
        );
        ok = false;
      }
    }
    if (certPath !== null && !url.startsWith("tcp://")) {
      problems.push(`${where} "${name}": certs= applies to tcp:// engines only`);
      ok = false;
    }
    if (engines.some((e) => e.name === name)) {
      problems.push(`${where} "${name}": expected unique engine names`);
      ok = false;
    }
    if (ok) engines.push({ name, url, certPath, capacity });
  }
  return { engines, problems };
}

/**
 * Reads and validates the orchestrator's environment.
 *
 * @param stateDir the bot-bottle home's `state` directory (default for the database).
 * @throws {OrchestratorConfigError} (exit 3) with one line per bad value.
 */
export function loadOrchestratorConfig(env: EnvReader, stateDir: string): OrchestratorConfig {
  const raw: Record<string, string | undefined> = {};
  for (const name of ENV_NAMES) {
    const value = env(name);
    // An empty optional variable means "unset"; an empty required one stays "" (→ required).
    raw[name] = value === "" && !REQUIRED.has(name) ? undefined : value;
  }
  const parsed = ENV_SCHEMA.safeParse(raw);
  const problems: string[] = [];
  if (!parsed.success) {
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]);
      if (seen.has(name)) continue;
      seen.add(name);
      const message = issue.code === "invalid_type" && raw[name] === undefined
        ? (REQUIRED_WHAT[name] ?? "required")
        : issue.message;
      problems.push(`${name}: ${message}`);
    }
  }
  let engines: EngineSpec[] = [];
  const maxConcurrent = parsed.success ? parsed.data.FORGE_MAX_CONCURRENT : 4;
  if (raw.FORGE_ENGINES !== undefined) {
    const result = parseEngines(raw.FORGE_ENGINES, maxConcurrent);
    problems.push(...result.problems);
    engines = result.engines;
  } else {
    engines = [{ name: "default", url: "", certPath: null, capacity: maxConcurrent }];
  }
  if (!parsed.success || problems.length > 0) {
    problems.sort((a, b) => ENV_ORDER(a) - ENV_ORDER(b));
    throw new OrchestratorConfigError(problems);
  }
  const d = parsed.data;
  const warnings: string[] = [];
  const short = (name: string, value: string | undefined) => {
    if (value !== undefined && value.length < STRONG_SECRET_CHARS) {
      warnings.push(
        `${name} is shorter than ${STRONG_SECRET_CHARS} characters, so it can be guessed; use a random one (openssl rand -hex 32)`,
      );
    }
  };
  short("FORGE_WEBHOOK_SECRET", d.FORGE_WEBHOOK_SECRET);
  short("FORGE_DASHBOARD_TOKEN", d.FORGE_DASHBOARD_TOKEN);
  return {
    // The site's base: a URL given as the API's (`…/api/v1`) is taken back to it, as the sidecar
    // and the dashboard's links add their own paths.
    forgeUrl: d.FORGE_URL.replace(/\/+$/, "").replace(/\/api\/v1$/i, ""),
    forgeToken: d.FORGE_TOKEN,
    agentOrg: d.FORGE_AGENT_ORG,
    webhookSecret: d.FORGE_WEBHOOK_SECRET,
    host: d.FORGE_WEBHOOK_HOST,
    port: d.FORGE_WEBHOOK_PORT,
    watchdogTimeout: d.FORGE_WATCHDOG_TIMEOUT,
    maxConcurrent: d.FORGE_MAX_CONCURRENT,
    dashboardToken: d.FORGE_DASHBOARD_TOKEN ?? null,
    dbPath: d.BOT_BOTTLE_DB ?? defaultOrchestratorDb(stateDir),
    engines,
    warnings,
  };
}

const REQUIRED = new Set(["FORGE_URL", "FORGE_TOKEN", "FORGE_AGENT_ORG", "FORGE_WEBHOOK_SECRET"]);

const REQUIRED_WHAT: Record<string, string> = {
  FORGE_URL: "required: the Gitea base URL, e.g. https://gitea.example",
  FORGE_TOKEN: "required: the bot account's Gitea API token",
  FORGE_AGENT_ORG: "required: the Gitea organisation of the agent accounts",
  FORGE_WEBHOOK_SECRET: "required: the webhook secret configured in Gitea (no start without it)",
};

function ENV_ORDER(line: string): number {
  const i = ENV_NAMES.findIndex((n) => line.startsWith(n));
  return i === -1 ? ENV_NAMES.length : i;
}
