import assert from "node:assert/strict";
import {
  DEMO_STEPS,
  fakeAwsKey,
  judgeAllowed,
  judgeDlp,
  judgePush,
  judgeUnlisted,
  parseProbe,
  type Probe,
  stepLine,
  upstreamSaw,
} from "../../../src/demo/steps.ts";

Deno.test("stepLine lays the steps out exactly as SPEC §14.1 prints them", () => {
  const spec = [
    "[1/4] allowed HTTPS request through interception ...... ok (200 from demo.bot-bottle.test)",
    "[2/4] request to a host not on the allowlist .......... blocked (403 host_not_allowlisted)",
    "[3/4] POST with a credential-shaped body .............. blocked (403 dlp_outbound, token_patterns)",
    "[4/4] push a commit containing an AKIA... key ......... rejected by git-gate (gitleaks)",
  ];
  assert.deepEqual(
    DEMO_STEPS.map((s, i) => stepLine(i + 1, 4, s.title, s.expected)),
    spec,
  );
  assert.match(
    stepLine(1, 4, "x".repeat(60), "ok"),
    /^\[1\/4\] x{60} \.\.\. ok$/,
    "never fewer than 3 dots",
  );
});

Deno.test("parseProbe reads the probe's key=value lines; the first of a key wins", () => {
  const probe = parseProbe([
    "status=403",
    "curl_exit=0",
    "issuer=O=bot-bottle; CN=bot-bottle CA demo-x",
    "block=host_not_allowlisted",
    'body={"rule":"host_not_allowlisted","x":"a=b"}',
    "body=second",
    "",
  ].join("\n"));
  assert.deepEqual(probe, {
    curlExit: 0,
    status: 403,
    issuer: "O=bot-bottle; CN=bot-bottle CA demo-x",
    block: "host_not_allowlisted",
    body: '{"rule":"host_not_allowlisted","x":"a=b"}',
    error: "",
  });
  const failed = parseProbe(
    "status=000\ncurl_exit=35\nerror=curl: (35) TLS connect error\nbody=\n",
  );
  assert.equal(failed.curlExit, 35);
  assert.equal(failed.error, "TLS connect error");
  assert.equal(parseProbe("").curlExit, -1, "no curl_exit line: the script did not run");
});

const probe = (p: Partial<Probe>): Probe => ({
  curlExit: 0,
  status: 200,
  issuer: "O=bot-bottle; CN=bot-bottle CA demo-x",
  block: "",
  body: "",
  error: "",
  ...p,
});

Deno.test("judgeAllowed passes a 200 carrying the injected token over the bottle CA only", () => {
  const ok = probe({ body: '{"ok":true,"token":"injected"}' });
  const cases: [string, Probe, boolean, RegExp][] = [
    ["injected, intercepted", ok, true, /^ok \(200 from demo\.bot-bottle\.test\)$/],
    [
      "no token reached the upstream",
      probe({ status: 401, body: '{"ok":false}' }),
      false,
      /401 .*injected no token/,
    ],
    ["200 without the marker", probe({ body: '{"ok":true}' }), false, /^200 from demo/],
    [
      "not intercepted",
      { ...ok, issuer: "CN=bot-bottle demo upstream CA" },
      false,
      /not the bottle CA's/,
    ],
    [
      "no response",
      probe({ curlExit: 7, status: 0, error: "Failed to connect" }),
      false,
      /no response .*curl exit 7: Failed to connect/,
    ],
  ];
  for (const [name, p, passed, outcome] of cases) {
    const v = judgeAllowed(p);
    assert.equal(v.passed, passed, name);
    assert.match(v.outcome, outcome, name);
  }
});

Deno.test("judgeUnlisted passes only the proxy's host_not_allowlisted block", () => {
  assert.deepEqual(judgeUnlisted(probe({ status: 403, block: "host_not_allowlisted" })), {
    passed: true,
    outcome: "blocked (403 host_not_allowlisted)",
  });
  const cases: [string, Probe, RegExp][] = [
    ["reached", probe({ status: 200 }), /^200 from exfil\.example\.test$/],
    [
      "another rule",
      probe({ status: 403, block: "port_not_allowed" }),
      /^403 port_not_allowed from/,
    ],
    ["a 403 from elsewhere", probe({ status: 403, body: '{"rule":"x"}' }), /^403 x from/],
  ];
  for (const [name, p, outcome] of cases) {
    const v = judgeUnlisted(p);
    assert.equal(v.passed, false, name);
    assert.match(v.outcome, outcome, name);
  }
});

Deno.test("judgeDlp passes a token_patterns block the upstream never saw", () => {
  const blocked = probe({
    status: 403,
    block: "dlp_outbound",
    body: '{"rule":"dlp_outbound","detector":"token_patterns"}',
  });
  assert.deepEqual(judgeDlp(blocked, false), {
    passed: true,
    outcome: "blocked (403 dlp_outbound, token_patterns)",
  });
  assert.match(judgeDlp(blocked, true).outcome, /upstream received the request/);
  assert.equal(judgeDlp(blocked, true).passed, false);
  const other = probe({ status: 403, block: "dlp_outbound", body: '{"detector":"known_secrets"}' });
  assert.match(judgeDlp(other, false).outcome, /detector "known_secrets"/);
  assert.equal(judgeDlp(probe({ status: 200 }), false).passed, false, "forwarded");
});

const CLEAN = "c".repeat(40);
const pushed = [
  `clean=pushed ${CLEAN}`,
  "clean-out: remote: git-gate: 1 ref accepted and pushed upstream: refs/heads/demo/clean",
  "leak=refused",
  "leak-out: remote: git-gate: push rejected: 1 secret found in the pushed commits; nothing was sent upstream",
  "leak-out: remote: git-gate:   rule aws-access-token: deploy.env:1 in commit ad731ff43c0f (value redacted)",
  "leak-out:  ! [remote rejected] demo/leak -> demo/leak (pre-receive hook declined)",
].join("\n");

Deno.test("judgePush passes when clean work lands and the key is refused by a gitleaks rule", () => {
  assert.deepEqual(judgePush(pushed, { cleanUpstream: CLEAN, leakUpstream: false }), {
    passed: true,
    outcome: "rejected by git-gate (gitleaks)",
  });
  const cases: [string, string, { cleanUpstream: string | null; leakUpstream: boolean }, RegExp][] =
    [
      [
        "the gate refuses everything",
        "clean=refused\nclean-out: remote: git-gate: cannot reach the upstream\nleak=refused",
        { cleanUpstream: null, leakUpstream: false },
        /clean push was refused too \(git-gate: cannot reach the upstream\)/,
      ],
      ["clean not upstream", pushed, { cleanUpstream: null, leakUpstream: false }, /did not reach/],
      [
        "the leak landed",
        pushed,
        { cleanUpstream: CLEAN, leakUpstream: true },
        /was pushed upstream/,
      ],
      [
        "the push said accepted",
        pushed.replace("leak=refused", "leak=pushed"),
        { cleanUpstream: CLEAN, leakUpstream: false },
        /was pushed upstream/,
      ],
      [
        "refused by the ref policy, not gitleaks",
        `clean=pushed ${CLEAN}\nleak=refused\nleak-out: remote: git-gate:   refs/heads/demo/leak: rule protected-branch: x`,
        { cleanUpstream: CLEAN, leakUpstream: false },
        /not by gitleaks \(git-gate: {3}refs\/heads\/demo\/leak: rule protected-branch: x\)/,
      ],
      [
        "only the token-pattern detector saw it",
        pushed.replace("rule aws-access-token:", "rule aws_access_key_id (token pattern):"),
        { cleanUpstream: CLEAN, leakUpstream: false },
        /not by gitleaks/,
      ],
    ];
  for (const [name, output, facts, outcome] of cases) {
    const v = judgePush(output, facts);
    assert.equal(v.passed, false, name);
    assert.match(v.outcome, outcome, name);
  }
});

Deno.test("upstreamSaw finds a method and path in the upstream's JSON-lines log", () => {
  const log = '{"method":"GET","path":"/hello"}\nnot json\n{"method":"POST","path":"/upload"}\n';
  assert.equal(upstreamSaw(log, "POST", "/upload"), true);
  assert.equal(upstreamSaw(log, "GET", "/upload"), false);
  assert.equal(upstreamSaw("", "POST", "/upload"), false);
});

Deno.test("fakeAwsKey makes AKIA keys the DLP and gitleaks patterns match, never EXAMPLE keys", () => {
  const key = fakeAwsKey();
  assert.match(key, /^AKIA[A-Z2-7]{16}$/);
  assert.notEqual(fakeAwsKey(), key);
  assert.equal(fakeAwsKey((n) => new Uint8Array(n)), "AKIAAAAAAAAAAAAAAAAA");
});
