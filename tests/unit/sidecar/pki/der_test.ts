import assert from "node:assert/strict";
import {
  decodeBitString,
  decodeBoolean,
  decodeInteger,
  decodeOctetString,
  decodeOid,
  decodeString,
  decodeTime,
  type DerElement,
  DerError,
  encodeBitString,
  encodeBoolean,
  encodeExplicit,
  encodeGeneralizedTime,
  encodeIa5String,
  encodeImplicit,
  encodeInteger,
  encodeNamedBits,
  encodeNull,
  encodeOctetString,
  encodeOid,
  encodePrintableString,
  encodeSequence,
  encodeSet,
  encodeTime,
  encodeTlv,
  encodeUtcTime,
  encodeUtf8String,
  readChildren,
  readDer,
  readTlv,
} from "../../../../src/sidecar/pki/der.ts";

/** Bytes from spaced hex, e.g. `hex("02 02 00 80")`. */
function hex(text: string): Uint8Array {
  const digits = text.trim();
  return Uint8Array.from(digits === "" ? [] : digits.split(/\s+/).map((b) => parseInt(b, 16)));
}

/** Spaced hex of bytes. */
function show(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

Deno.test("encoders produce the known DER vectors", () => {
  const cases: [string, Uint8Array, string][] = [
    ["INTEGER 0", encodeInteger(0), "02 01 00"],
    ["INTEGER 0x7f", encodeInteger(0x7f), "02 01 7f"],
    ["INTEGER 0x80 gets a leading zero", encodeInteger(0x80), "02 02 00 80"],
    ["INTEGER 256", encodeInteger(256), "02 02 01 00"],
    ["INTEGER from bigint 2^64", encodeInteger(1n << 64n), "02 09 01 00 00 00 00 00 00 00 00"],
    ["INTEGER from bytes drops leading zeros", encodeInteger(hex("00 00 00 80")), "02 02 00 80"],
    ["INTEGER from bytes keeps a small value", encodeInteger(hex("00 00 7f")), "02 01 7f"],
    ["INTEGER from empty bytes is zero", encodeInteger(new Uint8Array(0)), "02 01 00"],
    ["OID ecdsa-with-SHA256", encodeOid("1.2.840.10045.4.3.2"), "06 08 2a 86 48 ce 3d 04 03 02"],
    ["OID subjectAltName", encodeOid("2.5.29.17"), "06 03 55 1d 11"],
    ["OID with a large first-arc sum", encodeOid("2.999.3"), "06 03 88 37 03"],
    ["NULL", encodeNull(), "05 00"],
    ["BOOLEAN true", encodeBoolean(true), "01 01 ff"],
    ["BOOLEAN false", encodeBoolean(false), "01 01 00"],
    ["OCTET STRING", encodeOctetString(hex("de ad")), "04 02 de ad"],
    ["BIT STRING", encodeBitString(hex("ab cd")), "03 03 00 ab cd"],
    ["BIT STRING with unused bits", encodeBitString(hex("80"), 7), "03 02 07 80"],
    ["named bits digitalSignature", encodeNamedBits([0]), "03 02 07 80"],
    ["named bits keyCertSign+cRLSign", encodeNamedBits([5, 6]), "03 02 01 06"],
    ["named bits across bytes", encodeNamedBits([0, 8]), "03 03 07 80 80"],
    ["named bits none", encodeNamedBits([]), "03 01 00"],
    ["UTF8String", encodeUtf8String("é"), "0c 02 c3 a9"],
    ["PrintableString", encodePrintableString("a-b"), "13 03 61 2d 62"],
    ["IA5String", encodeIa5String("a.b"), "16 03 61 2e 62"],
    ["SEQUENCE empty", encodeSequence(), "30 00"],
    ["SEQUENCE of two", encodeSequence(encodeNull(), encodeBoolean(true)), "30 05 05 00 01 01 ff"],
    [
      "SET sorts its elements",
      encodeSet(encodeInteger(2), encodeInteger(1)),
      "31 06 02 01 01 02 01 02",
    ],
    ["[0] EXPLICIT", encodeExplicit(0, encodeInteger(2)), "a0 03 02 01 02"],
    ["[3] EXPLICIT", encodeExplicit(3, encodeSequence()), "a3 02 30 00"],
    ["[2] IMPLICIT primitive", encodeImplicit(2, hex("61")), "82 01 61"],
    [
      "[1] IMPLICIT constructed",
      encodeImplicit(1, encodeNull(), { constructed: true }),
      "a1 02 05 00",
    ],
    ["raw TLV passes through", encodeSequence(hex("04 01 ff")), "30 03 04 01 ff"],
  ];
  for (const [name, actual, expected] of cases) assert.equal(show(actual), expected, name);
});

Deno.test("lengths use the short form below 128 and minimal long forms above", () => {
  const cases: [number, string][] = [
    [0, "04 00"],
    [127, "04 7f"],
    [128, "04 81 80"],
    [255, "04 81 ff"],
    [256, "04 82 01 00"],
    [65536, "04 83 01 00 00"],
  ];
  for (const [length, header] of cases) {
    const tlv = encodeOctetString(new Uint8Array(length));
    assert.equal(show(tlv.subarray(0, header.split(" ").length)), header, `length ${length}`);
    assert.equal(readDer(tlv).content.length, length, `length ${length} reads back`);
  }
});

Deno.test("times are UTCTime through 2049 and GeneralizedTime from 2050, whole seconds", () => {
  const text = (bytes: Uint8Array) => new TextDecoder().decode(readDer(bytes).content);
  const last = new Date("2049-12-31T23:59:59.999Z");
  assert.equal(encodeTime(last)[0], 0x17);
  assert.equal(text(encodeTime(last)), "491231235959Z");
  const next = new Date("2050-01-01T00:00:00Z");
  assert.equal(encodeTime(next)[0], 0x18);
  assert.equal(text(encodeTime(next)), "20500101000000Z");
  assert.equal(text(encodeUtcTime(new Date("1999-03-04T05:06:07Z"))), "990304050607Z");
  assert.equal(text(encodeGeneralizedTime(new Date("2026-01-02T03:04:05Z"))), "20260102030405Z");
  assert.throws(() => encodeUtcTime(next), DerError);
  assert.throws(() => encodeTime(new Date(NaN)), DerError);
  for (const iso of ["1950-01-01T00:00:00Z", "2026-07-01T12:34:56Z", "2049-12-31T23:59:59Z"]) {
    assert.equal(
      decodeTime(readDer(encodeTime(new Date(iso)))).toISOString(),
      iso.replace("Z", ".000Z"),
    );
  }
  assert.equal(
    decodeTime(readDer(encodeTime(new Date("2107-08-09T10:11:12Z")))).getUTCFullYear(),
    2107,
  );
});

Deno.test("decoders read back what the encoders wrote", () => {
  for (const value of [0n, 1n, 0x7fn, 0x80n, 0xffffn, (1n << 127n) + 5n]) {
    assert.equal(decodeInteger(readDer(encodeInteger(value))), value);
  }
  for (
    const oid of ["1.2.840.10045.4.3.2", "2.5.29.35", "1.3.6.1.5.5.7.3.1", "0.9.2342", "2.999.3"]
  ) {
    assert.equal(decodeOid(readDer(encodeOid(oid))), oid);
  }
  assert.equal(decodeBoolean(readDer(encodeBoolean(true))), true);
  assert.equal(decodeBoolean(readDer(encodeBoolean(false))), false);
  assert.deepEqual([...decodeOctetString(readDer(encodeOctetString(hex("01 02"))))], [1, 2]);
  const bits = decodeBitString(readDer(encodeNamedBits([5, 6])));
  assert.deepEqual([bits.unusedBits, ...bits.bytes], [1, 0x06]);
  assert.equal(decodeString(readDer(encodeUtf8String("bot-bottle CA ü"))), "bot-bottle CA ü");
  assert.equal(decodeString(readDer(encodePrintableString("Example CA"))), "Example CA");
  assert.equal(decodeString(readDer(encodeIa5String("api.example.test"))), "api.example.test");
});

Deno.test("readChildren walks a nested structure and exposes raw TLVs", () => {
  const inner = encodeSequence(encodeOid("2.5.4.3"), encodeUtf8String("x"));
  const outer = encodeSequence(encodeInteger(7), encodeSet(inner), encodeExplicit(3, encodeNull()));
  const top = readDer(outer);
  assert.equal(top.tag, 0x30);
  const children = readChildren(top);
  assert.deepEqual(children.map((c) => c.tag), [0x02, 0x31, 0xa3]);
  assert.equal(children[2].tagClass, 0x80);
  assert.equal(children[2].tagNumber, 3);
  assert.equal(children[2].constructed, true);
  assert.deepEqual(readChildren(children[1])[0].raw, inner);
  assert.equal(decodeOid(readChildren(readChildren(children[1])[0])[0]), "2.5.4.3");
  assert.equal(readTlv(top.content, children[1].start).tag, 0x31, "offsets are into the content");
  assert.equal(children[1].start, children[0].end);
});

Deno.test("the reader rejects malformed DER with DerError", () => {
  const cases: [string, string][] = [
    ["empty input", ""],
    ["a lone identifier", "30"],
    ["content shorter than its length", "04 05 01 02"],
    ["a length past the end", "30 81 90 00"],
    ["an indefinite length", "30 80 00 00"],
    ["a non-minimal short length in long form", "04 81 05 01 02 03 04 05"],
    ["a long length with a leading zero", "04 82 00 80"],
    ["a length of length over 3", "04 84 00 00 00 01 00"],
    ["a truncated long length", "04 82 01"],
    ["a high tag number", "1f 81 00 00"],
    ["trailing bytes", "05 00 00"],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(() => readDer(hex(bytes)), DerError, name);
  }
  assert.throws(() => readChildren(readDer(hex("30 03 02 05 00"))), DerError, "child overruns");
  assert.throws(() => readChildren(readDer(hex("30 03 02 01"))), DerError, "truncated child");
  assert.throws(() => readChildren(readDer(hex("04 00"))), DerError, "primitive has no children");
});

Deno.test("decoders reject values that are not DER", () => {
  const cases: [string, (e: DerElement) => unknown, string][] = [
    ["INTEGER empty", decodeInteger, "02 00"],
    ["INTEGER with a redundant zero", decodeInteger, "02 02 00 01"],
    ["INTEGER negative", decodeInteger, "02 01 80"],
    ["INTEGER with a redundant ff", decodeInteger, "02 02 ff 80"],
    ["INTEGER wrong tag", decodeInteger, "04 01 00"],
    ["OID empty", decodeOid, "06 00"],
    ["OID truncated arc", decodeOid, "06 02 2a 86"],
    ["OID non-minimal arc", decodeOid, "06 03 2a 80 01"],
    ["BOOLEAN not ff or 00", decodeBoolean, "01 01 01"],
    ["BOOLEAN two bytes", decodeBoolean, "01 02 00 00"],
    ["BIT STRING empty", decodeBitString, "03 00"],
    ["BIT STRING 8 unused bits", decodeBitString, "03 02 08 00"],
    ["string from an INTEGER", decodeString, "02 01 00"],
    ["UTF8String invalid", decodeString, "0c 01 ff"],
    ["UTCTime without Z", decodeTime, "17 0c " + show(new TextEncoder().encode("491231235959"))],
    ["UTCTime month 13", decodeTime, "17 0d " + show(new TextEncoder().encode("491331235959Z"))],
    ["UTCTime Feb 30", decodeTime, "17 0d " + show(new TextEncoder().encode("490230235959Z"))],
    ["time from OCTET STRING", decodeTime, "04 00"],
  ];
  for (const [name, decode, bytes] of cases) {
    assert.throws(() => decode(readDer(hex(bytes))), DerError, name);
  }
});

Deno.test("encoders refuse values they cannot represent", () => {
  assert.throws(() => encodeInteger(-1), DerError);
  assert.throws(() => encodeInteger(1.5), DerError);
  assert.throws(() => encodeInteger(-1n), DerError);
  for (const oid of ["", "1", "3.1", "1.40", "1.2.", "1..2", "1.02", "a.b"]) {
    assert.throws(() => encodeOid(oid), DerError, oid);
  }
  assert.throws(() => encodePrintableString("*.example"), DerError);
  assert.throws(() => encodeIa5String("ü"), DerError);
  assert.throws(() => encodeBitString(hex("81"), 1), DerError, "non-zero unused bit");
  assert.throws(() => encodeBitString(hex("80"), 8), DerError);
  assert.throws(() => encodeExplicit(31, encodeNull()), DerError);
  assert.throws(() => encodeTlv(0x1f, new Uint8Array(0)), DerError);
});

Deno.test("random input never throws anything but DerError and always terminates", () => {
  /** Walks every constructed element, as a certificate reader would. */
  function walk(element: DerElement, depth: number): number {
    if (!element.constructed || depth > 64) return 1;
    return readChildren(element).reduce((n, child) => n + walk(child, depth + 1), 1);
  }
  const seeds = [encodeSequence(encodeSet(encodeSequence(encodeOid("2.5.4.3"))), encodeNull())];
  for (let i = 0; i < 3000; i++) {
    let bytes: Uint8Array;
    if (i % 2) {
      bytes = crypto.getRandomValues(new Uint8Array(1 + (i % 64)));
      bytes[0] = [0x30, 0x31, 0xa0, 0x04, 0x02][i % 5];
    } else {
      bytes = seeds[0].slice();
      bytes[i % bytes.length] ^= 1 << (i % 8);
    }
    try {
      walk(readDer(bytes), 0);
    } catch (error) {
      assert.ok(error instanceof DerError, `input ${show(bytes)} threw ${error}`);
    }
  }
});
