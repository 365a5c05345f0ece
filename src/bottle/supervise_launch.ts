/**
 * Supervise in a launch: the settings the sidecar gets (`config.supervise`: whether an approver
 * can answer, the waits from the host environment, the caps) and the owner's part of a launch —
 * recording proposals with their messages, relaying decisions, expiring what is left when the
 * owner releases the bottle (`supervise_relay.ts` does the work).
 *
 * @module
 */
import { ConfigError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";
import {
  DEFAULT_SUPERVISE,
  type SidecarMessage,
  type SuperviseSettings,
} from "../sidecar/control/protocol.ts";
import type { ProposalStore } from "../store/mod.ts";
import { mcpToolTimeoutSeconds } from "./providers/mcp.ts";
import type { SidecarLink } from "./sidecar_link.ts";
import {
  printable,
  recordProposal,
  startSuperviseRelay,
  type SuperviseRelay,
} from "./supervise_relay.ts";

const MAX_TIMEOUT_SECONDS = 86_400;

function seconds(env: EnvReader, name: string, fallback: number): number {
  const raw = env(name)?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = /^[0-9]{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1 && value <= MAX_TIMEOUT_SECONDS)) {
    throw new ConfigError(
      `Cannot use ${name} "${
        printable(raw, 40)
      }": not a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`,
      { hint: `Set ${name} to a number of seconds (default ${fallback}), or unset it` },
    );
  }
  return value;
}

/**
 * The supervise settings a launch sends the sidecar: whether an approver can answer, and the
 * waits from `EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS` and `SUPERVISE_TIMEOUT_SECONDS`.
 *
 * @throws {ConfigError} for a timeout that is not a whole number of seconds from 1 to 86400.
 */
export function superviseSettings(env: EnvReader, approvals: boolean): SuperviseSettings {
  return {
    ...DEFAULT_SUPERVISE,
    approvals,
    tokenAllowTimeoutSeconds: seconds(
      env,
      "EGRESS_TOKEN_ALLOW_TIMEOUT_SECONDS",
      DEFAULT_SUPERVISE.tokenAllowTimeoutSeconds,
    ),
    routeTimeoutSeconds: seconds(
      env,
      "SUPERVISE_TIMEOUT_SECONDS",
      DEFAULT_SUPERVISE.routeTimeoutSeconds,
    ),
  };
}

/**
 * The agents' MCP tool-call timeout for a launch: above the longest wait a supervise tool can
 * block under this host environment (`SUPERVISE_TIMEOUT_SECONDS`, SPEC §9.2).
 *
 * @throws {ConfigError} for a bad `SUPERVISE_TIMEOUT_SECONDS` (as {@linkcode superviseSettings}).
 */
export function launchMcpToolTimeout(env: EnvReader): number {
  return mcpToolTimeoutSeconds(superviseSettings(env, false));
}

/** The host variable that turns approvals off for CLI launches (scripts, CI: nobody to ask). */
export const APPROVALS_VARIABLE = "BOT_BOTTLE_SUPERVISE_APPROVALS";

/**
 * Whether a launch's held requests wait for a decision (SPEC §7.4): the launch's own choice if
 * it made one (the programmatic API's opt-in); else `BOT_BOTTLE_SUPERVISE_APPROVALS` for CLI
 * owners (1: someone answers with `bot-bottle supervise`, headless or not; 0: block at once);
 * else yes only for a CLI owner on a terminal — a person is there to run `bot-bottle supervise`,
 * while a script or CI run without one would only wait for the timeout. `api` owners: no.
 *
 * @throws {ConfigError} for a `BOT_BOTTLE_SUPERVISE_APPROVALS` that is not 0/1/true/false/on/off.
 */
export function launchApprovals(
  env: EnvReader,
  owner: "cli" | "api",
  chosen: boolean | undefined,
  terminal = false,
): boolean {
  if (chosen !== undefined) return chosen;
  if (owner !== "cli") return false;
  const raw = env(APPROVALS_VARIABLE)?.trim().toLowerCase() ?? "";
  if (raw === "") return terminal;
  if (["1", "true", "on", "yes"].includes(raw)) return true;
  if (["0", "false", "off", "no"].includes(raw)) return false;
  throw new ConfigError(
    `Cannot use ${APPROVALS_VARIABLE} "${printable(raw, 40)}": not 0 or 1`,
    { hint: `Set ${APPROVALS_VARIABLE}=0 to block flagged requests at once, or unset it` },
  );
}

/** What a launch needs of supervise: settings, the message hook, the relay's start and stop. */
export interface LaunchSupervision {
  readonly settings: SuperviseSettings;
  /** The `onMessage` part for proposals (inside the commit transaction). */
  onMessage(message: SidecarMessage): void;
  /** Starts relaying decisions over the channel. */
  start(channel: Pick<SidecarLink, "request">): void;
  /** Stops relaying; pending proposals of the bottle expire (nothing will wait on them). */
  stop(): Promise<void>;
}

/** Options of {@linkcode launchSupervision}. */
export interface LaunchSupervisionOptions {
  proposals: ProposalStore;
  slug: string;
  env: EnvReader;
  owner: "cli" | "api";
  /** The launch's own choice ({@linkcode launchApprovals}). */
  approvals?: boolean;
  /** Whether the owner runs on a terminal (the default of {@linkcode launchApprovals}). */
  terminal?: boolean;
  note?: (line: string) => void;
  debug?: (line: string) => void;
}

/**
 * Supervise for one launch. Validates the settings at once (call it before anything is
 * created); on start expires what an earlier run of the same slug left pending (a new sidecar
 * knows nothing of it).
 *
 * @throws {ConfigError} for bad timeout or approvals variables.
 */
export function launchSupervision(options: LaunchSupervisionOptions): LaunchSupervision {
  const settings = superviseSettings(
    options.env,
    launchApprovals(options.env, options.owner, options.approvals, options.terminal),
  );
  let relay: SuperviseRelay | undefined;
  let started = false;
  const mine = new Set<number>();
  return {
    settings,
    onMessage(message) {
      const record = recordProposal(options.proposals, options.slug, message, options.debug);
      if (record !== undefined) mine.add(record.id);
    },
    start(channel) {
      if (!started) {
        const why = "an earlier run of the bottle filed it";
        options.proposals.expireBottle(options.slug, why, mine);
      }
      started = true;
      relay ??= startSuperviseRelay({
        proposals: options.proposals,
        slug: options.slug,
        channel,
        note: options.note,
        debug: options.debug,
      });
    },
    async stop() {
      await relay?.stop();
      relay = undefined;
      options.proposals.expireBottle(options.slug, "the bottle's owner released it");
    },
  };
}
