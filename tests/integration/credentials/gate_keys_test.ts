import assert from "node:assert/strict";
import { readGateKeys } from "../../../src/credentials/gate_keys.ts";
import { CredentialsError } from "../../../src/lib/errors.ts";
import type { ResolvedAgent } from "../../../src/manifest/mod.ts";

type Repo = ResolvedAgent["gitGate"][number];
const repo = (key: Repo["key"]): Repo => ({
  name: "svc",
  url: "ssh://git@h.example/o/svc.git",
  key,
  hostKey: "ssh-ed25519 AAAA",
  refs: { protected: [], allow: [] },
  bottles: ["b"],
});
const PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
  btoa("openssh-key-v1\0\0\0\0\x04none" + "x".repeat(40)) +
  "\n-----END OPENSSH PRIVATE KEY-----\n";
const ENCRYPTED = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
  btoa("openssh-key-v1\0\0\0\0\x0aaes256-ctr" + "x".repeat(40)) +
  "\n-----END OPENSSH PRIVATE KEY-----\n";

async function withFile(text: string, fn: (path: string) => Promise<void>) {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

const noEnv = (_: string) => undefined;

Deno.test("readGateKeys reads a static key file (the value only in the map)", async () => {
  await withFile(PRIVATE, async (path) => {
    const keys = await readGateKeys([repo({ provider: "static", path })], noEnv);
    assert.equal(keys.get("svc"), PRIVATE);
  });
});

Deno.test("readGateKeys refuses a missing file, a public key and a passphrase, exit 5, no value", async () => {
  const fails = async (text: string | null, re: RegExp) => {
    const run = (path: string) =>
      assert.rejects(
        () => readGateKeys([repo({ provider: "static", path })], noEnv),
        (e: Error) =>
          e instanceof CredentialsError && e.exitCode === 5 && re.test(e.message) &&
          !e.message.includes("xxxx"),
      );
    if (text === null) await run("/nonexistent/bb-key");
    else await withFile(text, run);
  };
  await fails(null, /"\/nonexistent\/bb-key": it does not exist/);
  await fails("ssh-ed25519 AAAAxxxx user@host\n", /not a private key file/);
  await fails(ENCRYPTED, /has a passphrase/);
});
