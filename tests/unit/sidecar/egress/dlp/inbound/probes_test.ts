import assert from "node:assert/strict";
import {
  blockMessage,
  type InboundPolicy,
  inspectBody,
} from "../../../../../../src/sidecar/egress/dlp/mod.ts";
import { blockBody } from "../../../../../../src/sidecar/egress/respond.ts";
import { INJECTION_PROBES, LOOK_ALIKES } from "../../../../../helpers/inbound_probes.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const DEFAULT: InboundPolicy = { onMatch: null };

for (const probe of INJECTION_PROBES) {
  Deno.test(`inspectBody stops a probe (${probe.kind}): ${probe.name} → ${probe.expect}`, () => {
    const { verdict, body } = inspectBody(enc(probe.body), probe.contentType, DEFAULT);
    assert.equal(verdict.decision.action, probe.expect, JSON.stringify(verdict.evidence));
    assert.ok(verdict.evidence.length > 0, "a verdict lists its evidence");
    if (probe.expect === "neutralize") {
      assert.equal(dec(body), probe.neutralized);
      assert.ok(!dec(body).includes(probe.hiddenText!));
      assert.match(verdict.header!, /^neutralized/);
    } else assert.equal(verdict.report.level, "high");
  });
}

Deno.test("inspectBody delivers the benign look-alikes unchanged, without a header", () => {
  for (const l of LOOK_ALIKES) {
    const bytes = enc(l.body);
    const { verdict, body } = inspectBody(bytes, l.contentType, DEFAULT);
    assert.equal(verdict.decision.action, "forward", `${l.name}: ${verdict.evidence}`);
    assert.equal(body, bytes, l.name);
    assert.equal(verdict.header, null, l.name);
  }
});

Deno.test("under `annotate` every probe goes through unchanged, with the header", () => {
  for (const probe of INJECTION_PROBES) {
    const bytes = enc(probe.body);
    const { verdict, body } = inspectBody(bytes, probe.contentType, { onMatch: "annotate" });
    assert.equal(verdict.decision.action, "annotate", probe.name);
    assert.equal(body, bytes, probe.name);
    assert.match(verdict.header!, /^annotated; level=(?:none|medium|high)/, probe.name);
  }
});

Deno.test("under `block` hidden probes block too; under `neutralize` visible ones are annotated", () => {
  for (const probe of INJECTION_PROBES) {
    const bytes = enc(probe.body);
    const blocked = inspectBody(bytes, probe.contentType, { onMatch: "block" }).verdict;
    assert.equal(blocked.decision.action, "block", probe.name);
    const neutral = inspectBody(bytes, probe.contentType, { onMatch: "neutralize" });
    assert.equal(
      neutral.verdict.decision.action,
      probe.expect === "neutralize" ? "neutralize" : "annotate",
      probe.name,
    );
  }
});

Deno.test("evidence names signals and channels, never text of the response", () => {
  for (const probe of INJECTION_PROBES) {
    const { verdict } = inspectBody(enc(probe.body), probe.contentType, DEFAULT);
    for (const line of [...verdict.evidence, verdict.header ?? ""]) {
      for (const secretish of ["x.example", "id_rsa", "delete_repository", "SUMMARY_OF", "Y3Vyb"]) {
        assert.ok(!line.includes(secretish), `${probe.name}: ${line}`);
      }
    }
  }
});

Deno.test("the 403 of an inbound block names the evidence and what to do (SPEC §7.6)", () => {
  const probe = INJECTION_PROBES.find((p) => p.expect === "block")!;
  const { verdict } = inspectBody(enc(probe.body), probe.contentType, DEFAULT);
  const body = blockBody(
    {
      block: "dlp_inbound",
      detector: "naive_injection_detection",
      location: verdict.location!,
      message: blockMessage("docs.example.com", verdict.report),
      evidence: verdict.evidence,
    },
    { host: "docs.example.com", method: "GET" },
    { approvals: false },
  );
  assert.equal(body.rule, "dlp_inbound");
  assert.deepEqual(body.evidence, verdict.evidence);
  assert.match(body.message, /withheld/);
  assert.match(body.how_to_get_access, /not delivered/);
});
