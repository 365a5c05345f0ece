import assert from "node:assert/strict";
import {
  ANSWER_TTL_SECONDS,
  BUNDLE_NAMES,
  isBundleName,
  replyTo,
} from "../../../../src/sidecar/dns/answer.ts";
import {
  DNS_TYPE,
  encodeQuery,
  parseHeader,
  RCODE,
  readName,
} from "../../../../src/sidecar/dns/packet.ts";

const ADDRESS = "10.213.0.2";

/** The parts of a response the tests look at. */
function decode(bytes: Uint8Array) {
  const header = parseHeader(bytes);
  const flags = (bytes[2] << 8) | bytes[3];
  const result = {
    id: header.id,
    rcode: flags & 0x0f,
    authoritative: (flags & 0x0400) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    recursionDesired: header.recursionDesired,
    response: header.response,
    qdcount: header.qdcount,
    question: "",
    answers: [] as string[],
  };
  if (header.qdcount === 1) {
    const name = readName(bytes, 12);
    result.question = name.labels.join(".");
    let at = name.end + 4;
    for (let i = 0; i < header.ancount; i++) {
      assert.deepEqual([bytes[at], bytes[at + 1]], [0xc0, 0x0c], "answer names the question");
      assert.equal((bytes[at + 2] << 8) | bytes[at + 3], DNS_TYPE.A);
      assert.equal(new DataView(bytes.buffer).getUint32(at + 6), ANSWER_TTL_SECONDS);
      result.answers.push([...bytes.subarray(at + 12, at + 16)].join("."));
      at += 16;
    }
  }
  return result;
}

function ask(name: string, type: number, address: string | null = ADDRESS, klass = 1) {
  const reply = replyTo(encodeQuery({ id: 4242, name, type, class: klass }), address);
  assert.ok(reply.response !== null, "a response is sent");
  return { reply, response: decode(reply.response) };
}

Deno.test("replyTo answers A for egress with the internal address, authoritatively", () => {
  const { reply, response } = ask("egress", DNS_TYPE.A);
  assert.equal(reply.outcome, "answered");
  assert.equal(response.id, 4242);
  assert.equal(response.response, true);
  assert.equal(response.rcode, RCODE.NOERROR);
  assert.equal(response.authoritative, true);
  assert.equal(response.recursionAvailable, false);
  assert.equal(response.recursionDesired, true, "RD is echoed");
  assert.equal(response.question, "egress");
  assert.deepEqual(response.answers, [ADDRESS]);
});

Deno.test("replyTo answers every bundle name, in any case, echoing the asked case", () => {
  for (const name of [...BUNDLE_NAMES, "EGRESS", "Git-Gate", "supervise.", "FORGE."]) {
    const { reply, response } = ask(name, DNS_TYPE.A);
    assert.equal(reply.outcome, "answered", name);
    assert.deepEqual(response.answers, [ADDRESS], name);
    assert.equal(response.question, name.replace(/\.$/, ""), "0x20 case is kept");
  }
});

Deno.test("replyTo answers AAAA for a bundle name with NOERROR and no records", () => {
  const { reply, response } = ask("git-gate", DNS_TYPE.AAAA);
  assert.equal(reply.outcome, "no-data");
  assert.equal(response.rcode, RCODE.NOERROR);
  assert.deepEqual(response.answers, []);
});

Deno.test("replyTo refuses every other name, type and class, without recursion", () => {
  const cases: [string, number, number][] = [
    ["example.test", DNS_TYPE.A, 1],
    ["example.test", DNS_TYPE.AAAA, 1],
    ["egress.example.test", DNS_TYPE.A, 1],
    ["x.egress", DNS_TYPE.A, 1],
    ["egressx", DNS_TYPE.A, 1],
    ["localhost", DNS_TYPE.A, 1],
    ["", DNS_TYPE.A, 1],
    ["egress", 16, 1], // TXT
    ["egress", 15, 1], // MX
    ["egress", 255, 1], // ANY
    ["egress", DNS_TYPE.A, 3], // CHAOS
  ];
  for (const [name, type, klass] of cases) {
    const { reply, response } = ask(name, type, ADDRESS, klass);
    const label = `${name} ${type} ${klass}`;
    assert.equal(reply.outcome, "refused", label);
    assert.equal(response.rcode, RCODE.REFUSED, label);
    assert.equal(response.recursionAvailable, false, label);
    assert.equal(response.authoritative, false, label);
    assert.deepEqual(response.answers, [], label);
  }
});

Deno.test("replyTo answers SERVFAIL for a bundle name while the address is unknown", () => {
  const { reply, response } = ask("egress", DNS_TYPE.A, null);
  assert.equal(reply.outcome, "servfail");
  assert.equal(response.rcode, RCODE.SERVFAIL);
  assert.deepEqual(response.answers, []);
  assert.equal(ask("example.test", DNS_TYPE.A, null).reply.outcome, "refused");
});

Deno.test("replyTo answers FORMERR with the same id for an unreadable question", () => {
  const loop = new Uint8Array([0x0b, 0xad, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]);
  const reply = replyTo(loop, ADDRESS);
  assert.equal(reply.outcome, "formerr");
  assert.match(reply.reason ?? "", /backwards/);
  const response = decode(reply.response!);
  assert.equal(response.id, 0x0bad);
  assert.equal(response.rcode, RCODE.FORMERR);
  assert.equal(response.qdcount, 0);
});

Deno.test("replyTo drops runts and responses instead of answering them", () => {
  assert.deepEqual(replyTo(new Uint8Array(5), ADDRESS).response, null);
  const response = encodeQuery({ id: 1, name: "egress", type: DNS_TYPE.A });
  response[2] |= 0x80;
  const reply = replyTo(response, ADDRESS);
  assert.equal(reply.outcome, "dropped");
  assert.equal(reply.response, null);
});

Deno.test("replyTo refuses other opcodes (no question echoed)", () => {
  const query = encodeQuery({ id: 2, name: "egress", type: DNS_TYPE.A });
  query[2] |= 2 << 3; // opcode STATUS
  const reply = replyTo(query, ADDRESS);
  assert.equal(reply.outcome, "refused");
  const response = decode(reply.response!);
  assert.equal(response.rcode, RCODE.REFUSED);
  assert.equal(response.qdcount, 0);
  assert.equal(reply.response![2] >> 3 & 0x0f, 2, "opcode echoed");
});

Deno.test("replyTo never throws on random input", () => {
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 5000; i++) {
    const bytes = new Uint8Array(Math.floor(random() * 64)).map(() => Math.floor(random() * 256));
    replyTo(bytes, ADDRESS);
  }
});

Deno.test("isBundleName matches the four names case-insensitively, trailing dot optional", () => {
  assert.ok(isBundleName("egress"));
  assert.ok(isBundleName("Egress."));
  assert.ok(isBundleName("FORGE"));
  assert.ok(!isBundleName("egress.."));
  assert.ok(!isBundleName("egress.example.test"));
  assert.ok(!isBundleName("example.test"));
});
