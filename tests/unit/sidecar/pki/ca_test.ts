import assert from "node:assert/strict";
import { mintBottleCa } from "../../../../src/bottle/ca.ts";
import { SidecarError } from "../../../../src/sidecar/errors.ts";
import { X509Certificate } from "node:crypto";
import { importCa, mintCa } from "../../../../src/sidecar/pki/ca.ts";
import { mintLeaf } from "../../../../src/sidecar/pki/leaf.ts";
import { decodePem, encodePem, parseCertificate } from "../../../../src/sidecar/pki/x509.ts";
import { HOUR, NOW, testCa } from "./fixture.ts";

Deno.test("importCa refuses a mismatched key, a non-CA certificate and malformed PEM", async () => {
  const pem = await testCa();
  const other = await mintBottleCa("codex-aaaaa", { now: NOW });
  await assert.rejects(() => importCa(pem.certPem, other.keyPem), /does not belong/);
  const ca = await importCa(pem.certPem, pem.keyPem);
  const leaf = await mintLeaf(ca, "api.example.test", { now: NOW });
  await assert.rejects(() => importCa(leaf.certPem, leaf.keyPem), /not a CA/);
  await assert.rejects(() => importCa("not pem", pem.keyPem), /no "CERTIFICATE" PEM block/);
  await assert.rejects(() => importCa(pem.certPem, "nothing"), /no "PRIVATE KEY" PEM block/);
  const sec1 = pem.keyPem.replaceAll("PRIVATE KEY", "EC PRIVATE KEY");
  await assert.rejects(() => importCa(pem.certPem, sec1), /no "PRIVATE KEY" PEM block/);
  const garbage = encodePem("CERTIFICATE", Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00));
  await assert.rejects(() => importCa(garbage, pem.keyPem), /not an X\.509 certificate/);
  const junkKey = encodePem("PRIVATE KEY", Uint8Array.of(0x30, 0x00));
  await assert.rejects(() => importCa(pem.certPem, junkKey), /not a PKCS#8 ECDSA P-256/);
  for (const error of [await importCa(pem.certPem, other.keyPem).catch((e) => e)]) {
    assert.ok(error instanceof SidecarError);
    assert.ok(!String(error.message).includes("PRIVATE"), "no key material in the message");
  }
});

Deno.test("importCa exposes the CA subject, key identifier and expiry", async () => {
  const pem = await testCa();
  const ca = await importCa(pem.certPem, pem.keyPem);
  const parsed = parseCertificate(decodePem(pem.certPem, "CERTIFICATE"));
  assert.deepEqual(ca.subject, parsed.subject);
  assert.deepEqual(ca.subjectKeyIdentifier, parsed.subjectKeyIdentifier);
  assert.equal(ca.notAfter.getTime(), NOW.getTime() + 30 * 24 * HOUR);
  assert.equal(ca.key.extractable, false);
  assert.deepEqual(ca.key.usages, ["sign"]);
});

Deno.test("mintCa mints a self-signed CA that importCa reads back", async () => {
  const minted = await mintCa({
    commonName: "test CA",
    notBefore: new Date(NOW.getTime() - HOUR),
    notAfter: new Date(NOW.getTime() + HOUR),
  });
  const cert = new X509Certificate(minted.certPem);
  assert.equal(cert.subject, "CN=test CA");
  assert.equal(cert.ca, true);
  assert.equal(minted.fingerprintSha256, cert.fingerprint256);
  const ca = await importCa(minted.certPem, minted.keyPem);
  assert.equal(ca.notAfter.getTime(), NOW.getTime() + HOUR);
});
