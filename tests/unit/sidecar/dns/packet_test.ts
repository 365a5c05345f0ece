import assert from "node:assert/strict";
import {
  DNS_CLASS_IN,
  DNS_TYPE,
  DnsFormatError,
  encodeQuery,
  encodeResponse,
  parseHeader,
  parseQuery,
  RCODE,
  readName,
} from "../../../../src/sidecar/dns/packet.ts";

/** Bytes from spaced hex, e.g. `hex("12 34 01 20")`. */
function hex(text: string): number[] {
  return text.trim().split(/\s+/).map((byte) => parseInt(byte, 16));
}

/** A query as `dig egress` sends it: RD and AD set, one question, an EDNS OPT record. */
const DIG_EGRESS_A = new Uint8Array([
  ...hex("12 34 01 20 00 01 00 00 00 00 00 01"), // header: id, flags, qd=1, ar=1
  ...hex("06 65 67 72 65 73 73 00 00 01 00 01"), // "egress", type A, class IN
  ...hex("00 00 29 10 00 00 00 00 00 00 00"), // OPT, 4096-byte payload
]);

function header(qdcount = 1, flags = 0x0100): number[] {
  return [0xab, 0xcd, flags >> 8, flags & 0xff, 0, qdcount, 0, 0, 0, 0, 0, 0];
}

/** A query whose question name is the raw bytes given, followed by type A, class IN. */
function withName(name: number[], flags?: number): Uint8Array {
  return new Uint8Array([...header(1, flags), ...name, 0x00, 0x01, 0x00, 0x01]);
}

function assertFormatError(bytes: Uint8Array, pattern: RegExp, withHeader = true) {
  try {
    parseQuery(bytes);
  } catch (error) {
    assert.ok(error instanceof DnsFormatError, `a DnsFormatError, got ${error}`);
    assert.match(error.message, pattern);
    assert.equal(error.header !== null, withHeader, "header known");
    return;
  }
  assert.fail("parseQuery accepted a malformed message");
}

Deno.test("parseQuery reads a real dig query for egress (with an EDNS OPT record)", () => {
  const query = parseQuery(DIG_EGRESS_A);
  assert.equal(query.header.id, 0x1234);
  assert.equal(query.header.response, false);
  assert.equal(query.header.opcode, 0);
  assert.equal(query.header.recursionDesired, true);
  assert.equal(query.header.arcount, 1);
  assert.deepEqual(query.question, {
    labels: ["egress"],
    name: "egress",
    type: DNS_TYPE.A,
    class: DNS_CLASS_IN,
  });
});

Deno.test("parseQuery reads a multi-label name and keeps its case", () => {
  const bytes = withName([3, 0x57, 0x77, 0x57, 7, ...new TextEncoder().encode("Example"), 0]);
  const query = parseQuery(bytes);
  assert.deepEqual(query.question.labels, ["WwW", "Example"]);
  assert.equal(query.question.name, "WwW.Example");
});

Deno.test("encodeQuery and parseQuery round-trip, trailing dot or not", () => {
  for (const name of ["example.test", "example.test.", "git-gate"]) {
    const query = parseQuery(encodeQuery({ id: 9, name, type: DNS_TYPE.AAAA }));
    assert.equal(query.question.name, name.replace(/\.$/, ""));
    assert.equal(query.question.type, DNS_TYPE.AAAA);
    assert.equal(query.header.id, 9);
  }
});

Deno.test("parseQuery rejects messages shorter than a header, without a header", () => {
  assertFormatError(new Uint8Array(0), /shorter than a header/, false);
  assertFormatError(new Uint8Array(11), /shorter than a header/, false);
});

Deno.test("parseQuery rejects responses and queries without exactly one question", () => {
  assertFormatError(withName([0], 0x8100), /is a response/);
  assertFormatError(new Uint8Array(header(0)), /exactly one question/);
  assertFormatError(new Uint8Array([...header(2), 0, 0, 1, 0, 1, 0, 0, 1, 0, 1]), /exactly one/);
});

Deno.test("parseQuery rejects truncated names and questions", () => {
  assertFormatError(new Uint8Array(header()), /past the end/);
  assertFormatError(new Uint8Array([...header(), 6, 0x65, 0x67]), /label runs past the end/);
  assertFormatError(new Uint8Array([...header(), 1, 0x61]), /past the end/);
  assertFormatError(new Uint8Array([...header(), 0, 0, 1, 0]), /truncated question/);
  assertFormatError(new Uint8Array([...header(), 0xc0]), /truncated compression pointer/);
});

Deno.test("parseQuery rejects reserved label types (lengths 64 and up)", () => {
  assertFormatError(withName([0x40, ...new Array(64).fill(0x61), 0]), /reserved label type/);
  assertFormatError(withName([0x80, 0]), /reserved label type/);
});

Deno.test("parseQuery rejects a name longer than 255 bytes", () => {
  const label = [63, ...new Array(63).fill(0x61)];
  assertFormatError(withName([...label, ...label, ...label, ...label, 0]), /longer than 255/);
});

Deno.test("parseQuery rejects compression pointer loops and forward pointers", () => {
  // A pointer to itself (offset 12).
  assertFormatError(withName([0xc0, 0x0c]), /does not point backwards/);
  // A label, then a pointer back to that label: a two-step loop.
  assertFormatError(withName([1, 0x61, 0xc0, 0x0c]), /does not point backwards/);
  // A pointer forward.
  assertFormatError(withName([0xc0, 0x20]), /does not point backwards/);
  // A pointer into the header.
  assertFormatError(withName([0xc0, 0x02]), /does not point backwards/);
});

Deno.test("readName follows a backward pointer and reports where the name ended", () => {
  const bytes = new Uint8Array([
    ...header(),
    4,
    ...new TextEncoder().encode("test"),
    0, // offset 12: "test"
    7,
    ...new TextEncoder().encode("example"),
    0xc0,
    0x0c, // offset 18: "example" + pointer to 12
  ]);
  assert.deepEqual(readName(bytes, 12), { labels: ["test"], end: 18 });
  assert.deepEqual(readName(bytes, 18), { labels: ["example", "test"], end: 28 });
});

Deno.test("readName rejects a chain of pointers that revisits an offset", () => {
  // 12: "a" + ptr→12 reached through a pointer at 16 that goes to 14 (the pointer at 14).
  const bytes = new Uint8Array([...header(), 1, 0x61, 0xc0, 0x0c, 0xc0, 0x0e]);
  assert.throws(() => readName(bytes, 16), DnsFormatError);
});

Deno.test("parseQuery only ever throws DnsFormatError on random and mutated input", () => {
  let seed = 0x5eed;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const base = [...DIG_EGRESS_A];
  for (let i = 0; i < 20_000; i++) {
    let bytes: Uint8Array;
    if (i % 2 === 0) {
      bytes = new Uint8Array(Math.floor(random() * 80)).map(() => Math.floor(random() * 256));
    } else {
      const mutated = [...base];
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
        mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      }
      bytes = new Uint8Array(mutated.slice(0, Math.floor(random() * (mutated.length + 1))));
    }
    try {
      parseQuery(bytes);
    } catch (error) {
      assert.ok(error instanceof DnsFormatError, `input ${[...bytes]} threw ${error}`);
    }
  }
});

Deno.test("encodeResponse builds an authoritative A answer pointing at the question", () => {
  const question = parseQuery(DIG_EGRESS_A).question;
  const bytes = encodeResponse({
    id: 0x1234,
    opcode: 0,
    recursionDesired: true,
    authoritative: true,
    rcode: RCODE.NOERROR,
    question,
    answers: [{ address: "10.213.0.2", ttl: 60 }],
  });
  assert.deepEqual([...bytes.subarray(0, 12)], hex("12 34 85 00 00 01 00 01 00 00 00 00"));
  assert.deepEqual([...bytes.subarray(12, 24)], [...DIG_EGRESS_A.subarray(12, 24)]);
  assert.deepEqual([...bytes.subarray(24)], hex("c0 0c 00 01 00 01 00 00 00 3c 00 04 0a d5 00 02"));
  const header = parseHeader(bytes);
  assert.equal(header.response, true);
  assert.equal(bytes[3] & 0x80, 0, "RA=0: no recursion");
});

Deno.test("encodeResponse without a question (FORMERR) has an empty question section", () => {
  const bytes = encodeResponse({
    id: 7,
    opcode: 0,
    recursionDesired: false,
    authoritative: false,
    rcode: RCODE.FORMERR,
    question: null,
    answers: [{ address: "10.0.0.1", ttl: 1 }],
  });
  assert.equal(bytes.length, 12);
  assert.equal(bytes[3] & 0x0f, RCODE.FORMERR);
  assert.equal(parseHeader(bytes).qdcount, 0);
  assert.equal(parseHeader(bytes).ancount, 0);
});

Deno.test("encodeResponse refuses an answer address that is not IPv4", () => {
  const question = parseQuery(DIG_EGRESS_A).question;
  const response = {
    id: 1,
    opcode: 0,
    recursionDesired: false,
    authoritative: true,
    rcode: 0,
    question,
  };
  for (const address of ["::1", "10.0.0", "10.0.0.256", "a.b.c.d"]) {
    assert.throws(
      () => encodeResponse({ ...response, answers: [{ address, ttl: 1 }] }),
      RangeError,
    );
  }
});
