import assert from "node:assert/strict";
import {
  AgentExitError,
  BottleError,
  type BottleErrorCode,
  ConfigError,
  CredentialsError,
  FailureError,
  InternalError,
  InterruptedError,
  InvalidStateError,
  NotFoundError,
  SlugInUseError,
  toBottleError,
  UsageError,
} from "../../../src/lib/errors.ts";

const CASES: [BottleError, BottleErrorCode, number][] = [
  [new FailureError("x"), "failure", 1],
  [new InternalError("x"), "internal", 1],
  [new UsageError("x"), "usage", 2],
  [new ConfigError("x"), "manifest", 3],
  [new CredentialsError("x"), "credentials", 5],
  [new NotFoundError("x"), "not_found", 6],
  [new InvalidStateError("x"), "invalid_state", 6],
  [new SlugInUseError("x"), "slug_in_use", 6],
  [new AgentExitError("x", { agentExitCode: 7 }), "agent_exit", 7],
  [new InterruptedError("x"), "interrupted", 130],
];

Deno.test("each error class carries the code and exit code of SPEC §5.1 and §12", () => {
  for (const [error, code, exitCode] of CASES) {
    assert.ok(error instanceof BottleError, error.name);
    assert.equal(error.code, code, error.name);
    assert.equal(error.exitCode, exitCode, error.name);
  }
});

Deno.test("toBottleError keeps a BottleError and wraps anything else as internal", () => {
  const known = new NotFoundError("gone");
  assert.equal(toBottleError(known), known);
  assert.ok(toBottleError(new Error("boom")) instanceof InternalError);
  assert.ok(toBottleError(new Deno.errors.Interrupted("^C")) instanceof InterruptedError);
});

Deno.test("src/ spells errors one way: subclasses, never new BottleError(code, …)", async () => {
  const root = new URL("../../../src/", import.meta.url);
  const offenders: string[] = [];
  const walk = async (dir: URL, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const rel = `${prefix}${entry.name}`;
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${rel}/`);
      else if (entry.name.endsWith(".ts") && rel !== "lib/errors.ts") {
        const text = await Deno.readTextFile(new URL(entry.name, dir));
        if (/new BottleError\(/.test(text)) offenders.push(rel);
      }
    }
  };
  await walk(root, "");
  assert.deepEqual(offenders, []);
});
