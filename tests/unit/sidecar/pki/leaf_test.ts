import assert from "node:assert/strict";
import { createPrivateKey, sign, verify, X509Certificate } from "node:crypto";
import { mintBottleCa } from "../../../../src/bottle/ca.ts";
import {
  decodeInteger,
  decodeOctetString,
  readChildren,
  readDer,
} from "../../../../src/sidecar/pki/der.ts";
import { SidecarError } from "../../../../src/sidecar/errors.ts";
import { importCa } from "../../../../src/sidecar/pki/ca.ts";
import { LEAF_LIFETIME_MS, mintLeaf, parseLeafHost } from "../../../../src/sidecar/pki/leaf.ts";
import { decodePem, OID, parseCertificate } from "../../../../src/sidecar/pki/x509.ts";
import { HOUR, NOW, testCa } from "./fixture.ts";

Deno.test("mintLeaf issues a server certificate the CA verifies, for that host only", async () => {
  const pem = await testCa();
  const ca = await importCa(pem.certPem, pem.keyPem);
  const leaf = await mintLeaf(ca, "api.example.test", { now: NOW });
  const cert = new X509Certificate(leaf.certPem);
  const caCert = new X509Certificate(pem.certPem);
  assert.equal(cert.checkIssued(caCert), true);
  assert.equal(cert.verify(caCert.publicKey), true);
  assert.equal(cert.checkHost("api.example.test"), "api.example.test");
  assert.equal(cert.checkHost("other.example.test"), undefined);
  assert.equal(cert.checkHost("x.api.example.test"), undefined);
  assert.equal(cert.subjectAltName, "DNS:api.example.test");
  assert.equal(cert.subject, "CN=api.example.test");
  assert.equal(cert.issuer, caCert.subject);
  assert.equal(cert.ca, false);
  assert.equal(cert.validFromDate.getTime(), NOW.getTime() - HOUR);
  assert.equal(cert.validToDate.getTime(), NOW.getTime() + LEAF_LIFETIME_MS);
  assert.equal(leaf.notAfter.getTime(), NOW.getTime() + 7 * 24 * HOUR);
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.equal(cert.checkPrivateKey(createPrivateKey(leaf.keyPem)), true);
  const message = new TextEncoder().encode("hello");
  const signature = sign("sha256", message, createPrivateKey(leaf.keyPem));
  assert.equal(verify("sha256", message, cert.publicKey, signature), true);
});

Deno.test("mintLeaf writes the v3 structure and extensions of SPEC §7.1", async () => {
  const pem = await testCa();
  const ca = await importCa(pem.certPem, pem.keyPem);
  const leaf = await mintLeaf(ca, "api.example.test", { now: NOW });
  const parsed = parseCertificate(decodePem(leaf.certPem, "CERTIFICATE"));
  const caParsed = parseCertificate(decodePem(pem.certPem, "CERTIFICATE"));
  const tbs = readChildren(readDer(parsed.tbs));
  assert.equal(tbs[0].tag, 0xa0);
  assert.equal(decodeInteger(readChildren(tbs[0])[0]), 2n, "version v3");
  assert.equal(parsed.serial.length, 16, "16-byte serial");
  assert.equal(parsed.serial[0] & 0x80, 0, "positive serial");
  assert.equal(parsed.signatureAlgorithm, OID.ecdsaWithSha256);
  assert.equal(readChildren(tbs[2]).length, 1, "ecdsa-with-SHA256 has no parameters");
  assert.deepEqual(parsed.issuer, caParsed.subject, "issuer is the CA subject, byte for byte");
  assert.deepEqual(
    [...parsed.extensions].map(([id, { critical }]) => [id, critical]),
    [
      [OID.subjectAltName, false],
      [OID.basicConstraints, true],
      [OID.keyUsage, true],
      [OID.extKeyUsage, false],
      [OID.authorityKeyIdentifier, false],
      [OID.subjectKeyIdentifier, false],
    ],
  );
  assert.equal(parsed.isCa, false);
  const ext = (id: string) => parsed.extensions.get(id)!.value;
  assert.deepEqual([...ext(OID.basicConstraints)], [0x30, 0x00], "cA false (the DER default)");
  assert.deepEqual([...ext(OID.keyUsage)], [0x03, 0x02, 0x07, 0x80], "digitalSignature only");
  assert.deepEqual([...ext(OID.extKeyUsage)], [...readDer(ext(OID.extKeyUsage)).raw]);
  assert.match(
    [...ext(OID.extKeyUsage)].map((b) => b.toString(16).padStart(2, "0")).join(""),
    /^300a06082b06010505070301$/,
    "serverAuth",
  );
  const aki = readChildren(readDer(ext(OID.authorityKeyIdentifier)));
  assert.equal(aki.length, 1);
  assert.equal(aki[0].tag, 0x80, "[0] keyIdentifier");
  assert.deepEqual(aki[0].content, caParsed.subjectKeyIdentifier);
  const spkiDigest = new Uint8Array(
    await crypto.subtle.digest("SHA-1", parsed.subjectPublicKey),
  );
  assert.deepEqual(parsed.subjectKeyIdentifier, spkiDigest);
  const signature = readChildren(readDer(parsed.signature));
  assert.equal(signature.length, 2, "SEQUENCE { r, s }");
  for (const integer of signature) assert.ok(decodeInteger(integer) > 0n);
  assert.deepEqual(
    decodeOctetString(readDer(ext(OID.subjectKeyIdentifier))).length,
    20,
  );
});

Deno.test("mintLeaf serials and keys differ per leaf", async () => {
  const pem = await testCa();
  const ca = await importCa(pem.certPem, pem.keyPem);
  const a = await mintLeaf(ca, "api.example.test", { now: NOW });
  const b = await mintLeaf(ca, "api.example.test", { now: NOW });
  const serial = (leaf: { certPem: string }) => new X509Certificate(leaf.certPem).serialNumber;
  assert.notEqual(serial(a), serial(b));
  assert.notEqual(a.keyPem, b.keyPem);
});

Deno.test("mintLeaf puts an IP literal in an iPAddress name and lower-cases DNS names", async () => {
  const pem = await testCa();
  const ca = await importCa(pem.certPem, pem.keyPem);
  const cases: [string, string, string][] = [
    ["127.0.0.1", "IP Address:127.0.0.1", "127.0.0.1"],
    ["::1", "IP Address:::1", "::1"],
    ["2001:DB8::1.2.3.4", "IP Address:2001:db8::102:304", "2001:db8::102:304"],
    ["fe80:0:0:0:0:0:0:1", "IP Address:fe80::1", "fe80::1"],
    ["API.Example.TEST", "DNS:api.example.test", "api.example.test"],
  ];
  for (const [host, san, check] of cases) {
    const cert = new X509Certificate((await mintLeaf(ca, host, { now: NOW })).certPem);
    assert.equal(cert.subjectAltName, san, host);
    if (san.startsWith("IP")) {
      assert.equal(cert.checkIP(check), check, host);
    } else assert.equal(cert.checkHost(check), check, host);
  }
});

Deno.test("mintLeaf gives a host longer than 64 characters an empty subject and a critical SAN", async () => {
  const pem = await testCa();
  const ca = await importCa(pem.certPem, pem.keyPem);
  const host = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(56)}.test`;
  assert.equal(host.length, 253);
  const leaf = await mintLeaf(ca, host, { now: NOW });
  const cert = new X509Certificate(leaf.certPem);
  assert.ok(!cert.subject, "no subject (Deno reports undefined)");
  assert.equal(cert.subjectAltName, `DNS:${host}`);
  assert.equal(cert.checkHost(host), host);
  assert.equal(cert.verify(new X509Certificate(pem.certPem).publicKey), true);
  const parsed = parseCertificate(decodePem(leaf.certPem, "CERTIFICATE"));
  assert.deepEqual([...parsed.subject], [0x30, 0x00], "empty Name");
  assert.equal(parsed.extensions.get(OID.subjectAltName)?.critical, true);
});

Deno.test("parseLeafHost refuses anything but a host name or IP literal", () => {
  const bad = [
    "",
    "*.example.test",
    "a..example.test",
    ".example.test",
    "example.test.",
    "-a.example.test",
    "a-.example.test",
    "under_score.example.test",
    "exa mple.test",
    "exämple.test",
    "example.test:443",
    "[::1]",
    "api.example.test/path",
    "api.example.test\r\nx",
    `${"a".repeat(64)}.test`,
    `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.test`,
    "1.2.3",
    "256.1.1.1",
    "01.2.3.4",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    ":1::",
    "::ffff:1.2.3",
  ];
  for (const host of bad) assert.throws(() => parseLeafHost(host), SidecarError, host);
  assert.deepEqual(parseLeafHost("Api.Example.Test"), { kind: "dns", name: "api.example.test" });
  assert.deepEqual(parseLeafHost("xn--bcher-kva.example"), {
    kind: "dns",
    name: "xn--bcher-kva.example",
  });
  const ip = parseLeafHost("::ffff:10.0.0.1");
  assert.equal(ip.kind, "ip");
  assert.deepEqual(
    ip.kind === "ip" ? [...ip.address] : [],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1],
  );
});

Deno.test("mintLeaf refuses an invalid host before minting", async () => {
  const pem = await testCa();
  const ca = await importCa(pem.certPem, pem.keyPem);
  await assert.rejects(() => mintLeaf(ca, "*.example.test"), SidecarError);
  await assert.rejects(() => mintLeaf(ca, "bad host"), /Cannot mint a certificate for "bad host"/);
});

Deno.test("a leaf signed by another CA does not verify, even under the same CA name", async () => {
  const first = await testCa();
  const other = await mintBottleCa("claude-x7k2p", { now: NOW }); // same subject, other key
  const stranger = await mintBottleCa("codex-aaaaa", { now: NOW });
  const leaf = await mintLeaf(await importCa(other.certPem, other.keyPem), "api.example.test", {
    now: NOW,
  });
  const cert = new X509Certificate(leaf.certPem);
  assert.equal(cert.verify(new X509Certificate(first.certPem).publicKey), false);
  assert.equal(cert.verify(new X509Certificate(stranger.certPem).publicKey), false);
  assert.equal(cert.checkIssued(new X509Certificate(stranger.certPem)), false);
  assert.equal(cert.verify(new X509Certificate(other.certPem).publicKey), true);
});

Deno.test("a leaf never outlives the CA, and an expired CA mints nothing", async () => {
  const caNow = new Date(NOW.getTime() - 29.9 * 24 * HOUR);
  const pem = await mintBottleCa("claude-x7k2p", { now: caNow });
  const ca = await importCa(pem.certPem, pem.keyPem);
  const leaf = await mintLeaf(ca, "api.example.test", { now: NOW });
  assert.equal(leaf.notAfter.getTime(), ca.notAfter.getTime());
  assert.equal(new X509Certificate(leaf.certPem).validToDate.getTime(), ca.notAfter.getTime());
  await assert.rejects(
    () => mintLeaf(ca, "api.example.test", { now: new Date(ca.notAfter.getTime() + 1) }),
    /the bottle CA expired/,
  );
});

Deno.test("mintLeaf uses GeneralizedTime for a validity past 2049", async () => {
  const now = new Date("2049-12-30T00:00:00Z");
  const pem = await mintBottleCa("claude-x7k2p", { now });
  const ca = await importCa(pem.certPem, pem.keyPem);
  const leaf = await mintLeaf(ca, "api.example.test", { now });
  const parsed = parseCertificate(decodePem(leaf.certPem, "CERTIFICATE"));
  assert.equal(parsed.notAfter.toISOString(), "2050-01-06T00:00:00.000Z");
  const validity = readChildren(readChildren(readDer(parsed.tbs))[4]);
  assert.deepEqual(validity.map((v) => v.tag), [0x17, 0x18]);
  assert.equal(
    new X509Certificate(leaf.certPem).validToDate.toISOString(),
    parsed.notAfter.toISOString(),
  );
});
