import assert from "node:assert/strict";
import { ConfigError } from "../../../src/lib/errors.ts";
import { loadExtraCaCerts, parseCaPem } from "../../../src/lib/extra_ca.ts";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydA==\n-----END CERTIFICATE-----";

Deno.test("loadExtraCaCerts returns undefined when the variable is unset", async () => {
  assert.equal(await loadExtraCaCerts(() => undefined), undefined);
});

Deno.test("loadExtraCaCerts reads files and directories in name order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/d`);
    await Deno.writeTextFile(`${dir}/d/b.crt`, `${CERT}\n${CERT}\n`);
    await Deno.writeTextFile(`${dir}/d/a.pem`, CERT);
    await Deno.writeTextFile(`${dir}/d/readme.txt`, "not a cert");
    await Deno.writeTextFile(`${dir}/one.pem`, `junk before\r\n${CERT.replaceAll("\n", "\r\n")}`);
    const env = (n: string) => n === "BOT_BOTTLE_EXTRA_CA_CERTS" ? `${dir}/d:${dir}/one.pem` : "";
    const loaded = await loadExtraCaCerts(env);
    assert.ok(loaded);
    assert.equal(loaded.count, 4);
    assert.deepEqual(loaded.sources, [`${dir}/d/a.pem`, `${dir}/d/b.crt`, `${dir}/one.pem`]);
    assert.ok(!loaded.pem.includes("\r"));
    assert.equal(loaded.pem, `${CERT}\n`.repeat(4));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadExtraCaCerts names a missing path and says how to fix it", async () => {
  await assert.rejects(
    loadExtraCaCerts(() => "/nonexistent/ca.pem"),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes('"/nonexistent/ca.pem"') &&
      e.hint!.includes("BOT_BOTTLE_EXTRA_CA_CERTS") && e.exitCode === 3,
  );
});

Deno.test("parseCaPem refuses a file with a private key without echoing it", () => {
  const key = "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----";
  assert.throws(
    () => parseCaPem(`${CERT}\n${key}`, "bundle.pem"),
    (e: unknown) =>
      e instanceof ConfigError && /private key/.test(e.message) && !e.message.includes("SECRET"),
  );
  assert.throws(() => parseCaPem("hello", "x.pem"), /no PEM certificate/);
});
