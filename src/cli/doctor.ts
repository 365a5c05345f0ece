/**
 * `bot-bottle doctor [--json]` (SPEC §14.2): runs `src/doctor/` and prints one line per check
 * with a `fix:` line under each failure, or the same checks as one JSON object. Exit 1 when a
 * check failed, else 0 (warnings included).
 *
 * @module
 */
import { doctorExitCode, doctorJson, formatChecks, runDoctor } from "../doctor/mod.ts";
import type { CommandSpec } from "./command.ts";
import { escapeControl } from "./io.ts";

const COLOURS = { ok: 32, warn: 33, fail: 31 } as const;

/** `bot-bottle doctor`: check the host setup. */
export const doctorCommand: CommandSpec = {
  name: "doctor",
  summary: "Check the engine, runtimes, images, home permissions and credentials.",
  positionals: [],
  options: {},
  details: [
    "Checks: engine and API version, the engine's DNS fix (CVE-2024-29018), gVisor, free disk",
    "space, base images, bot-bottle's images, home permissions (0700 directories, 0600",
    "database and keys), the credentials each home bottle needs (never printed), the macOS",
    "Keychain and BOT_BOTTLE_EXTRA_CA_CERTS. Each failure has a `fix:` line. Exit 1 when a",
    "check failed.",
  ].join("\n"),
  async run({ globals, io }) {
    const checks = await runDoctor({
      warn: (line) => {
        if (!globals.quiet) io.err(`bot-bottle: warning: ${escapeControl(line)}\n`);
      },
    });
    if (globals.json) {
      io.out(`${JSON.stringify(doctorJson(checks), null, 2)}\n`);
    } else {
      const colour = io.color && io.stdoutIsTTY;
      const safe = checks.map((c) => ({
        ...c,
        detail: escapeControl(c.detail),
        fix: c.fix === undefined ? undefined : escapeControl(c.fix),
      }));
      io.out(formatChecks(safe, {
        paint: colour ? (text, status) => `\x1b[${COLOURS[status]}m${text}\x1b[0m` : undefined,
      }));
    }
    return doctorExitCode(checks);
  },
};
