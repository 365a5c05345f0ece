/**
 * A tiny DER codec (X.690), just enough for the pki to build X.509 certificates (the bottle CA
 * and the leaves) with WebCrypto and to read the parts of a CA certificate it needs (subject, key
 * identifier).
 *
 * Encoders take already-encoded child TLVs (`Uint8Array`), so a raw TLV passes through as it is.
 * The reader ({@linkcode readDer}, {@linkcode readTlv}, {@linkcode readChildren}) only accepts
 * DER: definite, minimal lengths, low tag numbers, no bytes past the end. Untrusted input never
 * throws anything but {@linkcode DerError}, and every step consumes at least two bytes, so no
 * input can make it loop.
 *
 * @module
 */

/** Malformed DER, or a value the encoder cannot represent. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

/** Universal tags used here. */
export const DER_TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Class bits of an identifier octet. */
export const DER_CLASS = { UNIVERSAL: 0x00, APPLICATION: 0x40, CONTEXT: 0x80, PRIVATE: 0xc0 };

/** Bytes backed by a plain `ArrayBuffer` (what WebCrypto accepts). */
export type Bytes = Uint8Array<ArrayBuffer>;

/** Largest content length the reader accepts (well above any certificate). */
const MAX_LENGTH = 0xffffff;

// ---------------------------------------------------------------------------------------------
// Encoding

/** One TLV from an identifier octet (tag numbers 0–30) and its content. */
export function encodeTlv(tag: number, content: Uint8Array): Bytes {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
    throw new DerError(`Cannot encode tag ${tag}: only one-byte tags are supported`);
  }
  const length = encodeLength(content.length);
  const out = new Uint8Array(1 + length.length + content.length);
  out[0] = tag;
  out.set(length, 1);
  out.set(content, 1 + length.length);
  return out;
}

function encodeLength(length: number): Bytes {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** `SEQUENCE { children… }`. */
export function encodeSequence(...children: Uint8Array[]): Bytes {
  return encodeTlv(DER_TAG.SEQUENCE, concatBytes(...children));
}

/** `SET { children… }`, with the elements sorted as DER requires for `SET OF`. */
export function encodeSet(...children: Uint8Array[]): Bytes {
  return encodeTlv(DER_TAG.SET, concatBytes(...[...children].sort(compareBytes)));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * A non-negative `INTEGER`, minimally encoded: a number, a bigint, or unsigned big-endian bytes
 * (leading zeros are dropped; a `00` is prepended when the high bit is set).
 *
 * @example
 * ```ts
 * encodeInteger(0x80); // 02 02 00 80
 * ```
 * @throws {DerError} for a negative or non-integer number
 */
export function encodeInteger(value: number | bigint | Uint8Array): Bytes {
  return encodeTlv(DER_TAG.INTEGER, integerContent(value));
}

function integerContent(value: number | bigint | Uint8Array): Bytes {
  let bytes: Uint8Array;
  if (value instanceof Uint8Array) {
    bytes = value;
  } else {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      throw new DerError(`Cannot encode INTEGER ${value}: not a safe integer`);
    }
    let rest = BigInt(value);
    if (rest < 0n) throw new DerError(`Cannot encode INTEGER ${value}: negative`);
    const list: number[] = [];
    for (; rest > 0n; rest >>= 8n) list.unshift(Number(rest & 0xffn));
    bytes = Uint8Array.from(list);
  }
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  if (trimmed.length === 0) return Uint8Array.of(0);
  return trimmed[0] & 0x80 ? concatBytes(Uint8Array.of(0), trimmed) : trimmed.slice();
}

/**
 * An `OBJECT IDENTIFIER` from its dotted form.
 *
 * @example
 * ```ts
 * encodeOid("1.2.840.10045.4.3.2"); // 06 08 2a 86 48 ce 3d 04 03 02
 * ```
 * @throws {DerError} for a malformed dotted form
 */
export function encodeOid(dotted: string): Bytes {
  if (!/^[0-2]\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(dotted)) {
    throw new DerError(`Cannot encode OID "${dotted}": not a dotted OID`);
  }
  const arcs = dotted.split(".").map(BigInt);
  if (arcs[0] < 2n && arcs[1] > 39n) {
    throw new DerError(`Cannot encode OID "${dotted}": second arc over 39`);
  }
  const out: number[] = [];
  for (const arc of [arcs[0] * 40n + arcs[1], ...arcs.slice(2)]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) group.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...group);
  }
  return encodeTlv(DER_TAG.OID, Uint8Array.from(out));
}

/** `NULL`. */
export function encodeNull(): Bytes {
  return Uint8Array.of(DER_TAG.NULL, 0);
}

/** `BOOLEAN` (DER: `FF` for true). */
export function encodeBoolean(value: boolean): Bytes {
  return Uint8Array.of(DER_TAG.BOOLEAN, 1, value ? 0xff : 0);
}

/** `OCTET STRING`. */
export function encodeOctetString(bytes: Uint8Array): Bytes {
  return encodeTlv(DER_TAG.OCTET_STRING, bytes);
}

/**
 * `BIT STRING` of whole bytes, or with `unusedBits` (0–7) low bits of the last byte unused
 * (they must be zero).
 *
 * @throws {DerError} for a bad `unusedBits` or non-zero unused bits
 */
export function encodeBitString(bytes: Uint8Array, unusedBits = 0): Bytes {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) {
    throw new DerError(`Cannot encode BIT STRING: ${unusedBits} unused bits`);
  }
  if (
    unusedBits > 0 && (bytes.length === 0 || (bytes[bytes.length - 1] & ((1 << unusedBits) - 1)))
  ) {
    throw new DerError("Cannot encode BIT STRING: unused bits must exist and be zero");
  }
  return encodeTlv(DER_TAG.BIT_STRING, concatBytes(Uint8Array.of(unusedBits), bytes));
}

/**
 * A named-bit `BIT STRING` (like `KeyUsage`) from the numbers of the bits set (bit 0 is the
 * high bit of the first byte); trailing zero bits are dropped as DER requires.
 *
 * @example
 * ```ts
 * encodeNamedBits([0]); // 03 02 07 80 (digitalSignature)
 * ```
 */
export function encodeNamedBits(bits: readonly number[]): Bytes {
  if (bits.length === 0) return encodeBitString(new Uint8Array(0));
  const highest = Math.max(...bits);
  if (!Number.isInteger(highest) || highest > 255 || bits.some((bit) => bit < 0)) {
    throw new DerError(`Cannot encode named bits ${bits.join(",")}`);
  }
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  return encodeBitString(bytes, 7 - (highest & 7));
}

/** `UTF8String`. */
export function encodeUtf8String(text: string): Bytes {
  return encodeTlv(DER_TAG.UTF8_STRING, new TextEncoder().encode(text));
}

/**
 * `PrintableString`.
 *
 * @throws {DerError} for a character outside the PrintableString set
 */
export function encodePrintableString(text: string): Bytes {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) {
    throw new DerError(`Cannot encode "${text}" as PrintableString: character not allowed`);
  }
  return encodeTlv(DER_TAG.PRINTABLE_STRING, new TextEncoder().encode(text));
}

/**
 * `IA5String` (ASCII).
 *
 * @throws {DerError} for a non-ASCII character
 */
export function encodeIa5String(text: string): Bytes {
  if ([...text].some((c) => c.charCodeAt(0) > 0x7f)) {
    throw new DerError("Cannot encode IA5String: non-ASCII character");
  }
  return encodeTlv(DER_TAG.IA5_STRING, new TextEncoder().encode(text));
}

/** `UTCTime` `YYMMDDHHMMSSZ` (years 1950–2049; fractions of a second are dropped). */
export function encodeUtcTime(date: Date): Bytes {
  const year = checkedYear(date);
  if (year < 1950 || year > 2049) {
    throw new DerError(`Cannot encode ${date.toISOString()} as UTCTime: year out of range`);
  }
  return encodeTlv(DER_TAG.UTC_TIME, ascii(timeDigits(date).slice(2) + "Z"));
}

/** `GeneralizedTime` `YYYYMMDDHHMMSSZ` (fractions of a second are dropped). */
export function encodeGeneralizedTime(date: Date): Bytes {
  const year = checkedYear(date);
  if (year < 0 || year > 9999) {
    throw new DerError(`Cannot encode ${date.toISOString()} as GeneralizedTime: year out of range`);
  }
  return encodeTlv(DER_TAG.GENERALIZED_TIME, ascii(timeDigits(date) + "Z"));
}

/** An X.509 `Time` (RFC 5280 §4.1.2.5): `UTCTime` through 2049, `GeneralizedTime` from 2050. */
export function encodeTime(date: Date): Bytes {
  const year = checkedYear(date);
  return year >= 1950 && year <= 2049 ? encodeUtcTime(date) : encodeGeneralizedTime(date);
}

function checkedYear(date: Date): number {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year)) throw new DerError("Cannot encode an invalid date");
  return year;
}

function timeDigits(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return String(date.getUTCFullYear()).padStart(4, "0") + two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) + two(date.getUTCHours()) + two(date.getUTCMinutes()) +
    two(date.getUTCSeconds());
}

function ascii(text: string): Bytes {
  return new TextEncoder().encode(text);
}

/** `[n] EXPLICIT`: a constructed context tag around one encoded element. */
export function encodeExplicit(tagNumber: number, inner: Uint8Array): Bytes {
  return encodeTlv(DER_CLASS.CONTEXT | 0x20 | checkedTagNumber(tagNumber), inner);
}

/**
 * `[n] IMPLICIT`: a context tag replacing the element's own; `content` is the content octets
 * (for a constructed type, the encoded children).
 */
export function encodeImplicit(
  tagNumber: number,
  content: Uint8Array,
  options: { constructed?: boolean } = {},
): Bytes {
  const constructed = options.constructed ? 0x20 : 0;
  return encodeTlv(DER_CLASS.CONTEXT | constructed | checkedTagNumber(tagNumber), content);
}

function checkedTagNumber(tagNumber: number): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30) {
    throw new DerError(`Cannot encode context tag [${tagNumber}]: only 0–30 are supported`);
  }
  return tagNumber;
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * One TLV as found in a buffer; `raw` and `content` are views into that buffer, `start` and `end`
 * offsets in it (for an element from {@linkcode readChildren}: in its parent's `content`).
 */
export interface DerElement {
  /** The identifier octet, e.g. `0x30` for SEQUENCE, `0xa3` for `[3]` constructed. */
  tag: number;
  /** `DER_CLASS` bits (`tag & 0xc0`). */
  tagClass: number;
  /** Whether the constructed bit is set. */
  constructed: boolean;
  /** The tag number (`tag & 0x1f`). */
  tagNumber: number;
  /** Offset of the identifier octet. */
  start: number;
  /** Offset just past the element. */
  end: number;
  /** The content octets. */
  content: Uint8Array;
  /** The whole TLV (identifier, length, content). */
  raw: Uint8Array;
}

/**
 * Reads the TLV at `offset`.
 *
 * @throws {DerError} when it is truncated, uses a high tag number, an indefinite or non-minimal
 *   length, or runs past the end of `bytes`
 */
export function readTlv(bytes: Uint8Array, offset = 0): DerElement {
  if (offset < 0 || offset + 2 > bytes.length) {
    throw new DerError(`Cannot read DER at offset ${offset}: truncated header`);
  }
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) {
    throw new DerError(`Cannot read DER at offset ${offset}: high tag numbers are not supported`);
  }
  let at = offset + 1;
  const first = bytes[at++];
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError(`Cannot read DER at offset ${offset}: indefinite length`);
    if (count > 3) throw new DerError(`Cannot read DER at offset ${offset}: length too large`);
    if (at + count > bytes.length) {
      throw new DerError(`Cannot read DER at offset ${offset}: truncated length`);
    }
    if (bytes[at] === 0) {
      throw new DerError(`Cannot read DER at offset ${offset}: non-minimal length`);
    }
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[at++];
    if (length < 0x80) {
      throw new DerError(`Cannot read DER at offset ${offset}: non-minimal length`);
    }
  }
  if (length > MAX_LENGTH || at + length > bytes.length) {
    throw new DerError(
      `Cannot read DER at offset ${offset}: length ${length} runs past the end of the input`,
    );
  }
  const end = at + length;
  return {
    tag,
    tagClass: tag & 0xc0,
    constructed: (tag & 0x20) !== 0,
    tagNumber: tag & 0x1f,
    start: offset,
    end,
    content: bytes.subarray(at, end),
    raw: bytes.subarray(offset, end),
  };
}

/**
 * Reads exactly one TLV spanning all of `bytes`.
 *
 * @throws {DerError} when malformed or followed by trailing bytes
 */
export function readDer(bytes: Uint8Array): DerElement {
  const element = readTlv(bytes, 0);
  if (element.end !== bytes.length) {
    throw new DerError(`Cannot read DER: ${bytes.length - element.end} trailing bytes`);
  }
  return element;
}

/**
 * The child TLVs of a constructed element; they must fill its content exactly.
 *
 * @throws {DerError} when the element is primitive or a child is malformed
 */
export function readChildren(element: DerElement): DerElement[] {
  if (!element.constructed) {
    throw new DerError(`Cannot read children of primitive tag 0x${hex(element.tag)}`);
  }
  const children: DerElement[] = [];
  for (let at = 0; at < element.content.length;) {
    const child = readTlv(element.content, at);
    children.push(child);
    at = child.end;
  }
  return children;
}

/**
 * Checks an element's identifier octet.
 *
 * @throws {DerError} when it is another tag
 */
export function expectTag(element: DerElement, tag: number, what: string): DerElement {
  if (element.tag !== tag) {
    throw new DerError(
      `Cannot read ${what}: expected tag 0x${hex(tag)}, got 0x${hex(element.tag)}`,
    );
  }
  return element;
}

/**
 * A non-negative `INTEGER`'s value.
 *
 * @throws {DerError} when not an INTEGER, empty, non-minimal or negative
 */
export function decodeInteger(element: DerElement): bigint {
  const bytes = expectTag(element, DER_TAG.INTEGER, "INTEGER").content;
  if (bytes.length === 0) throw new DerError("Cannot read INTEGER: empty");
  if (bytes.length > 1 && bytes[0] === 0 && (bytes[1] & 0x80) === 0) {
    throw new DerError("Cannot read INTEGER: non-minimal encoding");
  }
  if (bytes.length > 1 && bytes[0] === 0xff && (bytes[1] & 0x80) !== 0) {
    throw new DerError("Cannot read INTEGER: non-minimal encoding");
  }
  if (bytes[0] & 0x80) throw new DerError("Cannot read INTEGER: negative values are not supported");
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/**
 * An `OBJECT IDENTIFIER` in dotted form.
 *
 * @throws {DerError} when not an OID or malformed
 */
export function decodeOid(element: DerElement): string {
  const bytes = expectTag(element, DER_TAG.OID, "OID").content;
  if (bytes.length === 0 || bytes[bytes.length - 1] & 0x80) {
    throw new DerError("Cannot read OID: truncated");
  }
  const arcs: bigint[] = [];
  let value = 0n;
  let fresh = true;
  for (const byte of bytes) {
    if (fresh && byte === 0x80) throw new DerError("Cannot read OID: non-minimal arc");
    value = (value << 7n) | BigInt(byte & 0x7f);
    fresh = (byte & 0x80) === 0;
    if (fresh) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs[0] < 80n ? arcs[0] / 40n : 2n;
  return [first, arcs[0] - first * 40n, ...arcs.slice(1)].join(".");
}

/**
 * A `BOOLEAN`.
 *
 * @throws {DerError} when not a DER BOOLEAN
 */
export function decodeBoolean(element: DerElement): boolean {
  const bytes = expectTag(element, DER_TAG.BOOLEAN, "BOOLEAN").content;
  if (bytes.length !== 1 || (bytes[0] !== 0 && bytes[0] !== 0xff)) {
    throw new DerError("Cannot read BOOLEAN: not DER");
  }
  return bytes[0] === 0xff;
}

/**
 * An `OCTET STRING`'s bytes.
 *
 * @throws {DerError} when not an OCTET STRING
 */
export function decodeOctetString(element: DerElement): Uint8Array {
  return expectTag(element, DER_TAG.OCTET_STRING, "OCTET STRING").content;
}

/**
 * A `BIT STRING`: its bytes and how many low bits of the last one are unused.
 *
 * @throws {DerError} when not a BIT STRING or malformed
 */
export function decodeBitString(element: DerElement): { bytes: Uint8Array; unusedBits: number } {
  const content = expectTag(element, DER_TAG.BIT_STRING, "BIT STRING").content;
  if (content.length === 0) throw new DerError("Cannot read BIT STRING: empty");
  const unusedBits = content[0];
  if (unusedBits > 7 || (content.length === 1 && unusedBits !== 0)) {
    throw new DerError("Cannot read BIT STRING: bad unused-bits count");
  }
  return { bytes: content.subarray(1), unusedBits };
}

/**
 * The text of a UTF8String, PrintableString or IA5String.
 *
 * @throws {DerError} when it is another type or not valid UTF-8
 */
export function decodeString(element: DerElement): string {
  if (
    element.tag !== DER_TAG.UTF8_STRING && element.tag !== DER_TAG.PRINTABLE_STRING &&
    element.tag !== DER_TAG.IA5_STRING
  ) {
    throw new DerError(`Cannot read a string from tag 0x${hex(element.tag)}`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(element.content);
  } catch {
    throw new DerError("Cannot read string: not valid UTF-8");
  }
}

/**
 * A `UTCTime` (`YYMMDDHHMMSSZ`) or `GeneralizedTime` (`YYYYMMDDHHMMSSZ`).
 *
 * @throws {DerError} when it is another type or not in that exact form
 */
export function decodeTime(element: DerElement): Date {
  const text = new TextDecoder().decode(element.content);
  let match: RegExpMatchArray | null;
  let year: number;
  if (element.tag === DER_TAG.UTC_TIME) {
    match = text.match(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/);
    if (!match) throw new DerError(`Cannot read UTCTime "${text}"`);
    const yy = Number(match[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (element.tag === DER_TAG.GENERALIZED_TIME) {
    match = text.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/);
    if (!match) throw new DerError(`Cannot read GeneralizedTime "${text}"`);
    year = Number(match[1]);
  } else {
    throw new DerError(`Cannot read a time from tag 0x${hex(element.tag)}`);
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (
    date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 ||
    second > 59
  ) {
    throw new DerError(`Cannot read time "${text}": not a calendar date`);
  }
  return date;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
