import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from "node:crypto";
import { CA_LIFETIME_MS, mintBottleCa } from "../../../src/bottle/ca.ts";
import { BottleError } from "../../../src/lib/errors.ts";
import { decodeInteger, readChildren, readDer } from "../../../src/sidecar/pki/der.ts";
import { decodePem, OID, parseCertificate } from "../../../src/sidecar/pki/mod.ts";

const NOW = new Date("2026-03-01T12:00:00.500Z");
const HOUR = 60 * 60 * 1000;

Deno.test("mintBottleCa mints a self-signed P-256 CA named after the bottle", async () => {
  const ca = await mintBottleCa("claude-x7k2p", { now: NOW });
  const cert = new X509Certificate(ca.certPem);
  assert.equal(cert.subject, "O=bot-bottle\nCN=bot-bottle CA claude-x7k2p");
  assert.equal(cert.issuer, cert.subject);
  assert.equal(cert.ca, true);
  assert.equal(cert.checkIssued(cert), true);
  assert.equal(cert.verify(cert.publicKey), true);
  assert.equal(cert.publicKey.asymmetricKeyType, "ec");
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.equal(cert.validFromDate.getTime(), Date.parse("2026-03-01T11:00:00Z"), "now - 1h");
  assert.equal(cert.validToDate.getTime(), Date.parse("2026-03-31T12:00:00Z"), "now + 30d");
  assert.equal(CA_LIFETIME_MS, 30 * 24 * HOUR);
  assert.equal(cert.fingerprint256, ca.fingerprintSha256);
  assert.match(ca.fingerprintSha256, /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/);
  assert.match(
    ca.certPem,
    /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/,
  );
  assert.match(
    ca.keyPem,
    /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/,
  );
});

Deno.test("mintBottleCa's key belongs to its certificate", async () => {
  const ca = await mintBottleCa("claude-x7k2p", { now: NOW });
  const cert = new X509Certificate(ca.certPem);
  const key = createPrivateKey(ca.keyPem);
  assert.equal(cert.checkPrivateKey(key), true);
  const message = new TextEncoder().encode("bottle");
  assert.equal(verify("sha256", message, cert.publicKey, sign("sha256", message, key)), true);
  assert.deepEqual(
    createPublicKey(key).export({ format: "jwk" }),
    cert.publicKey.export({ format: "jwk" }),
  );
});

Deno.test("mintBottleCa sets critical CA constraints, key usages and a key identifier", async () => {
  const ca = await mintBottleCa("claude-x7k2p", { now: NOW });
  const parsed = parseCertificate(decodePem(ca.certPem, "CERTIFICATE"));
  assert.equal(parsed.isCa, true);
  const basic = parsed.extensions.get(OID.basicConstraints)!;
  assert.equal(basic.critical, true);
  const [cA, pathLen] = readChildren(readDer(basic.value));
  assert.deepEqual([...cA.raw], [0x01, 0x01, 0xff]);
  assert.equal(decodeInteger(pathLen), 0n, "pathLen 0");
  const usage = parsed.extensions.get(OID.keyUsage)!;
  assert.equal(usage.critical, true);
  assert.deepEqual([...usage.value], [0x03, 0x02, 0x01, 0x06], "keyCertSign + cRLSign only");
  assert.equal(parsed.extensions.get(OID.subjectKeyIdentifier)?.critical, false);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", parsed.subjectPublicKey));
  assert.deepEqual(parsed.subjectKeyIdentifier, digest);
  assert.equal(parsed.signatureAlgorithm, OID.ecdsaWithSha256);
  assert.equal(parsed.serial.length, 16);
  assert.equal(parsed.serial[0] & 0x80, 0, "positive serial");
});

Deno.test("each mintBottleCa call has its own key and serial", async () => {
  const a = await mintBottleCa("claude-x7k2p");
  const b = await mintBottleCa("claude-x7k2p");
  assert.notEqual(a.keyPem, b.keyPem);
  assert.notEqual(a.fingerprintSha256, b.fingerprintSha256);
  assert.notEqual(
    new X509Certificate(a.certPem).serialNumber,
    new X509Certificate(b.certPem).serialNumber,
  );
});

Deno.test("mintBottleCa accepts the longest slug and refuses what is not a slug", async () => {
  const longest = `a${"-b".repeat(23)}c`;
  assert.equal(longest.length, 48);
  const cert = new X509Certificate((await mintBottleCa(longest)).certPem);
  assert.match(cert.subject, new RegExp(`CN=bot-bottle CA ${longest}$`));
  for (const slug of ["", "UPPER", "a b", "-a", `${"a".repeat(49)}`, "a\nO=evil"]) {
    await assert.rejects(() => mintBottleCa(slug), BottleError, JSON.stringify(slug));
  }
});
