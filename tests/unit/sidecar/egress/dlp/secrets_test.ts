import assert from "node:assert/strict";
import {
  compileSecrets,
  type Finding,
  scanSegments,
} from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { base64Inner, secretVariants } from "../../../../../src/sidecar/egress/dlp/secrets.ts";
import { enc as utf8, latin1 } from "../../../../helpers/bytes.ts";

// Contains bytes whose base64 has "+" and "/" at every alignment, and chars that need escaping.
const KNOWN = "hunter2>>>???" + "known secret/value&" + "more!";
const SLOT = "slot-token-" + "0123456789abcdef";
const CANARY = "bbcanary" + "DEADBEEF1234";

const secrets = compileSecrets({ knownSecrets: [KNOWN], slotValues: [SLOT], canary: CANARY });
const scan = (
  text: string,
  detectors: ("token_patterns" | "known_secrets")[] = ["known_secrets"],
) => scanSegments([{ location: "body raw", text }], { detectors, secrets });

const b64 = (text: string) => btoa(latin1(utf8(text)));
const b64Bytes = (prefix: string, text: string) => btoa(prefix + latin1(utf8(text)));
const urlSafe = (s: string) => s.replace(/\+/g, "-").replace(/\//g, "_");
const hex = (text: string) => [...utf8(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
const percentAll = (text: string) =>
  [...utf8(text)].map((b) => "%" + b.toString(16).padStart(2, "0").toUpperCase()).join("");

function assertFound(text: string, description: string, findings: Finding[] = scan(text)) {
  const f = findings.find((x) => x.description === description);
  assert.ok(f, `"${description}" not found; got ${findings.map((x) => x.description)}`);
  assert.equal(f.rule, "known_secret");
  assert.equal(f.detector, "known_secrets");
  return f;
}

Deno.test("a known secret is found as it is", () => {
  const f = assertFound(`prefix ${KNOWN} suffix`, "a known secret");
  assert.equal(`prefix ${KNOWN} suffix`.slice(f.start, f.end), KNOWN);
});

for (const align of [0, 1, 2]) {
  const prefix = "\x00\xff".slice(0, align) + "xyz".slice(0, align);
  Deno.test(`a known secret is found base64-encoded after ${align} other byte(s), standard and URL-safe`, () => {
    for (const suffix of ["", "!", "tail bytes"]) {
      const encoded = b64Bytes(prefix.slice(0, align), KNOWN + suffix);
      assertFound(`data: ${encoded} end`, "a known secret, base64-encoded");
      assertFound(`data: ${urlSafe(encoded)} end`, "a known secret, URL-safe base64-encoded");
    }
  });
}

Deno.test("a known secret is found base64-encoded padded and unpadded", () => {
  const padded = b64(KNOWN);
  assert.ok(padded.endsWith("="));
  assertFound(padded, "a known secret, base64-encoded");
  assertFound(padded.replace(/=+$/, ""), "a known secret, base64-encoded");
  assertFound(urlSafe(padded).replace(/=+$/, ""), "a known secret, URL-safe base64-encoded");
});

Deno.test("the stable inner part of base64 does not depend on the surrounding bytes", () => {
  const bytes = utf8(KNOWN);
  for (const align of [0, 1, 2]) {
    const inner = base64Inner(bytes, align);
    assert.ok(inner.length >= 10);
    for (const before of ["\x00\x00", "\xff\xfe", "ab"]) {
      for (const after of ["", "\x00", "\xff\xff\xff"]) {
        assert.ok(btoa(before.slice(0, align) + latin1(bytes) + after).includes(inner));
      }
    }
  }
});

Deno.test("a known secret is found URL-encoded, the reserved chars or every char, either hex case", () => {
  assertFound(`q=${encodeURIComponent(KNOWN)}`, "a known secret, URL-encoded");
  assertFound(`q=${percentAll(KNOWN)}`, "a known secret, URL-encoded");
  assertFound(`q=${percentAll(KNOWN).toLowerCase()}`, "a known secret, URL-encoded");
  const partial = KNOWN.replace(
    /[^A-Za-z0-9\-._~]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toLowerCase(),
  );
  assertFound(`q=${partial}`, "a known secret, URL-encoded");
});

Deno.test("a known secret is found hex-encoded in lower and upper case", () => {
  assertFound(`h=${hex(KNOWN)}`, "a known secret, hex-encoded");
  assertFound(`h=${hex(KNOWN).toUpperCase()}`, "a known secret, hex-encoded");
});

Deno.test("slot values are found with their encodings, described as route credentials", () => {
  for (const text of [SLOT, b64(SLOT), hex(SLOT), percentAll(SLOT)]) {
    const f = scan(text);
    assert.equal(f.length, 1, text);
    assert.match(f[0].description, /^a route credential/);
  }
});

Deno.test("known secrets shorter than 8 chars are ignored; short slot values match only as they are", () => {
  const s = compileSecrets({ knownSecrets: ["short7!"], slotValues: ["tok123"], canary: "" });
  const opts = { detectors: ["known_secrets" as const], secrets: s };
  assert.deepEqual(scanSegments([{ location: "x", text: "a short7! b" }], opts), []);
  assert.equal(scanSegments([{ location: "x", text: "a tok123 b" }], opts).length, 1);
  assert.deepEqual(
    scanSegments([{ location: "x", text: btoa("tok123") + hex("tok123") }], opts),
    [],
  );
  assert.equal(s.size, 1);
});

Deno.test("the canary is found raw and encoded with detector canary, even with no detector on", () => {
  for (
    const text of [CANARY, b64(CANARY), urlSafe(b64Bytes("x", CANARY)), hex(CANARY).toUpperCase()]
  ) {
    const f = scan(`x ${text} y`, []);
    assert.equal(f.length, 1, text);
    assert.equal(f[0].detector, "canary");
    assert.equal(f[0].rule, "canary");
    assert.match(f[0].description, /^the canary value/);
  }
  // With detectors off, known secrets are not searched.
  assert.deepEqual(scan(KNOWN, []), []);
});

Deno.test("allow() is not asked about the canary", () => {
  let asked = 0;
  const f = scanSegments([{ location: "body raw", text: CANARY + " " + KNOWN }], {
    detectors: ["known_secrets"],
    secrets,
    allow: () => (asked++, true),
  });
  assert.deepEqual(f.map((x) => x.rule), ["canary"]);
  assert.equal(asked, 1);
});

Deno.test("a value listed as both a known secret and a slot value is reported for each role", () => {
  const s = compileSecrets({ knownSecrets: [SLOT, SLOT], slotValues: [SLOT], canary: "" });
  const f = scanSegments([{ location: "x", text: SLOT }], {
    detectors: ["known_secrets"],
    secrets: s,
  });
  assert.deepEqual(f.map((x) => x.description).sort(), ["a known secret", "a route credential"]);
});

Deno.test("a secret set shows no value when logged or serialised", () => {
  for (const shown of [JSON.stringify(secrets), Deno.inspect(secrets, { depth: 10 })]) {
    for (const value of [KNOWN, SLOT, CANARY, b64(KNOWN), hex(SLOT)]) {
      assert.ok(!shown.includes(value));
    }
  }
  assert.equal(secrets.size, 3);
  assert.equal(secrets.hasCanary, true);
});

Deno.test("scanning with a set not made by compileSecrets fails without a value in the message", () => {
  assert.throws(
    () =>
      scan.call(null, "x") && scanSegments([{ location: "x", text: "y" }], {
        detectors: [],
        secrets: { size: 1, hasCanary: false },
      }),
    (e: Error) => e instanceof TypeError && !e.message.includes(KNOWN),
  );
});

Deno.test("secretVariants lists raw, base64 ×3 alignments ×2 alphabets, URL-encoded and hex, once each", () => {
  const v = secretVariants(KNOWN);
  const kinds = v.map((x) => x.encoding);
  assert.equal(kinds.filter((k) => k === "").length, 1);
  assert.equal(kinds.filter((k) => k === "base64-encoded").length, 3);
  assert.equal(kinds.filter((k) => k === "URL-safe base64-encoded").length, 3);
  assert.equal(kinds.filter((k) => k === "hex-encoded").length, 2);
  assert.ok(kinds.filter((k) => k === "URL-encoded").length >= 3);
  assert.equal(new Set(v.map((x) => x.literal)).size, v.length);
  // A value with nothing to escape has no separate URL-encoding of its reserved chars.
  assert.equal(secretVariants("ZZZZZZZZ").filter((x) => x.encoding === "URL-encoded").length, 2);
});

Deno.test("a non-ASCII known secret is found in text and as UTF-8 bytes in the raw latin-1 view", () => {
  const value = "pässwörd-" + "geheim-✓";
  const s = compileSecrets({ knownSecrets: [value], slotValues: [], canary: "" });
  const opts = { detectors: ["known_secrets" as const], secrets: s };
  assert.equal(scanSegments([{ location: "body text", text: `x${value}y` }], opts).length, 1);
  const raw = latin1(utf8(`x${value}y`));
  assert.equal(scanSegments([{ location: "body raw", text: raw }], opts).length, 1);
});
