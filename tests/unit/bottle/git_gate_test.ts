import assert from "node:assert/strict";
import {
  acceptedPush,
  bareHostKey,
  gateRepoConfigs,
  revocationFailure,
  revokeGateKeys,
} from "../../../src/bottle/git_gate.ts";
import type { BottlePlan } from "../../../src/bottle/plan.ts";
import { CredentialsError, FailureError, InterruptedError } from "../../../src/lib/errors.ts";
import type { BottleStore } from "../../../src/store/mod.ts";
import { formatPush } from "../../../src/cli/ps.ts";
import { parseManifest } from "../../../src/manifest/parse.ts";
import { validateBottle } from "../../../src/manifest/schema.ts";
import { parseGateRepos } from "../../../src/sidecar/control/gate_config.ts";

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
  assert.equal(bareHostKey("ssh-box.example ssh-ed25519 AAAA"), "ssh-ed25519 AAAA");
  assert.equal(bareHostKey("ssh-rsa AAAA ssh-box"), "ssh-rsa AAAA");
});

Deno.test("every host_key the manifest accepts is a key line the sidecar's config accepts", () => {
  for (
    const line of [
      "ssh-ed25519 AAAAC3Nza...", // SPEC §4.6, abbreviated as written there
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
      "ssh-rsa AAAAB3NzaC1yc2E= root@host",
      "[g.example.com]:2222 ecdsa-sha2-nistp256 AAAAE2VjZHNh",
      "ssh-box.example ssh-ed25519 AAAAC3Nza the box",
      "sk-ssh-ed25519@openssh.com AAAAGnNr",
      "g.example.com\tssh-dss AAAAB3Nza",
    ]
  ) {
    const yaml = `git-gate: {repos: {api: {host_key: ${JSON.stringify(line)}}}}`;
    validateBottle(parseManifest(`---\n${yaml}\n---\n`, "/h/.bot-bottle/bottles/b.md"), "b");
    const [repo] = parseGateRepos([{
      name: "api",
      upstream: {
        kind: "ssh",
        url: "ssh://git@g.example.com/o/api.git",
        hostKey: bareHostKey(line),
        key: { provider: "gitea" },
      },
      refs: { protected: [], allow: [] },
    }]);
    assert.ok(repo.upstream.kind === "ssh" && repo.upstream.hostKey.split(" ").length === 2, line);
  }
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

/** The store of one bottle with deploy keys, as `revokeGateKeys` uses it. */
function keyStore(deployKeys: Record<string, number>) {
  const record = { deployKeys: { ...deployKeys } };
  return {
    record,
    bottles: {
      get: () => record,
      update: (_: string, patch: { deployKeys: Record<string, number> }) => {
        record.deployKeys = { ...patch.deployKeys };
      },
    } as unknown as BottleStore,
  };
}

const GITEA_REPO = {
  name: "api",
  url: "ssh://git@gitea.example.test:2222/acme/api.git",
  key: { provider: "gitea", provisionerToken: "GITEA_PROVISIONER", apiUrl: "https://gitea.test" },
  hostKey: "ssh-ed25519 AAAAother",
  refs: { protected: [], allow: [] },
  bottles: ["b"],
} as unknown as BottlePlan["gitGate"][number];

Deno.test("revokeGateKeys: an unset provisioner token fails loud with exit 1, not 5 (SPEC §5.2)", async () => {
  const { bottles, record } = keyStore({ api: 7 });
  const error = await revokeGateKeys(
    { bottles, env: () => undefined, http: () => assert.fail("no request without a token") },
    "b-1",
    [GITEA_REPO],
  ).then(() => assert.fail("revoked"), (e) => e);
  assert.ok(error instanceof FailureError, String(error));
  assert.equal(error.exitCode, 1);
  assert.equal(
    error.message,
    'Cannot manage the deploy key of git-gate repo "api": GITEA_PROVISIONER is not set',
  );
  assert.match(error.hint!, /^Export GITEA_PROVISIONER with a Gitea token/);
  assert.ok(error.cause instanceof CredentialsError);
  assert.deepEqual(record.deployKeys, { api: 7 }, "the key stays recorded");
});

Deno.test("revokeGateKeys: a token the forge refuses (401) fails with exit 1, naming the repo", async () => {
  const { bottles } = keyStore({ api: 7 });
  const secret = "tok-4f1e9d2c";
  const error = await revokeGateKeys(
    {
      bottles,
      env: (n) => n === "GITEA_PROVISIONER" ? secret : undefined,
      http: () => Promise.resolve(new Response('{"message":"token is required"}', { status: 401 })),
    },
    "b-1",
    [GITEA_REPO],
  ).then(() => assert.fail("revoked"), (e) => e);
  assert.ok(error instanceof FailureError, String(error));
  assert.equal(error.exitCode, 1);
  assert.ok(error.cause instanceof CredentialsError);
  assert.ok(!`${error.message} ${error.hint}`.includes(secret));
});

Deno.test("revocationFailure keeps failures and interruptions as they are", () => {
  const failure = new FailureError("x");
  assert.equal(revocationFailure(failure), failure);
  const interrupted = new InterruptedError("Interrupted");
  assert.equal(revocationFailure(interrupted), interrupted);
  const plain = revocationFailure(new TypeError("fetch failed"));
  assert.ok(plain instanceof FailureError);
  assert.equal(plain.message, "Cannot delete a deploy key: fetch failed");
});
