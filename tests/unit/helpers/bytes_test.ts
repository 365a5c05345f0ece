import assert from "node:assert/strict";
import { concat, dec, enc, fromLatin1, latin1, utf16le } from "../../helpers/bytes.ts";

Deno.test("enc and dec round-trip text as UTF-8", () => {
  assert.deepEqual([...enc("café")], [0x63, 0x61, 0x66, 0xc3, 0xa9]);
  assert.equal(dec(enc("café 😀")), "café 😀");
  assert.equal(dec(Uint8Array.of(0xff)), "\ufffd", "an invalid sequence becomes U+FFFD");
});

Deno.test("fromLatin1 and latin1 map one char to one byte, for every byte value", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(fromLatin1(latin1(all)), all);
  assert.deepEqual([...fromLatin1("caf\xe9")], [0x63, 0x61, 0x66, 0xe9]);
  assert.equal(latin1(enc("é")), "\xc3\xa9", "latin1 shows the raw UTF-8 bytes");
});

Deno.test("latin1 handles an array larger than one call's argument limit", () => {
  const big = new Uint8Array(1 << 20).fill(0x41);
  assert.equal(latin1(big), "A".repeat(1 << 20));
});

Deno.test("utf16le writes two bytes per code unit, low byte first", () => {
  assert.deepEqual([...utf16le("a\xe9\u20ac")], [0x61, 0, 0xe9, 0, 0xac, 0x20]);
});

Deno.test("concat joins parts in order", () => {
  assert.deepEqual([...concat(enc("ab"), new Uint8Array(0), Uint8Array.of(0))], [0x61, 0x62, 0]);
  assert.equal(concat().length, 0);
});
