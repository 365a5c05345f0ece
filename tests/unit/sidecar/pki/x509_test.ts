import assert from "node:assert/strict";
import { SidecarError } from "../../../../src/sidecar/errors.ts";
import {
  decodePem,
  encodeName,
  encodePem,
  fingerprintSha256,
} from "../../../../src/sidecar/pki/x509.ts";

Deno.test("encodePem wraps at 64 characters and decodePem reads it back", () => {
  const der = crypto.getRandomValues(new Uint8Array(200));
  const pem = encodePem("CERTIFICATE", der);
  const lines = pem.trimEnd().split("\n");
  assert.equal(lines[0], "-----BEGIN CERTIFICATE-----");
  assert.equal(lines.at(-1), "-----END CERTIFICATE-----");
  assert.ok(lines.slice(1, -1).every((line) => line.length <= 64));
  assert.deepEqual(decodePem(pem, "CERTIFICATE"), der);
  assert.deepEqual(decodePem(pem.replaceAll("\n", "\r\n"), "CERTIFICATE"), der);
  assert.throws(() => decodePem(pem, "PRIVATE KEY"), SidecarError);
});

Deno.test("encodeName writes O then CN, and nothing for no attribute", () => {
  const show = (bytes: Uint8Array) =>
    [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(show(encodeName({})), "3000");
  assert.equal(
    show(encodeName({ commonName: "a" })),
    "300c310a300806035504030c0161",
  );
  assert.equal(
    show(encodeName({ commonName: "a", organization: "b" })),
    "3018310a3008060355040a0c0162310a300806035504030c0161",
  );
});

Deno.test("fingerprintSha256 is the SHA-256 of the DER as upper-case hex pairs", async () => {
  assert.equal(
    await fingerprintSha256(new Uint8Array()),
    "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55",
  );
});
