import assert from "node:assert/strict";
import { parseGateRepos } from "../../../../src/sidecar/control/gate_config.ts";
import {
  gitleaksArgs,
  gitleaksFindings,
  parseGitleaksReport,
} from "../../../../src/sidecar/git_gate/gitleaks.ts";
import {
  knownHostsLine,
  sshTarget,
  upstreamFailure,
} from "../../../../src/sidecar/git_gate/mirror.ts";
import { findingLines } from "../../../../src/sidecar/git_gate/report.ts";
import {
  parseCgiHead,
  pktLine,
  smartRequest,
} from "../../../../src/sidecar/git_gate/smart_http.ts";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0Lx1sHqD6n2o";

Deno.test("gitleaksArgs scans only the range, with merges and binary files, allow comments ignored", () => {
  const args = gitleaksArgs("/git/a.git", ["abc", "--not", "--all"], "/run/c.toml", "/run/r.json");
  assert.equal(args[0], "git");
  assert.ok(args.includes("--log-opts=--text --remerge-diff abc --not --all"));
  assert.equal(args[args.indexOf("--config") + 1], "/run/c.toml");
  assert.ok(args.includes("--ignore-gitleaks-allow"));
  assert.ok(args.includes("--redact"));
});

Deno.test("gitleaks findings: b/ paths of remerge diffs resolved, allow comments flagged", async () => {
  const entries = parseGitleaksReport(JSON.stringify([
    { RuleID: "r", File: "b/x.txt", StartLine: 2, Commit: "c1", Secret: "REDACTED" },
    { RuleID: "r", File: "y.txt", StartLine: 1, Commit: "c2" },
  ]));
  const files: Record<string, string[]> = {
    "c1:x.txt": ["a", "k = 1"],
    "c2:y.txt": ["k = 2 # gitleaks:allow"],
  };
  const found = await gitleaksFindings(
    entries,
    (c, f, l) => Promise.resolve(files[`${c}:${f}`]?.[l - 1] ?? null),
  );
  assert.deepEqual(found.map((f) => [f.file, f.hiddenByAllow]), [["x.txt", false], [
    "y.txt",
    true,
  ]]);
  assert.throws(() => parseGitleaksReport('{"a":1}'), /not a JSON array/);
  assert.throws(() => parseGitleaksReport('[{"RuleID":1}]'), /without RuleID/);
  assert.deepEqual(parseGitleaksReport(""), []);
});

Deno.test("ssh upstream: host, port, known_hosts line and failure messages", () => {
  assert.deepEqual(sshTarget("ssh://git@h.example:2222/o/r.git"), {
    host: "h.example",
    port: 2222,
  });
  assert.deepEqual(sshTarget("git@h.example:o/r.git"), { host: "h.example", port: 22 });
  assert.equal(
    knownHostsLine("ssh://git@h.example:2222/o/r.git", KEY),
    `[h.example]:2222 ${KEY}\n`,
  );
  assert.equal(knownHostsLine("git@h.example:o/r.git", KEY), `h.example ${KEY}\n`);
  const url = "ssh://git@h.example:2222/o/r.git";
  assert.match(
    upstreamFailure("r", url, "Host key verification failed.\n"),
    /pinned host key.*host_key/,
  );
  assert.match(
    upstreamFailure("r", url, "ssh: connect to host h.example port 2222: Connection timed out\n"),
    /cannot reach the upstream h.example:2222/,
  );
  assert.match(
    upstreamFailure("r", url, "git@h: Permission denied (publickey).\n"),
    /refused the key/,
  );
});

Deno.test("smartRequest serves only the smart endpoints", () => {
  assert.deepEqual(smartRequest("GET", "/app.git/info/refs", "service=git-upload-pack"), {
    repo: "app",
    service: "git-upload-pack",
    advertisement: true,
  });
  assert.equal(smartRequest("POST", "/app.git/git-receive-pack", "")?.service, "git-receive-pack");
  assert.equal(smartRequest("GET", "/app.git/info/refs", ""), null);
  assert.equal(smartRequest("GET", "/app.git/HEAD", ""), null);
  assert.equal(smartRequest("GET", "/../etc.git/info/refs", "service=git-upload-pack"), null);
  assert.equal(smartRequest("GET", "/app.git/git-upload-pack", ""), null);
  assert.equal(pktLine("ERR x"), "0009ERR x");
  assert.deepEqual(parseCgiHead("Status: 403 Forbidden\r\nContent-Type: text/plain"), {
    status: 403,
    headers: [["Content-Type", "text/plain"]],
  });
});

Deno.test("parseGateRepos rebuilds entries and names bad fields without values", () => {
  const ok = parseGateRepos([{
    name: "app",
    upstream: { kind: "ssh", url: "ssh://git@h/o/r.git", hostKey: KEY, key: { provider: "gitea" } },
    refs: { protected: ["main"], allow: [] },
    extra: "dropped",
  }]);
  assert.deepEqual(Object.keys(ok[0]), ["name", "upstream", "refs"]);
  assert.deepEqual(parseGateRepos(undefined), []);
  const secret = "-----BEGIN OPENSSH PRIVATE KEY----- hush";
  const bad = (repo: unknown, re: RegExp) =>
    assert.throws(
      () => parseGateRepos([repo]),
      (e: Error) => re.test(e.message) && !e.message.includes("hush"),
    );
  const base = { name: "app", refs: { protected: [], allow: [] } };
  bad({ ...base, name: "../x" }, /gitGate\[0\].name/);
  bad({ ...base, upstream: { kind: "ftp" } }, /kind/);
  bad({
    ...base,
    upstream: { kind: "ssh", url: "-oProxyCommand=x", hostKey: KEY, key: { provider: "gitea" } },
  }, /url/);
  bad({
    ...base,
    upstream: { kind: "ssh", url: "ssh://h/r", hostKey: "nope", key: { provider: "gitea" } },
  }, /hostKey/);
  for (const hostKey of [`${KEY}\nevil.example ${KEY}`, `${KEY} comment`, "ssh-ed25519 A\u0000"]) {
    bad({
      ...base,
      upstream: { kind: "ssh", url: "ssh://h/r", hostKey, key: { provider: "gitea" } },
    }, /hostKey/);
  }
  bad({
    ...base,
    upstream: {
      kind: "ssh",
      url: "ssh://h/r",
      hostKey: KEY,
      key: { provider: "static", privateKey: "hush" },
    },
  }, /privateKey/);
  bad({
    ...base,
    upstream: {
      kind: "ssh",
      url: "ssh://h/r",
      hostKey: KEY,
      key: { provider: "x", privateKey: secret },
    },
  }, /key/);
  bad({ ...base, upstream: { kind: "local", bundle: "rel/x", defaultBranch: null } }, /bundle/);
  bad({
    ...base,
    upstream: { kind: "local", bundle: null, defaultBranch: null },
    refs: { protected: ["a b"], allow: [] },
  }, /protected/);
  assert.throws(() =>
    parseGateRepos([
      { ...base, upstream: { kind: "local", bundle: null, defaultBranch: null } },
      { ...base, upstream: { kind: "local", bundle: null, defaultBranch: null } },
    ]), /used twice/);
});

Deno.test("findingLines name a header or a path by where it is, never by its text", () => {
  const base = { source: "canary" as const, rule: "canary", hiddenByAllow: false };
  const lines = findingLines([
    { ...base, commit: "a".repeat(40), file: null, header: "author", line: 3 },
    { ...base, commit: "b".repeat(40), file: null, header: "extra", line: 5 },
    { ...base, commit: "c".repeat(40), file: "(a path holding a secret)", line: null },
  ]);
  assert.deepEqual(lines.slice(1, 4), [
    "git-gate:   rule canary (the bottle's planted canary value): the author header of commit " +
    "aaaaaaaaaaaa (line 3 of git cat-file commit) (value redacted)",
    "git-gate:   rule canary (the bottle's planted canary value): an extra header of commit " +
    "bbbbbbbbbbbb (line 5 of git cat-file commit) (value redacted)",
    "git-gate:   rule canary (the bottle's planted canary value): a file path in commit " +
    "cccccccccccc (value redacted)",
  ]);
});
