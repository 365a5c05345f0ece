import assert from "node:assert/strict";
import { compileSecrets, scanSegments } from "../../../../../src/sidecar/egress/dlp/mod.ts";
import {
  AWS_KEY,
  CANARY,
  KNOWN,
  locations,
  request,
  scanRequest,
  SECRETS,
  segmentsOf,
} from "./helpers.ts";

const JSON_TYPE: [string, string] = ["Content-Type", "application/json"];
const BOTH = ["token_patterns", "known_secrets"] as ("token_patterns" | "known_secrets")[];
const scan = (text: string, location = "body raw") =>
  scanSegments([{ location, text }], { detectors: BOTH, secrets: SECRETS });

Deno.test("a value in a JSON string is reported once, at its JSON path, not again in the raw body", () => {
  const { findings } = scanRequest(request(`{"a":"${AWS_KEY}","b":"${KNOWN}"}`, [JSON_TYPE]));
  assert.deepEqual(locations(findings), ["body $.a", "body $.b"]);
});

Deno.test("a value in the raw body outside any decoded view is still reported there", () => {
  // Invalid JSON (a number holding the key's shape cannot exist), so: bytes only.
  const { findings } = scanRequest(request(`\x00\x01 ${AWS_KEY}`, [["Content-Type", "image/png"]]));
  assert.deepEqual(locations(findings), ["body raw"]);
});

Deno.test("findings carry no value: description, context and location are value-free", () => {
  const text = `line one\nkey=${AWS_KEY}\tsecret=${KNOWN} canary ${CANARY}\n`;
  const findings = scan(text);
  assert.deepEqual(findings.map((f) => f.rule), ["aws_access_key_id", "known_secret", "canary"]);
  for (const f of findings) {
    for (const value of [AWS_KEY, KNOWN, CANARY]) {
      assert.ok(!JSON.stringify(f).includes(value), `${f.rule} leaks a value`);
    }
  }
  assert.equal(findings[0].context, "line one\\nkey=********\\tsecret=******** canar");
  assert.equal(findings[1].context, "ine one\\nkey=********\\tsecret=******** canary ********\\n");
});

Deno.test("context is ±40 chars around the match, escaped", () => {
  const before = "b".repeat(59) + " ";
  const after = "\u0001" + "a".repeat(59);
  const f = scan(before + AWS_KEY + after)[0];
  assert.equal(f.context, "b".repeat(39) + " ********" + "\\x01" + "a".repeat(39));
  assert.deepEqual([f.start, f.end], [60, 80]);
});

Deno.test("a secret used as a JSON key is masked in every location that names it", () => {
  const body = JSON.stringify({ [AWS_KEY]: { inner: KNOWN } });
  const { findings } = scanRequest(request(body, [JSON_TYPE]));
  assert.deepEqual(locations(findings), [
    "body $.******** (key)",
    "body $.********.inner",
  ]);
});

Deno.test("allow() skips an approved finding, and scanning goes on past it", () => {
  const other = "ASIA" + "Q2WERTYUIOPASDF7";
  const seen: string[] = [];
  const findings = scanSegments([{ location: "path", text: `/${AWS_KEY}/${other}/${AWS_KEY}` }], {
    detectors: BOTH,
    secrets: SECRETS,
    allow: (finding, matched) => {
      seen.push(finding.context);
      assert.ok(!finding.context.includes(matched));
      return matched === AWS_KEY;
    },
  });
  assert.equal(seen.length, 3);
  assert.deepEqual(findings.map((f) => [f.start, f.end]), [[22, 42]]);
});

Deno.test("findings are ordered by segment, then offset", () => {
  const findings = scanSegments([
    { location: "a", text: `${KNOWN} ${AWS_KEY}` },
    { location: "b", text: AWS_KEY },
  ], { detectors: BOTH, secrets: SECRETS });
  assert.deepEqual(findings.map((f) => [f.segment, f.start]), [[0, 0], [0, 27], [1, 0]]);
});

Deno.test("a location is masked, escaped and capped", () => {
  const f = scan(AWS_KEY, `body $.${"k".repeat(300)}\n${KNOWN}`)[0];
  assert.ok(f.location.length <= 201);
  assert.ok(!f.location.includes("\n"));
  const g = scan(AWS_KEY, `body $["${KNOWN}\n"]`)[0];
  assert.equal(g.location, 'body $["********\\n"]');
});

Deno.test("only the selected detectors run (the canary always)", () => {
  const text = `${AWS_KEY} ${KNOWN} ${CANARY}`;
  const run = (detectors: ("token_patterns" | "known_secrets")[]) =>
    scanSegments([{ location: "x", text }], { detectors, secrets: SECRETS }).map((f) => f.detector);
  assert.deepEqual(run([]), ["canary"]);
  assert.deepEqual(run(["token_patterns"]), ["token_patterns", "canary"]);
  assert.deepEqual(run(["known_secrets"]), ["known_secrets", "canary"]);
});

Deno.test("an empty secret set and empty segments scan to nothing", () => {
  const empty = compileSecrets({ knownSecrets: [], slotValues: [], canary: "" });
  assert.deepEqual(
    scanSegments([{ location: "x", text: "" }], { detectors: BOTH, secrets: empty }),
    [],
  );
  assert.deepEqual(scanSegments([], { detectors: BOTH, secrets: empty }), []);
});

Deno.test("a known secret or the canary in a host name is found whatever its case (DNS ignores case)", () => {
  // Host names reach the scan lower-cased (parseTarget); the values keep their case.
  for (const value of [KNOWN.toUpperCase(), CANARY]) {
    const secrets = compileSecrets({
      knownSecrets: value === CANARY ? [] : [value],
      slotValues: [],
      canary: CANARY,
    });
    const host = `${value.toLowerCase()}.example.com`;
    for (const req of [request("", [], { host }), request("", [], { host: host.toUpperCase() })]) {
      const findings = scanSegments([{ location: "hostname", text: req.host }], {
        detectors: ["known_secrets"],
        secrets,
      });
      assert.equal(findings.length, 1, req.host);
      assert.equal(findings[0].location, "hostname");
      assert.equal(findings[0].rule, value === CANARY ? "canary" : "known_secret");
      assert.ok(!findings[0].context.includes(value.toLowerCase()), findings[0].context);
    }
  }
  // Through the request's own segments (hostname and its decoded views), as the proxy scans it.
  const secrets = compileSecrets({
    knownSecrets: ["Winter-Garden-2024"],
    slotValues: [],
    canary: "",
  });
  const segments = segmentsOf(request("", [], { host: "winter-garden-2024.example.com" }));
  const found = scanSegments(segments, { detectors: ["known_secrets"], secrets });
  assert.deepEqual(locations(found), ["hostname"]);
});

Deno.test("outside the host name, known secrets stay case-sensitive", () => {
  const secrets = compileSecrets({
    knownSecrets: [KNOWN.toUpperCase()],
    slotValues: [],
    canary: "",
  });
  const findings = scanSegments([{ location: "path", text: `/x/${KNOWN.toLowerCase()}` }], {
    detectors: ["known_secrets"],
    secrets,
  });
  assert.deepEqual(findings, []);
});
