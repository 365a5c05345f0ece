import assert from "node:assert/strict";
import { acceptedPush, bareHostKey, gateRepoConfigs } from "../../../src/bottle/git_gate.ts";
import { formatPush } from "../../../src/cli/ps.ts";

Deno.test("gateRepoConfigs: ssh repos carry the static key or gitea, checkouts their bundle", () => {
  const configs = gateRepoConfigs(
    {
      gitGate: [{
        name: "svc",
        url: "ssh://git@h.example:2222/o/svc.git",
        key: { provider: "static", path: "/k" },
        hostKey: "[h.example]:2222 ssh-ed25519 AAAAkey comment",
        refs: { protected: ["main"], allow: ["main"] },
        bottles: ["b"],
      }, {
        name: "api",
        url: "git@h.example:o/api.git",
        key: { provider: "gitea", provisionerToken: "T", apiUrl: null },
        hostKey: "ssh-ed25519 AAAAother",
        refs: { protected: [], allow: [] },
        bottles: ["b"],
      }],
      localRepos: [{ name: "mine", path: "/home/u/mine", defaultBranch: "trunk" }],
    },
    new Map([["svc", "PRIVATE"]]),
    new Map([["mine", "/git/incoming/mine.bundle"]]),
  );
  assert.deepEqual(configs.map((c) => c.upstream), [
    {
      kind: "ssh",
      url: "ssh://git@h.example:2222/o/svc.git",
      hostKey: "ssh-ed25519 AAAAkey",
      key: { provider: "static", privateKey: "PRIVATE" },
    },
    {
      kind: "ssh",
      url: "git@h.example:o/api.git",
      hostKey: "ssh-ed25519 AAAAother",
      key: { provider: "gitea" },
    },
    { kind: "local", bundle: "/git/incoming/mine.bundle", defaultBranch: "trunk" },
  ]);
  assert.deepEqual(configs[0].refs, { protected: ["main"], allow: ["main"] });
});

Deno.test("bareHostKey drops the host field and the comment", () => {
  assert.equal(bareHostKey("ssh-ed25519 AAAA"), "ssh-ed25519 AAAA");
  assert.equal(bareHostKey("host.example ecdsa-sha2-nistp256 AAAA c"), "ecdsa-sha2-nistp256 AAAA");
});

Deno.test("acceptedPush reads accepted git-push events, branches only", () => {
  assert.deepEqual(
    acceptedPush({
      kind: "git-push",
      verdict: "accepted",
      repo: "mine",
      refs: [{ ref: "refs/heads/a", new: "1" }, { ref: "refs/tags/t", new: "2" }, { bad: 1 }],
    }),
    { repo: "mine", refs: [{ ref: "refs/heads/a", new: "1" }] },
  );
  assert.equal(acceptedPush({ kind: "git-push", verdict: "refused", repo: "m", refs: [] }), null);
  assert.equal(acceptedPush({ kind: "other" }), null);
});

Deno.test("formatPush: repo, refs, verdict and the rules of a refusal", () => {
  assert.equal(formatPush({ lastPush: null }), "-");
  assert.equal(
    formatPush({
      lastPush: {
        repo: "svc",
        verdict: "refused",
        refs: ["main"],
        rules: ["protected-branch"],
        at: 0,
      },
    }),
    "svc main refused (protected-branch)",
  );
  assert.equal(
    formatPush({
      lastPush: { repo: "svc", verdict: "accepted", refs: ["a", "b", "c"], rules: [], at: 0 },
    }),
    "svc a,b,… accepted",
  );
});
