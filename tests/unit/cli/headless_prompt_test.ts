import assert from "node:assert/strict";
import { headlessPrompt } from "../../../src/cli/launch_flow.ts";
import { UsageError } from "../../../src/lib/errors.ts";

function usage(values: Record<string, unknown>): UsageError {
  try {
    headlessPrompt(values, "start <agent>");
  } catch (error) {
    assert.ok(error instanceof UsageError);
    return error;
  }
  throw new Error("expected a usage error");
}

Deno.test("headlessPrompt: a headless run takes its prompt as given", () => {
  assert.equal(
    headlessPrompt({ headless: true, prompt: " git --version " }, "x"),
    " git --version ",
  );
  assert.equal(headlessPrompt({}, "x"), null);
});

Deno.test("headlessPrompt: --headless and --prompt need each other (exit 2)", () => {
  const missing = usage({ headless: true });
  assert.equal(missing.message, "Option --headless needs --prompt TEXT");
  assert.equal(missing.exitCode, 2);
  assert.equal(missing.hint, 'bot-bottle start <agent> --headless --prompt "…"');
  assert.equal(usage({ prompt: "hi" }).message, "Option --prompt needs --headless");
});

Deno.test("headlessPrompt: an empty or blank prompt is refused before anything starts", () => {
  for (const prompt of ["", "   ", "\n\t"]) {
    const error = usage({ headless: true, prompt });
    assert.equal(error.message, "Option --prompt is empty");
    assert.match(error.hint ?? "", /--prompt/);
  }
});
