import assert from "node:assert/strict";
import type { SidecarRoute } from "../../../../../../src/sidecar/control/protocol.ts";
import {
  blockMessage,
  decideInbound,
  describeInboundPolicy,
  inboundHeader,
  type InboundOnMatch,
  inboundPolicyOf,
  type InboundReport,
} from "../../../../../../src/sidecar/egress/dlp/mod.ts";

function report(level: InboundReport["level"], hidden: boolean): InboundReport {
  return {
    level,
    evidence: level === "none" ? [] : [{
      class: "override",
      signal: "ignore previous instructions",
      location: "body (visible text)",
    }],
    hidden: hidden
      ? [{
        channel: "html-comment",
        location: "body (comment)",
        evidence: [{
          class: "execute",
          signal: "download piped to a shell",
          location: "body (comment)",
        }],
        edits: [{ start: 0, end: 4, replacement: "" }],
      }]
      : [],
    obfuscation: [],
    truncated: false,
  };
}

Deno.test("decideInbound follows the policy table (default, block, neutralize, annotate)", () => {
  const table: [InboundOnMatch | null, InboundReport["level"], boolean, string, boolean][] = [
    [null, "none", false, "forward", false],
    [null, "medium", false, "annotate", false],
    [null, "high", false, "block", false],
    [null, "none", true, "neutralize", false],
    [null, "medium", true, "neutralize", true],
    [null, "high", true, "block", false],
    ["block", "none", false, "forward", false],
    ["block", "medium", false, "annotate", false],
    ["block", "high", false, "block", false],
    ["block", "none", true, "block", false],
    ["neutralize", "high", false, "annotate", false],
    ["neutralize", "none", true, "neutralize", false],
    ["neutralize", "high", true, "neutralize", true],
    ["annotate", "high", true, "annotate", false],
    ["annotate", "none", true, "annotate", false],
    ["annotate", "none", false, "forward", false],
  ];
  for (const [onMatch, level, hidden, action, annotate] of table) {
    assert.deepEqual(
      decideInbound(report(level, hidden), { onMatch }),
      { action, annotate },
      `${onMatch} ${level} ${hidden}`,
    );
  }
});

const route = (origin: string, dlp: Partial<SidecarRoute["dlp"]> = {}) => ({
  origin,
  dlp: {
    outboundDetectors: ["token_patterns" as const],
    inboundDetectors: ["naive_injection_detection" as const],
    onMatch: "supervise" as const,
    ...dlp,
  },
});

Deno.test("inboundPolicyOf: provider routes and routes without the detector are not scanned", () => {
  assert.deepEqual(inboundPolicyOf(route("manifest")), { onMatch: null });
  assert.deepEqual(inboundPolicyOf(route("supervise", { inboundOnMatch: "block" })), {
    onMatch: "block",
  });
  assert.equal(inboundPolicyOf(route("provider")), false);
  assert.equal(inboundPolicyOf(route("provider+manifest", { inboundOnMatch: "block" })), false);
  assert.equal(inboundPolicyOf(route("manifest", { inboundDetectors: false })), false);
  assert.equal(inboundPolicyOf(route("manifest", { inboundDetectors: [] })), false);
  assert.equal(describeInboundPolicy(route("provider")), "off (provider route)");
  assert.equal(describeInboundPolicy(route("manifest", { inboundDetectors: false })), "off");
  assert.equal(describeInboundPolicy(route("manifest")), "default");
  assert.equal(
    describeInboundPolicy(route("manifest", { inboundOnMatch: "annotate" })),
    "annotate",
  );
});

Deno.test("the header says what was done, level, channels and classes, in bounded ASCII", () => {
  assert.equal(
    inboundHeader(report("medium", true), { action: "neutralize", annotate: true }),
    "neutralized, annotated; level=medium; hidden=html-comment; evidence=override,execute",
  );
  assert.equal(
    inboundHeader(report("medium", false), { action: "annotate", annotate: false }),
    "annotated; level=medium; evidence=override",
  );
  const many = report("high", true);
  many.hidden = Array.from({ length: 200 }, () => many.hidden[0]);
  const value = inboundHeader(many, { action: "block", annotate: false });
  assert.ok(value.length <= 512 && /^[\x20-\x7e]*$/.test(value));
});

Deno.test("the block message tells the agent what to do and quotes nothing", () => {
  const m = blockMessage("docs.example.com", report("high", false));
  assert.match(m, /withheld/);
  assert.match(m, /tell your user/);
  assert.ok(!m.includes("ignore previous"));
  assert.match(blockMessage("h.example", report("none", true)), /hidden where a person/);
});
