/**
 * git-gate end to end: the CLI with the shipped permission flags, a shell bottle, the real
 * sidecar image (git, gitleaks, ssh) and a real OpenSSH upstream; and `start --repo` with a
 * local checkout whose accepted pushes come back as `bot-bottle/<slug>/<branch>`.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { spawnCli } from "../helpers/cli.ts";
import {
  connectEngine,
  containerArchivePut,
  containerList,
  execRun,
  LABELS,
  tarCreate,
} from "../../src/engine/mod.ts";
import { startFakeGitea } from "../helpers/fake_gitea.ts";
import { engineTest } from "../helpers/engine.ts";
import { startGitUpstream } from "../helpers/git_upstream.ts";

const AWS_KEY = "AKIAQYLPMN5HFIQR" + "7XYA";
const FIXTURE_KEY = "AKIAZXCVBNMASDFG" + "HJKL";

async function git(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args,
    cwd,
    env: {
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "User",
      GIT_AUTHOR_EMAIL: "user@host.test",
      GIT_COMMITTER_NAME: "User",
      GIT_COMMITTER_EMAIL: "user@host.test",
    },
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

engineTest(
  "git-gate: a shell bottle clones via the upstream URL, pushes clean work, cannot push a secret or main",
  async () => {
    await using upstream = await startGitUpstream({ repos: ["svc"] });
    await upstream.seed("svc", { "README.md": "svc\n" });
    // An old fixture secret already upstream: new branches on top of it are still accepted.
    const base = await upstream.seed("svc", {
      "tests/fixture.env": `AWS_ACCESS_KEY_ID=${FIXTURE_KEY}\n`,
    });
    const theirs = await upstream.seed("svc", { "theirs.txt": "x\n" }, { branch: "someone" });
    // Nobody reviews here: a finding only `gitleaks:allow` hid is refused at once, not held.
    await using home = await bottleHome({ BOT_BOTTLE_SUPERVISE_APPROVALS: "0" });
    const url = upstream.url("svc");
    await home.write(
      "bottles",
      "gated",
      [
        "---",
        "extends: shell",
        "git-gate:",
        "  user: {name: Bottle Agent, email: agent@bottle.test}",
        "  repos:",
        "    svc:",
        `      url: "${url}"`,
        `      key: {provider: static, path: "${upstream.clientKeyPath}"}`,
        `      host_key: "${upstream.hostKey}"`,
        "---",
        "",
      ].join("\n"),
    );
    const script = [
      "set -u",
      'echo "cwd=$(pwd)"',
      'echo "head=$(git rev-parse HEAD)"',
      `git clone -q "${url}" /tmp/again && echo "again=$(git -C /tmp/again rev-parse HEAD)"`,
      "git checkout -q -b feature/e2e",
      "echo work > work.txt && git add work.txt && git commit -qm work",
      'echo "work=$(git rev-parse HEAD)"',
      "git push -q origin feature/e2e 2>&1 && echo PUSHED-OK",
      "git checkout -q -b feature/leak",
      `echo 'key = "${AWS_KEY}"' > leak.py && git add leak.py && git commit -qm leak`,
      "git push origin feature/leak 2>&1 || echo LEAK-REFUSED",
      "git push origin HEAD~1:refs/heads/main 2>&1 || echo MAIN-REFUSED",
      "ls ~/.ssh 2>/dev/null | wc -l | sed 's/^/sshfiles=/'",
      'ck() { git checkout -q -B "$1" origin/main; }',
      'try() { if git push origin "$@" >/tmp/out 2>&1; then echo "$1=ACCEPTED"; else echo "$1=REFUSED"; fi; sed "s/^/$1: /" /tmp/out; }',
      "ck side-a; echo a > shared.txt; git add -A; git commit -qm a",
      "ck leak-merge; echo b > shared.txt; git add -A; git commit -qm b",
      "git merge -q side-a >/dev/null 2>&1",
      `printf 'resolved\\nkey = "${AWS_KEY}"\\n' > shared.txt; git add shared.txt; git commit -q --no-edit`,
      "try leak-merge",
      `ck leak-nul; printf 'bin\\0ary\\nkey=${AWS_KEY}\\n' > blob.dat; git add -A; git commit -qm nul; try leak-nul`,
      `ck leak-allow; echo 'key = "${AWS_KEY}"  # gitleaks:allow' > ok.py; git add -A; git commit -qm allow; try leak-allow`,
      `ck leak-msg; echo m > m.txt; git add -A; git commit -qm "deploy with ${AWS_KEY}"; try leak-msg`,
      'ck leak-canary; echo "c=$BOT_BOTTLE_CANARY" > c.txt; git add -A; git commit -qm c; try leak-canary',
      "try someone --delete",
      "ck someone; echo mine > mine.txt; git add -A; git commit -qm mine; try someone --force",
    ].join("\n");
    const r = await home.cli([
      "start",
      "shell",
      "--bottle",
      "gated",
      "--headless",
      "--prompt",
      script,
    ]);
    assert.equal(r.code, 0, r.stderr);
    if (Deno.env.get("BB_SHOW")) console.log(r.stdout, r.stderr);
    assert.match(r.stdout, /cwd=\/home\/node\/workspace\/svc\n/);
    assert.match(r.stdout, new RegExp(`head=${base}\n`));
    assert.match(r.stdout, new RegExp(`again=${base}\n`));
    assert.match(r.stdout, /PUSHED-OK\n/);
    const work = /work=([0-9a-f]{40})/.exec(r.stdout)![1];
    assert.match(r.stdout, /remote: git-gate: {3}rule aws-access-token: leak.py:1/);
    assert.match(r.stdout, /LEAK-REFUSED\n/);
    assert.match(r.stdout, /remote: git-gate: {3}refs\/heads\/main: rule protected-branch/);
    assert.match(r.stdout, /MAIN-REFUSED\n/);
    assert.match(r.stdout, /sshfiles=0\n/);
    const landed = await upstream.run([
      "git",
      "-C",
      "/srv/git/svc.git",
      "rev-parse",
      "feature/e2e",
    ]);
    assert.equal(landed.stdout.trim(), work);
    const leak = await upstream.run([
      "git",
      "-C",
      "/srv/git/svc.git",
      "rev-parse",
      "--verify",
      "--quiet",
      "feature/leak",
    ]);
    assert.notEqual(leak.code, 0);
    const expectations: [string, RegExp][] = [
      ["leak-merge", /rule aws-access-token: shared.txt:2/],
      ["leak-nul", /rule aws-access-token: blob.dat:2/],
      ["leak-allow", /ok.py:1 .*only a "gitleaks:allow" comment hid it/],
      ["leak-msg", /rule aws_access_key_id \(token pattern\): the message of commit/],
      ["leak-canary", /rule canary .*c.txt:1/],
      ["someone", /rule no-deletion/],
    ];
    for (const [branch, why] of expectations) {
      assert.match(r.stdout, new RegExp(`\n${branch}=REFUSED\n`), branch);
      const lines = r.stdout.split("\n").filter((l) => l.startsWith(`${branch}: `)).join("\n");
      assert.match(lines, why, `${branch}:\n${lines}`);
      if (branch === "someone") continue;
      const gone = await upstream.run([
        "git",
        "-C",
        "/srv/git/svc.git",
        "rev-parse",
        "--verify",
        "--quiet",
        branch,
      ]);
      assert.notEqual(gone.code, 0, `${branch} must not reach the upstream`);
    }
    assert.match(r.stdout, /someone: .*rule non-fast-forward/);
    assert.ok(!r.stdout.includes(AWS_KEY), "the secret is never echoed back");
    const kept = await upstream.run(["git", "-C", "/srv/git/svc.git", "rev-parse", "someone"]);
    assert.equal(kept.stdout.trim(), theirs);
    const main = await upstream.run(["git", "-C", "/srv/git/svc.git", "rev-parse", "main"]);
    assert.equal(main.stdout.trim(), base);
  },
);

engineTest(
  "git-gate: a wrong host key fails the launch fast and says which setting to check",
  async () => {
    await using upstream = await startGitUpstream({ repos: ["svc"] });
    await upstream.seed("svc", { "README.md": "svc\n" });
    await using home = await bottleHome();
    await home.write(
      "bottles",
      "wrongkey",
      [
        "---",
        "extends: shell",
        "git-gate:",
        "  repos:",
        "    svc:",
        `      url: "${upstream.url("svc")}"`,
        `      key: {provider: static, path: "${upstream.clientKeyPath}"}`,
        '      host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"',
        "---",
        "",
      ].join("\n"),
    );
    const r = await home.cli([
      "start",
      "shell",
      "--bottle",
      "wrongkey",
      "--headless",
      "--prompt",
      "true",
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Cannot clone git-gate repo "svc".*did not present the pinned host key/);
    assert.match(r.stderr, /git-gate\.repos\.svc\.host_key/);
  },
);

engineTest(
  "start --repo: accepted pushes come back as bot-bottle/<slug>/<branch>, ps shows them",
  async () => {
    await using home = await bottleHome();
    const repo = `${home.root}/checkout`;
    await Deno.mkdir(repo);
    await git(repo, "init", "-q", "-b", "main");
    await Deno.writeTextFile(`${repo}/README.md`, "mine\n");
    await git(repo, "add", ".");
    await git(repo, "commit", "-qm", "init");
    const mainBefore = await git(repo, "rev-parse", "main");
    await Deno.writeTextFile(`${repo}/README.md`, "uncommitted edit\n");
    const commit = "git -c user.name=A -c user.email=a@b.test commit -qm";
    const script = [
      'echo "cwd=$(pwd)"',
      "git checkout -q -b fix/readme",
      `echo fixed > FIX.md && git add FIX.md && ${commit} fix`,
      'echo "fix=$(git rev-parse HEAD)"',
      "git push -q origin fix/readme 2>&1 && echo PUSHED-OK",
      "git checkout -q -b leak",
      `echo 'k = "${AWS_KEY}"' > k.py && git add k.py && ${commit} k`,
      "git push origin leak 2>&1 || echo LEAK-REFUSED",
      "echo WAITING",
      "timeout 600 bash -c 'until [ -e ~/release ]; do sleep 0.2; done'",
    ].join("\n");
    await using cli = await spawnCli(
      ["start", "shell", "--repo", repo, "--headless", "--prompt", script],
      { env: home.env, cwd: home.root },
    );
    await cli.waitFor(/WAITING/, 300_000, "stdout");
    const slug = cli.stdout().split("\n")[0];
    const fix = /fix=([0-9a-f]{40})/.exec(cli.stdout())![1];
    // The accepted push is fetched back while the bottle runs; ps shows it and the refusal.
    let row: Record<string, unknown> | undefined;
    for (let i = 0; i < 100; i++) {
      const ps = await home.cli(["ps", "--json"]);
      row = (JSON.parse(ps.stdout) as Record<string, unknown>[]).find((r) => r.slug === slug);
      if ((row?.lastPush as { verdict?: string } | null)?.verdict === "refused") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(row?.fetchedBack, [`${repo}: bot-bottle/${slug}/fix/readme`]);
    assert.deepEqual(row?.lastPush && (row.lastPush as { refs: string[] }).refs, ["leak"]);
    const text = await home.cli(["ps"]);
    assert.match(text.stdout, /checkout leak refused \(aws-access-token\)/);
    assert.equal(await git(repo, "rev-parse", `refs/heads/bot-bottle/${slug}/fix/readme`), fix);

    using client = await connectEngine();
    const [agent] = await containerList(client, {
      labels: { [LABELS.slug]: slug, [LABELS.service]: "agent" },
    });
    await execRun(client, agent.Id, ["bash", "-lc", "touch ~/release"], { user: "1000:1000" });
    const done = await cli.done();
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /cwd=\/home\/node\/workspace\/checkout\n/);
    assert.match(done.stdout, /PUSHED-OK\n/);
    assert.match(done.stdout, /LEAK-REFUSED\n/);
    assert.match(done.stderr, /uncommitted change/);
    const refs = await git(repo, "for-each-ref", "--format=%(refname)");
    assert.ok(!refs.includes("leak"), refs);
    assert.equal(await git(repo, "rev-parse", "main"), mainBefore);
    assert.equal(await git(repo, "rev-parse", "--abbrev-ref", "HEAD"), "main");
    assert.equal(await Deno.readTextFile(`${repo}/README.md`), "uncommitted edit\n");
  },
);

engineTest(
  "git-gate with a gitea key: the sidecar's key is registered as a deploy key, used, and deleted at teardown",
  async () => {
    await using upstream = await startGitUpstream({ repos: ["acme/svc"] });
    const base = await upstream.seed("acme/svc", { "README.md": "svc\n" });
    // Gitea serves owner/repo at the root: point /acme at the bare repos.
    using client = await connectEngine();
    await containerArchivePut(
      client,
      upstream.containerId,
      "/",
      tarCreate([{ path: "acme", type: "symlink", linkname: "/srv/git/acme" }]),
    );
    const token = `bbgitea-${crypto.randomUUID()}`;
    await using gitea = await startFakeGitea({
      token,
      repos: ["acme/svc"],
      onKeyAdded: ({ key }) => upstream.authorize(key),
    });
    await using home = await bottleHome({ BB_GITEA_TOKEN: token });
    const url = `ssh://git@${upstream.containerAddress}:${upstream.port}/acme/svc.git`;
    await home.write(
      "bottles",
      "forge",
      [
        "---",
        "extends: shell",
        "git-gate:",
        "  repos:",
        "    svc:",
        `      url: "${url}"`,
        `      key: {provider: gitea, provisioner_token: BB_GITEA_TOKEN, api_url: "${gitea.url}"}`,
        `      host_key: "${upstream.hostKey}"`,
        "---",
        "",
      ].join("\n"),
    );
    const script = [
      'echo "head=$(git rev-parse HEAD)"',
      "git checkout -q -b via-deploy-key",
      "git -c user.name=A -c user.email=a@b.test commit -q --allow-empty -m deploy",
      'echo "pushed=$(git rev-parse HEAD)"',
      "git push -q origin via-deploy-key 2>&1 && echo PUSHED-OK",
    ].join("\n");
    const r = await home.cli(
      ["start", "shell", "--bottle", "forge", "--headless", "--prompt", script],
      { BB_GITEA_TOKEN: token },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`head=${base}\n`));
    assert.match(r.stdout, /PUSHED-OK\n/);
    const slug = r.stdout.split("\n")[0];
    const pushed = /pushed=([0-9a-f]{40})/.exec(r.stdout)![1];
    const landed = await upstream.run([
      "git",
      "-C",
      "/srv/git/acme/svc.git",
      "rev-parse",
      "via-deploy-key",
    ]);
    assert.equal(landed.stdout.trim(), pushed);
    const created = gitea.requests.filter((q) => q.method === "POST");
    assert.equal(created.length, 1);
    assert.equal(created[0].status, 201);
    assert.match(created[0].body, new RegExp(`"title":"bot-bottle-${slug}"`));
    assert.match(created[0].body, /"read_only":false/);
    assert.equal(gitea.requests.filter((q) => q.method === "DELETE" && q.status === 204).length, 1);
    assert.deepEqual(gitea.keys("acme", "svc"), []);
    assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token));
  },
);
