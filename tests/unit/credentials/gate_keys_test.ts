import assert from "node:assert/strict";
import { keyPath, readGateKeys } from "../../../src/credentials/gate_keys.ts";
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
const noEnv = (_: string) => undefined;

Deno.test("readGateKeys needs the gitea provisioner token variable set", async () => {
  const gitea = repo({ provider: "gitea", provisionerToken: "BB_TOKEN", apiUrl: null });
  await assert.rejects(() => readGateKeys([gitea], noEnv), /BB_TOKEN is not set/);
  assert.equal((await readGateKeys([gitea], (n) => n === "BB_TOKEN" ? "t" : undefined)).size, 0);
});

Deno.test("keyPath expands ~/ and refuses relative paths", () => {
  assert.equal(
    keyPath("~/.ssh/k", (n) => n === "HOME" ? "/home/u/" : undefined, "r"),
    "/home/u/.ssh/k",
  );
  assert.equal(keyPath("/abs/k", noEnv, "r"), "/abs/k");
  assert.throws(() => keyPath("rel/k", noEnv, "r"), /not an absolute path/);
});
