/**
 * Entry point of the sidecar bundle (copied as-is to `/opt/bot-bottle/sidecar/` and run with
 * `deno run`). It imports nothing outside `src/sidecar/`.
 *
 * ```
 * main.ts [init]              the init: daemons, control and outbox sockets (see init.ts)
 * main.ts bridge              stdin ⇄ control socket, for the host's exec (BRIDGE_COMMAND)
 * main.ts emit <type> [body]  queue one message for the host, print its seq (EMIT_COMMAND)
 * main.ts pre-receive <sock>  a mirror's pre-receive hook: hands the push to git-gate
 * ```
 *
 * The init logs JSON lines on stderr; `bridge` and `emit` print one
 * `bot-bottle-sidecar: error: …` line on failure. Exit codes: 0 ok, 1 failure, 2 usage.
 *
 * @module
 */

import { EXIT_FAILURE, EXIT_USAGE, SidecarError } from "./errors.ts";

// Each subcommand loads only its own modules: the host's `bridge` exec runs while the init
// boots, and loading every daemon there cost ~70 ms of the two CPUs' time at each start. The
// image warms each of these modules so V8's code cache holds them (sidecar.Dockerfile).

const env = (name: string) => Deno.env.get(name);

/** Runs one subcommand and resolves with its exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [command = "init", ...rest] = args;
  try {
    switch (command) {
      case "init":
        if (rest.length > 0) throw new SidecarError("Usage: main.ts [init]", EXIT_USAGE);
        return await runInitGuarded();
      case "bridge":
        if (rest.length > 0) throw new SidecarError("Usage: main.ts bridge", EXIT_USAGE);
        return await (await import("./control/bridge.ts")).runBridge(env);
      case "emit":
        return await (await import("./control/emit.ts")).runEmit(rest, env);
      case "pre-receive":
        if (rest.length !== 1) {
          throw new SidecarError("Usage: main.ts pre-receive <socket>", EXIT_USAGE);
        }
        return await (await import("./git_gate/hook_client.ts")).runPreReceive(rest[0]);
      default:
        throw new SidecarError(
          `Unknown subcommand "${
            command.slice(0, 40)
          }": expected init, bridge, emit or pre-receive`,
          EXIT_USAGE,
        );
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`bot-bottle-sidecar: error: ${message}`);
    return error instanceof SidecarError ? error.exitCode : EXIT_FAILURE;
  }
}

/** The init, with any uncaught error turned into a logged exit 1 (never a silent half-bottle). */
async function runInitGuarded(): Promise<number> {
  const [{ runInit }, { SidecarLog }] = await Promise.all([
    import("./init.ts"),
    import("./log.ts"),
  ]);
  const log = new SidecarLog();
  const fatal = (error: unknown) => {
    log.info(0, "init", "fatal", { error: error instanceof Error ? error.message : String(error) });
    Deno.exit(EXIT_FAILURE);
  };
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    fatal(event.error);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    fatal(event.reason);
  });
  return await runInit({ log, env });
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
