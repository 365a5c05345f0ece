import assert from "node:assert/strict";
import { API_ERROR_CODES, toApiError } from "../../src/api.ts";
import * as engineErrors from "../../src/engine/errors.ts";
import * as errors from "../../src/lib/errors.ts";
import { ManifestError } from "../../src/manifest/errors.ts";

/** SPEC §12, copied here so the test does not trust the list it checks. */
const SPEC_CODES = [
  "manifest",
  "engine",
  "credentials",
  "not_found",
  "slug_in_use",
  "invalid_state",
  "agent_exit",
  "internal",
];

/** Every error the API can be handed: each code, each exported class, and non-BottleErrors. */
function everyError(): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const code of Object.keys(errors.EXIT_CODES) as errors.BottleErrorCode[]) {
    out.push([`BottleError ${code}`, new errors.BottleError(code, `a ${code} error`)]);
  }
  for (const module of [errors, engineErrors]) {
    for (const [name, value] of Object.entries(module)) {
      if (typeof value !== "function" || !(value.prototype instanceof errors.BottleError)) continue;
      const Class = value as unknown as new (message: string, options: object) => unknown;
      out.push([name, new Class(`a ${name}`, { status: null, hint: "h" })]);
    }
  }
  out.push(["ManifestError", new ManifestError("/f.md", { path: "x", message: "is bad" })]);
  out.push(["Deno.errors.Interrupted", new Deno.errors.Interrupted("stop")]);
  out.push(["TypeError", new TypeError("boom")]);
  out.push(["a string", "thrown text"]);
  return out;
}

Deno.test("toApiError rejects only with the codes SPEC §12 defines", () => {
  assert.deepEqual([...API_ERROR_CODES].sort(), [...SPEC_CODES].sort());
  const all = everyError();
  assert.ok(all.length > 20, `only ${all.length} errors enumerated`);
  for (const [what, error] of all) {
    const e = toApiError(error);
    assert.ok(e instanceof errors.BottleError, what);
    assert.ok(SPEC_CODES.includes(e.code), `${what} → ${e.code}`);
  }
});

Deno.test("toApiError maps usage to manifest, failure and interrupted to internal, keeping the rest", () => {
  const usage = new errors.UsageError("Unknown --bottle", { hint: "Pass a name", slug: "s" });
  const mapped = toApiError(usage);
  assert.equal(mapped.code, "manifest");
  assert.equal(mapped.message, "Unknown --bottle");
  assert.equal(mapped.hint, "Pass a name");
  assert.equal(mapped.slug, "s");
  assert.equal(mapped.cause, usage);
  assert.equal(toApiError(new errors.FailureError("x")).code, "internal");
  assert.equal(toApiError(new errors.ForgeError("x", { status: 500 })).code, "internal");
  assert.equal(toApiError(new errors.InterruptedError("x")).code, "internal");
  const notFound = new errors.NotFoundError("Cannot find bottle");
  assert.equal(toApiError(notFound), notFound);
  const exit = new errors.AgentExitError("exited", { agentExitCode: 3 });
  assert.equal(toApiError(exit), exit);
});
