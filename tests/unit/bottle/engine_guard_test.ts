import assert from "node:assert/strict";
import { onEngine } from "../../../src/bottle/engine_scope.ts";
import { assertOnEngine } from "../../../src/bottle/lifecycle.ts";
import { EngineClient } from "../../../src/engine/mod.ts";
import { InvalidStateError } from "../../../src/lib/errors.ts";
import { bottleRecord } from "./record.ts";

const LOCAL = "unix:///var/run/docker.sock";
const REMOTE = "tcp://198.51.100.7:2376";

function client(kind: "local" | "remote"): EngineClient {
  return new EngineClient(
    kind === "local"
      ? { kind: "unix", path: "/var/run/docker.sock" }
      : { kind: "tcp", hostname: "198.51.100.7", port: 2376 },
    "1.41",
  );
}

Deno.test("onEngine: a record is on the engine it names; one naming none is on any", () => {
  using local = client("local");
  using remote = client("remote");
  assert.equal(onEngine(bottleRecord({ engine: LOCAL }), local), true);
  assert.equal(onEngine(bottleRecord({ engine: LOCAL }), remote), false);
  assert.equal(onEngine(bottleRecord({ engine: REMOTE }), remote), true);
  assert.equal(onEngine(bottleRecord({ engine: REMOTE }), local), false);
  assert.equal(onEngine(bottleRecord({ engine: null }), local), true);
  assert.equal(onEngine(bottleRecord({ engine: null }), remote), true);
});

Deno.test("assertOnEngine refuses another engine's bottle, naming both engines", () => {
  using local = client("local");
  assertOnEngine(bottleRecord({ engine: LOCAL }), local, "destroy");
  assert.throws(
    () => assertOnEngine(bottleRecord({ engine: REMOTE }), local, "destroy"),
    (error: unknown) =>
      error instanceof InvalidStateError && error.code === "invalid_state" &&
      error.message ===
        `Cannot destroy "shell-ab12c": it runs on engine "${REMOTE}", not on "${LOCAL}"` &&
      error.slug === "shell-ab12c",
  );
});
