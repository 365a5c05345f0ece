import assert from "node:assert/strict";
import { readChildren, readDer } from "../../../../src/sidecar/pki/der.ts";
import { X509Certificate } from "node:crypto";
import { buildCertificate, p1363ToDer } from "../../../../src/sidecar/pki/certificate.ts";
import { importCa } from "../../../../src/sidecar/pki/ca.ts";
import { encodeName, OID, parseCertificate } from "../../../../src/sidecar/pki/x509.ts";

Deno.test("p1363ToDer converts r||s to SEQUENCE { INTEGER r, INTEGER s }", () => {
  const show = (bytes: Uint8Array) =>
    [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  assert.equal(show(p1363ToDer(Uint8Array.of(0x01, 0x02))), "30 06 02 01 01 02 01 02");
  assert.equal(show(p1363ToDer(Uint8Array.of(0x80, 0x7f))), "30 07 02 02 00 80 02 01 7f");
  assert.equal(
    show(p1363ToDer(Uint8Array.of(0x00, 0x05, 0x00, 0x00))),
    "30 06 02 01 05 02 01 00",
    "leading zeros dropped",
  );
  const full = new Uint8Array(64).fill(0xff);
  const der = readChildren(readDer(p1363ToDer(full)));
  assert.deepEqual(der.map((i) => i.content.length), [33, 33]);
  assert.throws(() => p1363ToDer(new Uint8Array(3)));
  assert.throws(() => p1363ToDer(new Uint8Array(0)));
});

Deno.test("buildCertificate self-signs a CA without an authority key id, and signs a server leaf for its issuer", async () => {
  const notBefore = new Date("2026-03-01T11:00:00.900Z");
  const notAfter = new Date("2026-03-31T12:00:00.000Z");
  const root = await buildCertificate({
    profile: "ca",
    subject: encodeName({ commonName: "root", organization: "test" }),
    notBefore,
    notAfter,
  });
  const rootCert = new X509Certificate(root.certPem);
  assert.equal(rootCert.ca, true);
  assert.equal(rootCert.subject, "O=test\nCN=root");
  assert.equal(rootCert.issuer, rootCert.subject);
  assert.equal(rootCert.verify(rootCert.publicKey), true);
  assert.equal(rootCert.validFromDate.toISOString(), "2026-03-01T11:00:00.000Z", "whole seconds");
  const parsedRoot = parseCertificate(root.der);
  assert.deepEqual(
    [...parsedRoot.extensions.keys()],
    [OID.basicConstraints, OID.keyUsage, OID.subjectKeyIdentifier],
  );

  const ca = await importCa(root.certPem, root.keyPem);
  const leaf = await buildCertificate({
    profile: "server",
    subject: encodeName({}),
    issuer: { name: ca.subject, key: ca.key, keyIdentifier: ca.subjectKeyIdentifier },
    notBefore,
    notAfter,
    altNames: [{ kind: "dns", name: "a.example.test" }, {
      kind: "ip",
      address: Uint8Array.of(192, 0, 2, 1),
    }],
  });
  const leafCert = new X509Certificate(leaf.certPem);
  assert.equal(leafCert.ca, false);
  assert.equal(leafCert.checkIssued(rootCert), true);
  assert.equal(leafCert.verify(rootCert.publicKey), true);
  assert.equal(leafCert.subjectAltName, "DNS:a.example.test, IP Address:192.0.2.1");
  const parsedLeaf = parseCertificate(leaf.der);
  assert.deepEqual([...parsedLeaf.extensions.keys()], [
    OID.subjectAltName,
    OID.basicConstraints,
    OID.keyUsage,
    OID.extKeyUsage,
    OID.authorityKeyIdentifier,
    OID.subjectKeyIdentifier,
  ]);
  assert.equal(parsedLeaf.extensions.get(OID.subjectAltName)?.critical, true, "empty subject");
  assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
});
