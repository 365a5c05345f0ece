import assert from "node:assert/strict";
import {
  compileSecrets,
  scanSegments,
  TOKEN_RULES,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { B64URL, chars, ruleSamples } from "./samples.ts";

const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "" });
const scan = (text: string) =>
  scanSegments([{ location: "body raw", text }], { detectors: ["token_patterns"], secrets });

Deno.test("every token_patterns rule has samples, and every sample names a rule", () => {
  assert.deepEqual(
    ruleSamples().map((s) => s.rule).sort(),
    TOKEN_RULES.map((r) => r.id).sort(),
  );
});

for (const { rule, positives, negatives } of ruleSamples()) {
  Deno.test(`token rule ${rule} finds its samples, alone and inside text`, () => {
    for (const { text, value } of positives) {
      for (const wrapped of [text, `some prose before\n${text}\nand after`, `"${text}"`]) {
        const findings = scan(wrapped);
        const found = findings.find((f) => f.rule === rule);
        assert.ok(found, `${rule} missed sample ${positives.indexOf({ text, value })}`);
        assert.equal(wrapped.slice(found.start, found.end), value ?? text);
        assert.equal(found.detector, "token_patterns");
        assert.equal(findings.length, 1, `only ${rule} fires: ${findings.map((f) => f.rule)}`);
      }
    }
  });

  Deno.test(`token rule ${rule} ignores near misses`, () => {
    negatives.forEach((text, i) => {
      assert.deepEqual(scan(text).map((f) => f.rule), [], `negative ${i} of ${rule}`);
    });
  });
}

Deno.test("a token rule finding never contains the value", () => {
  for (const { positives } of ruleSamples()) {
    for (const { text, value } of positives) {
      const secret = value ?? text;
      for (const f of scan(`before ${text} after`)) {
        for (const field of [f.description, f.context, f.location, f.rule]) {
          assert.ok(!field.includes(secret), `${f.rule} leaks the value`);
        }
        assert.ok(f.context.includes("********"));
      }
    }
  }
});

Deno.test("token patterns stay linear on 1 MiB adversarial inputs (each keyword, repeated or in a long run)", () => {
  // No clock: patterns are sticky, bounded and anchored at keyword hits (see rules.ts). This
  // checks that every such input completes and that a real token is still found inside it.
  const size = 1 << 20;
  const key = "AKIA" + "IOSFODNN7EXAMPLE";
  const run = chars(B64URL, size);
  const inputs: string[] = [];
  for (const rule of TOKEN_RULES) {
    for (const k of rule.keywords) {
      inputs.push(k.repeat(Math.ceil(size / k.length)).slice(0, size));
      inputs.push(k + run.slice(k.length));
      inputs.push((k + run.slice(0, 30) + ".").repeat(Math.ceil(size / (k.length + 31))));
    }
  }
  inputs.push("eyJ" + "a".repeat(20) + ".".repeat(1) + "eyJ".repeat(size / 3));
  inputs.push(("-----BEGIN " + "PRIVATE KEY-----" + "A".repeat(50) + "\n").repeat(size / 80));
  inputs.push(("aws_secret_access_key=" + " ".repeat(3)).repeat(size / 25));
  for (const input of inputs) {
    const withKey = input.slice(0, input.length >> 1) + ` ${key} ` + input.slice(input.length >> 1);
    assert.ok(scan(withKey).some((f) => f.rule === "aws_access_key_id"));
  }
});
