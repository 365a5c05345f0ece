import assert from "node:assert/strict";
import {
  compareVersions,
  engineDnsLeakWarning,
  negotiateApiVersion,
} from "../../../src/engine/version.ts";
import { EngineUnavailableError } from "../../../src/engine/errors.ts";
import { MAX_API_VERSION, MIN_API_VERSION } from "../../../src/version.ts";

Deno.test("compareVersions compares numerically, not as strings", () => {
  assert.equal(compareVersions("1.41", "1.9"), 1);
  assert.equal(compareVersions("1.41", "1.41"), 0);
  assert.equal(compareVersions("1.40", "1.41"), -1);
  assert.equal(compareVersions("20.10.24+dfsg1", "25.0.5"), -1);
  assert.equal(compareVersions("25.0", "25.0.5"), -1);
  assert.equal(compareVersions("27.1.0", "25.0.5"), 1);
});

Deno.test("negotiateApiVersion uses the engine's version when we support it", () => {
  assert.equal(negotiateApiVersion("1.41"), "1.41");
  assert.equal(negotiateApiVersion("1.43", { max: "1.47" }), "1.43");
});

Deno.test("negotiateApiVersion caps a newer engine at MAX_API_VERSION", () => {
  assert.equal(negotiateApiVersion("1.50"), MAX_API_VERSION);
  assert.equal(negotiateApiVersion("1.100", { max: "1.47" }), "1.47");
});

Deno.test("negotiateApiVersion refuses an engine below 1.41 with exit 4 naming both versions", () => {
  assert.throws(
    () => negotiateApiVersion("1.40", { endpoint: "unix:///var/run/docker.sock" }),
    (e: unknown) => {
      assert.ok(e instanceof EngineUnavailableError);
      assert.equal(e.exitCode, 4);
      assert.match(e.message, /"1\.40"/);
      assert.match(e.message, new RegExp(`"${MIN_API_VERSION.replace(".", "\\.")}"`));
      assert.match(e.message, /unix:\/\/\/var\/run\/docker\.sock/);
      assert.match(e.hint ?? "", /20\.10/);
      return true;
    },
  );
});

Deno.test("negotiateApiVersion falls back to the minimum when the header is missing or odd", () => {
  assert.equal(negotiateApiVersion(null), MIN_API_VERSION);
  assert.equal(negotiateApiVersion(""), MIN_API_VERSION);
  assert.equal(negotiateApiVersion("garbage"), MIN_API_VERSION);
});

Deno.test("engineDnsLeakWarning warns below 25.0.5 only", () => {
  assert.match(engineDnsLeakWarning("20.10.24+dfsg1") ?? "", /CVE-2024-29018/);
  assert.match(engineDnsLeakWarning("25.0.4") ?? "", /20\.10|25\.0\.4/);
  assert.equal(engineDnsLeakWarning("25.0.5"), undefined);
  assert.equal(engineDnsLeakWarning("28.2.2"), undefined);
  assert.equal(engineDnsLeakWarning(""), undefined);
  assert.equal(engineDnsLeakWarning(undefined), undefined);
  assert.equal(engineDnsLeakWarning("dev"), undefined);
});
