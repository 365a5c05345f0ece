/**
 * The pre-receive hook of every mirror (`main.ts pre-receive <socket>`): hands the push (its
 * input, the repository directory and git's quarantine variables) to the gate daemon over its
 * unix socket, prints the daemon's lines on stderr (the client sees them as `remote:` lines) and
 * exits with the daemon's verdict. The checks run in the daemon, where the secrets are.
 *
 * @module
 */

import { encodeLine, LineSplitter } from "../control/protocol.ts";
import { connectUnix } from "../control/unix_socket.ts";
import { HOOK_ENV_NAMES } from "./push_check.ts";

/** Runs the hook; resolves with its exit code (0 accepts the push). */
export async function runPreReceive(socket: string): Promise<number> {
  const input = await new Response(Deno.stdin.readable).text();
  const env: Record<string, string> = {};
  for (const name of HOOK_ENV_NAMES) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const encoder = new TextEncoder();
  const say = (line: string) => Deno.stderr.writeSync(encoder.encode(`${line}\n`));
  let conn: Deno.UnixConn;
  try {
    conn = await connectUnix(socket, { what: "git-gate socket", timeoutMs: 5_000 });
  } catch (error) {
    say(`git-gate: push rejected: the gate is not running (${(error as Error).message})`);
    return 1;
  }
  await conn.write(encoder.encode(encodeLine({ cwd: Deno.cwd(), input, env })));
  const splitter = new LineSplitter();
  try {
    for await (const chunk of conn.readable) {
      for (const line of splitter.push(chunk)) {
        const message = JSON.parse(line) as { line?: string; exit?: number };
        if (typeof message.line === "string") say(message.line);
        if (typeof message.exit === "number") return message.exit;
      }
    }
  } catch (error) {
    say(`git-gate: push rejected: the gate connection failed (${(error as Error).message})`);
    return 1;
  }
  say("git-gate: push rejected: the gate closed the connection without a verdict");
  return 1;
}
