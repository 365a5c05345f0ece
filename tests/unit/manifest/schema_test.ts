import assert from "node:assert/strict";
import { ManifestError } from "../../../src/manifest/errors.ts";
import { parseManifest } from "../../../src/manifest/parse.ts";
import { validateAgent, validateBottle } from "../../../src/manifest/schema.ts";
import { SPEC_EXAMPLE } from "./catalog.ts";

const FILE = "/h/.bot-bottle/bottles/dev.md";

function bottle(yaml: string) {
  return validateBottle(parseManifest(`---\n${yaml}\n---\n`, FILE), "dev");
}
function agent(yaml: string) {
  return validateAgent(parseManifest(`---\n${yaml}\n---\nPrompt.\n`, FILE), "dev");
}
function errorOf(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ManifestError, `not a ManifestError: ${error}`);
    return error;
  }
  assert.fail("expected a ManifestError");
}

Deno.test("validateBottle accepts the SPEC §4.6 example", () => {
  const b = bottle(SPEC_EXAMPLE);
  assert.equal(b.data.extends, "claude");
  assert.equal(b.data.egress?.routes?.length, 2);
  assert.equal(b.data["git-gate"]?.repos?.api.key?.provider, "gitea");
});

Deno.test("validateBottle accepts a suffix route with a names cap and every detector group", () => {
  const b = bottle(
    "egress: {routes: [{host: '*.files.example.com', names_per_minute: 10, dlp: " +
      "{outbound_detectors: [token_patterns, known_secrets, credentials, financial, entropy]}}]}",
  );
  const r = b.data.egress!.routes![0];
  assert.equal(r.host, "*.files.example.com");
  assert.equal(r.names_per_minute, 10);
  assert.deepEqual(r.dlp?.outbound_detectors, [
    "token_patterns",
    "known_secrets",
    "credentials",
    "financial",
    "entropy",
  ]);
});

Deno.test("validateBottle accepts host_key lines as §4.2/§4.6 write them", () => {
  for (
    const key of [
      "ssh-ed25519 AAAAC3Nza...", // the §4.6 example, abbreviated
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
      "ssh-rsa AAAAB3NzaC1yc2E= root@host",
      "[g.example.com]:2222 ecdsa-sha2-nistp256 AAAAE2VjZHNh",
      "sk-ssh-ed25519@openssh.com AAAAGnNr",
    ]
  ) {
    const b = bottle(`git-gate: {repos: {api: {host_key: ${JSON.stringify(key)}}}}`);
    assert.equal(b.data["git-gate"]?.repos?.api.host_key, key);
  }
});

Deno.test("validateBottle refuses host_key values that are not one key line", () => {
  for (
    const key of [
      "",
      "ssh-ed25519",
      "ssh-ed25519 ",
      "ssh-foo AAAA",
      "AAAAC3NzaC1lZDI1NTE5",
      "ssh-ed25519 AAAA\nssh-rsa BBBB",
      "ssh-ed25519 AAAA comment\nevil.example.com ssh-rsa BBBB",
      "evil\nhost ssh-ed25519 AAAA",
      "ssh-ed25519 AA\u0000AA",
    ]
  ) {
    const error = errorOf(() =>
      bottle(`git-gate: {repos: {api: {host_key: ${JSON.stringify(key)}}}}`)
    );
    assert.equal(error.path, "git-gate.repos.api.host_key", JSON.stringify(key));
  }
});

Deno.test("validateAgent accepts the SPEC §4.6 agent and the ignored sub-agent keys", () => {
  const a = agent(
    "bottle: gitea-dev\nskills: [write-prd]\ngit-gate: {user: {name: implementer, email: bot+implementer@example.com}}\nname: x\ndescription: y\nmodel: opus\ncolor: red\nmemory: {a: 1}",
  );
  assert.equal(a.data.bottle, "gitea-dev");
  assert.deepEqual(a.data.skills, ["write-prd"]);
  assert.equal(a.prompt, "Prompt.");
});

interface ErrorCase {
  name: string;
  yaml: string;
  path: string;
  message: RegExp;
  hint?: RegExp;
  line?: number;
  column?: number;
}

const bottleErrors: ErrorCase[] = [
  {
    name: "an unknown top-level key gets a did-you-mean",
    yaml: "egres: {}",
    path: "egres",
    message: /unknown key/,
    hint: /Did you mean "egress"\?/,
    line: 2,
    column: 1,
  },
  {
    name: "an unknown nested key gets a did-you-mean",
    yaml: "egress:\n  routes:\n    - hots: a.example.com",
    path: "egress.routes[0].hots",
    message: /unknown key/,
    hint: /Did you mean "host"\?/,
    line: 4,
    column: 7,
  },
  {
    name: "an unknown agent_provider key gets a did-you-mean",
    yaml: "agent_provider: {templat: claude}",
    path: "agent_provider.templat",
    message: /unknown key/,
    hint: /Did you mean "template"\?/,
  },
  {
    name: "an unknown header key gets a did-you-mean",
    yaml: "egress: {routes: [{host: a.example.com, matches: [{headers: [{nme: X-A}]}]}]}",
    path: "egress.routes[0].matches[0].headers[0].nme",
    message: /unknown key/,
    hint: /Did you mean "name"\?/,
  },
  {
    name: "an unknown path-rule key gets a did-you-mean",
    yaml:
      "egress: {routes: [{host: a.example.com, matches: [{paths: [{typ: prefix, value: /x}]}]}]}",
    path: "egress.routes[0].matches[0].paths[0].typ",
    message: /unknown key/,
    hint: /Did you mean "type"\?/,
  },
  {
    name: "an unknown matches key gets a did-you-mean",
    yaml: "egress: {routes: [{host: a.example.com, matches: [{methods: [GET], methds: [POST]}]}]}",
    path: "egress.routes[0].matches[0].methds",
    message: /unknown key/,
    hint: /Did you mean "methods"\?/,
  },
  {
    name: "an unknown key far from every known one lists the known keys",
    yaml: "resources: {zzzzzzzz: 1}",
    path: "resources.zzzzzzzz",
    message: /unknown key/,
    hint: /Known keys here: memory, cpus, pids, runtime/,
  },
  {
    name: "removed `git` names git-gate",
    yaml: "git: {}",
    path: "git",
    message: /removed key/,
    hint: /use `git-gate`/,
  },
  {
    name: "removed `cred_proxy` names routes auth",
    yaml: "cred_proxy: {}",
    path: "cred_proxy",
    message: /removed key/,
    hint: /egress\.routes\[\]\.auth/,
  },
  {
    name: "removed `egress_proxy` names egress.routes",
    yaml: "egress_proxy: {}",
    path: "egress_proxy",
    message: /removed key/,
    hint: /egress\.routes/,
  },
  {
    name: "removed `egress.allowlist` names egress.routes",
    yaml: "egress: {allowlist: [a.com]}",
    path: "egress.allowlist",
    message: /removed key/,
    hint: /entry of `egress\.routes`/,
  },
  {
    name: "removed `egress.dlp_action` names dlp.outbound_on_match",
    yaml: "egress: {dlp_action: block}",
    path: "egress.dlp_action",
    message: /removed key/,
    hint: /dlp\.outbound_on_match/,
  },
  {
    name: "removed `runtime` names BOT_BOTTLE_RUNTIME",
    yaml: "runtime: runsc",
    path: "runtime",
    message: /removed key/,
    hint: /BOT_BOTTLE_RUNTIME/,
  },
  {
    name: "removed `supervise` says it is always on",
    yaml: "supervise: true",
    path: "supervise",
    message: /removed key/,
    hint: /always on/,
  },
  {
    name: "removed route `path_allowlist` names matches",
    yaml: "egress: {routes: [{host: a.example.com, path_allowlist: [/x]}]}",
    path: "egress.routes[0].path_allowlist",
    message: /removed key/,
    hint: /matches/,
  },
  {
    name: "removed route `role` says it is gone",
    yaml: "egress: {routes: [{host: a.example.com, role: api}]}",
    path: "egress.routes[0].role",
    message: /removed key/,
    hint: /delete the key/,
  },
  {
    name: "agent keys are refused in a bottle",
    yaml: "skills: [a]",
    path: "skills",
    message: /not allowed in a bottle manifest/,
    hint: /agent manifest/,
  },
  {
    name: "`auth: {}` is an error",
    yaml: "egress: {routes: [{host: a.example.com, auth: {}}]}",
    path: "egress.routes[0].auth",
    message: /is empty: give both `scheme` and `token_ref`/,
  },
  {
    name: "auth without token_ref is an error",
    yaml: "egress: {routes: [{host: a.example.com, auth: {scheme: Bearer}}]}",
    path: "egress.routes[0].auth.token_ref",
    message: /is required/,
  },
  {
    name: "auth with an unknown scheme lists the schemes",
    yaml: "egress: {routes: [{host: a.example.com, auth: {scheme: Basic, token_ref: T}}]}",
    path: "egress.routes[0].auth.scheme",
    message: /must be one of: Bearer, token/,
  },
  {
    name: "a route without host",
    yaml: "egress: {routes: [{ports: [443]}]}",
    path: "egress.routes[0].host",
    message: /is required/,
  },
  {
    name: "duplicate route hosts, case-insensitively",
    yaml: "egress: {routes: [{host: a.example.com}, {host: A.Example.com}]}",
    path: "egress.routes[1].host",
    message: /repeats the host of egress\.routes\[0\]/,
  },
  {
    name: "ports out of range",
    yaml: "egress: {routes: [{host: a.example.com, ports: [0]}]}",
    path: "egress.routes[0].ports[0]",
    message: /between 1 and 65535/,
  },
  {
    name: "a bad upstream",
    yaml: "egress: {routes: [{host: a.example.com, upstream: nope}]}",
    path: "egress.routes[0].upstream",
    message: /<host>:<port>/,
  },
  {
    name: "egress.log outside 0..2",
    yaml: "egress: {log: 3}",
    path: "egress.log",
    message: /must be 0, 1 or 2/,
  },
  {
    name: "an empty match entry",
    yaml: "egress: {routes: [{host: a.example.com, matches: [{}]}]}",
    path: "egress.routes[0].matches[0]",
    message: /must set paths, methods or headers/,
  },
  {
    name: "a prefix path without a leading slash",
    yaml:
      "egress: {routes: [{host: a.example.com, matches: [{paths: [{type: prefix, value: api}]}]}]}",
    path: "egress.routes[0].matches[0].paths[0].value",
    message: /must start with "\/"/,
  },
  {
    name: "a header with type present and a value",
    yaml:
      "egress: {routes: [{host: a.example.com, matches: [{headers: [{name: X-A, type: present, value: v}]}]}]}",
    path: "egress.routes[0].matches[0].headers[0].value",
    message: /not used with type present/,
  },
  {
    name: "a header regex with nested quantifiers",
    yaml:
      "egress: {routes: [{host: a.example.com, matches: [{headers: [{name: X-A, type: regex, value: '(a*)*'}]}]}]}",
    path: "egress.routes[0].matches[0].headers[0].value",
    message: /repetition inside a repetition/,
  },
  {
    name: "an unknown DLP detector",
    yaml: "egress: {routes: [{host: a.example.com, dlp: {outbound_detectors: [luhn]}}]}",
    path: "egress.routes[0].dlp.outbound_detectors",
    message: /token_patterns, known_secrets, credentials, financial, entropy, or false/,
  },
  {
    name: "auth on a suffix route",
    yaml: "egress: {routes: [{host: '*.example.com', auth: {scheme: Bearer, token_ref: T}}]}",
    path: "egress.routes[0].auth",
    message: /cannot be set on a suffix route/,
  },
  {
    name: "names_per_minute on an exact route",
    yaml: "egress: {routes: [{host: a.example.com, names_per_minute: 5}]}",
    path: "egress.routes[0].names_per_minute",
    message: /suffix routes only/,
  },
  {
    name: "a suffix that is a public suffix (ICANN section)",
    yaml: "egress: {routes: [{host: '*.co.uk'}]}",
    path: "egress.routes[0].host",
    message: /must not be a public suffix/,
  },
  {
    name: "a suffix that is a public suffix (private section)",
    yaml: "egress: {routes: [{host: '*.github.io'}]}",
    path: "egress.routes[0].host",
    message: /must not be a public suffix/,
  },
  {
    name: "a wildcard inside a suffix",
    yaml: "egress: {routes: [{host: '*.*.example.com'}]}",
    path: "egress.routes[0].host",
    message: /wildcards/,
  },
  {
    name: "an unknown on-match policy",
    yaml: "egress: {routes: [{host: a.example.com, dlp: {outbound_on_match: allow}}]}",
    path: "egress.routes[0].dlp.outbound_on_match",
    message: /supervise, redact, block/,
  },
  {
    name: "an unknown inbound on-match policy",
    yaml: "egress: {routes: [{host: a.example.com, dlp: {inbound_on_match: allow}}]}",
    path: "egress.routes[0].dlp.inbound_on_match",
    message: /block, neutralize, annotate/,
  },
  {
    name: "max_body_bytes zero",
    yaml: "egress: {routes: [{host: a.example.com, max_body_bytes: 0}]}",
    path: "egress.routes[0].max_body_bytes",
    message: /positive/,
  },
  {
    name: "forward_host_credentials with auth_token",
    yaml: "agent_provider: {template: claude, auth_token: T, forward_host_credentials: true}",
    path: "agent_provider.forward_host_credentials",
    message: /cannot be combined with `auth_token`/,
  },
  {
    name: "forward_host_credentials with the pi template",
    yaml: "agent_provider: {template: pi, forward_host_credentials: true}",
    path: "agent_provider.forward_host_credentials",
    message: /claude and codex/,
  },
  {
    name: "a template that is not a name",
    yaml: "agent_provider: {template: Claude!}",
    path: "agent_provider.template",
    message: /template name/,
  },
  {
    name: "an invalid env name",
    yaml: "env: {1BAD: x}",
    path: "env.1BAD",
    message: /environment variable name/,
  },
  {
    name: "a number as env value",
    yaml: "env: {PORT: 8080}",
    path: "env.PORT",
    message: /must be a string, got a number \(put the value in quotes\)/,
  },
  {
    name: "extends with a non-string",
    yaml: "extends: [base, 3]",
    path: "extends",
    message: /bottle name or a list of bottle names/,
  },
  {
    name: "extends with a bad name",
    yaml: "extends: Base",
    path: "extends",
    message: /bottle name/,
  },
  {
    name: "a git-gate repo with a bad url",
    yaml: "git-gate: {repos: {api: {url: 'https://x.com/a.git'}}}",
    path: "git-gate.repos.api.url",
    message: /ssh:\/\/… URL or git@host:owner\/repo\.git/,
  },
  {
    name: "a git-gate key with an unknown provider",
    yaml: "git-gate: {repos: {api: {key: {provider: github}}}}",
    path: "git-gate.repos.api.key.provider",
    message: /provider: static, path\} or \{provider: gitea/,
  },
  {
    name: "a git-gate key with an http api_url",
    yaml:
      "git-gate: {repos: {api: {key: {provider: gitea, provisioner_token: T, api_url: 'http://g.example.com'}}}}",
    path: "git-gate.repos.api.key.api_url",
    message: /https:\/\/ URL/,
  },
  {
    name: "a host_key that is not a key line",
    yaml: "git-gate: {repos: {api: {host_key: yes}}}",
    path: "git-gate.repos.api.host_key",
    message: /pinned host key line/,
  },
  {
    name: "two repos for one upstream (ssh and scp forms)",
    yaml:
      "git-gate: {repos: {a: {url: 'ssh://git@g.example.com/acme/api.git'}, b: {url: 'git@g.example.com:acme/api'}}}",
    path: "git-gate.repos.b.url",
    message: /same upstream as repo "a"/,
  },
  {
    name: "resources.runtime outside runc/runsc",
    yaml: "resources: {runtime: kata}",
    path: "resources.runtime",
    message: /runc, runsc/,
  },
  {
    name: "a wrong type where a map belongs",
    yaml: "egress: [a]",
    path: "egress",
    message: /must be a map of keys, got a list/,
  },
];

for (const c of bottleErrors) {
  Deno.test(`validateBottle: ${c.name}`, () => {
    const error = errorOf(() => bottle(c.yaml));
    const issue = error.issues.find((i) => i.path === c.path);
    assert.ok(issue, `no issue at ${c.path}: ${JSON.stringify(error.issues)}`);
    assert.match(issue.message, c.message);
    if (c.hint) assert.match(issue.hint ?? "", c.hint);
    if (c.line !== undefined) assert.equal(issue.line, c.line);
    if (c.column !== undefined) assert.equal(issue.column, c.column);
    assert.equal(error.file, FILE);
    assert.equal(error.exitCode, 3);
  });
}

const hostCases: [string, RegExp][] = [
  ["localhost", /loopback/],
  ["api.localhost", /loopback/],
  ["intranet", /single-label/],
  ["printer.local", /local-network/],
  ["metadata.google.internal", /local-network/],
  ["egress", /inside the bottle/],
  ["git-gate", /inside the bottle/],
  ["supervise", /inside the bottle/],
  ["forge", /inside the bottle/],
  ["127.0.0.1", /IP literals/],
  ["169.254.169.254", /IP literals/],
  ["0x7f.1", /IP literals/],
  ["[::1]", /IP literals/],
  ["fe80::1", /IP literals/],
  ["api.*.example.com", /wildcards/],
  ["*example.com", /wildcards/],
  ["example.com:8443", /without a port/],
  ["https://example.com", /not a URL/],
  ["example.com.", /trailing dot/],
  ["bad_label.example.com", /valid hostname/],
  ["-x.example.com", /valid hostname/],
  ["", /must not be empty/],
];

for (const [host, message] of hostCases) {
  Deno.test(`validateBottle refuses route host ${JSON.stringify(host)}`, () => {
    const error = errorOf(() => bottle(`egress: {routes: [{host: "${host}"}]}`));
    assert.equal(error.path, "egress.routes[0].host");
    assert.match(error.message, message);
  });
}

const regexCases: [string, RegExp | undefined][] = [
  ["/api/v1/repos/acme/[^/]+/(issues|pulls)(/.*)?", undefined],
  ["/a/(b|c)+/d", undefined],
  ["/x{2,10}", undefined],
  ["(a+)+", /repetition inside a repetition/],
  ["(?:a*b*)*", /repetition inside a repetition/],
  ["((a+))+", /repetition inside a repetition/],
  ["(.*){2,}", /repetition inside a repetition/],
  ["(a)\\1", /backreference/],
  ["(?<n>a)\\k<n>", /backreference/],
  ["a{1,5000}", /bound above/],
  ["(", /not a valid regular expression/],
  ["x".repeat(513), /at most 512/],
];

for (const [pattern, problem] of regexCases) {
  Deno.test(`route regex ${JSON.stringify(pattern.slice(0, 30))} is ${problem ? "refused" : "accepted"}`, () => {
    const yaml = `egress: {routes: [{host: a.example.com, matches: [{paths: [{type: regex, value: ${
      JSON.stringify(pattern)
    }}]}]}]}`;
    if (problem === undefined) {
      bottle(yaml);
      return;
    }
    const error = errorOf(() => bottle(yaml));
    assert.equal(error.path, "egress.routes[0].matches[0].paths[0].value");
    assert.match(error.message, problem);
  });
}

const agentErrors: ErrorCase[] = [
  {
    name: "git-gate.repos is refused in an agent",
    yaml: "git-gate: {repos: {api: {url: 'ssh://git@g.example.com/a.git'}}}",
    path: "git-gate.repos",
    message: /not allowed in an agent manifest/,
    hint: /belong in a bottle/,
  },
  {
    name: "bottle keys are refused in an agent with a pointer to bottles",
    yaml: "egress: {routes: [{host: evil.example.com}]}",
    path: "egress",
    message: /not allowed in an agent manifest/,
    hint: /bottle manifest/,
  },
  {
    name: "env is refused in an agent",
    yaml: "env: {A: b}",
    path: "env",
    message: /not allowed in an agent manifest/,
  },
  {
    name: "a skill name outside the file-name rule",
    yaml: "skills: [Write_PRD]",
    path: "skills[0]",
    message: /skill name/,
  },
  {
    name: "a skill path is not a name",
    yaml: "skills: [../../etc]",
    path: "skills[0]",
    message: /skill name/,
  },
  {
    name: "an unknown agent key gets a did-you-mean",
    yaml: "botle: dev",
    path: "botle",
    message: /unknown key/,
    hint: /Did you mean "bottle"\?/,
  },
  {
    name: "removed keys are named in agents too",
    yaml: "git: {user: {name: a}}",
    path: "git",
    message: /removed key/,
    hint: /git-gate/,
  },
  {
    name: "a bad git email",
    yaml: "git-gate: {user: {email: not-an-email}}",
    path: "git-gate.user.email",
    message: /email address/,
  },
];

for (const c of agentErrors) {
  Deno.test(`validateAgent: ${c.name}`, () => {
    const error = errorOf(() => agent(c.yaml));
    const issue = error.issues.find((i) => i.path === c.path);
    assert.ok(issue, `no issue at ${c.path}: ${JSON.stringify(error.issues)}`);
    assert.match(issue.message, c.message);
    if (c.hint) assert.match(issue.hint ?? "", c.hint);
  });
}

Deno.test("the error message has the documented shape and counts further problems", () => {
  const error = errorOf(() => bottle("egres: {}\nresources: {cpus: -1}"));
  assert.equal(
    error.message,
    `Invalid manifest "${FILE}" at egres (2:1): unknown key (and 1 more problem)`,
  );
  assert.equal(error.hint, 'Did you mean "egress"?');
});

Deno.test("an unknown key is reported before a missing key at the same place", () => {
  const error = errorOf(() => bottle("egress: {routes: [{hots: a.example.com}]}"));
  assert.equal(error.path, "egress.routes[0].hots");
});

Deno.test("a mistyped enum key leads over the missing key it stands for", () => {
  const error = errorOf(() =>
    bottle(
      "egress: {routes: [{host: a.example.com, matches: [{paths: [{typ: prefix, value: /x}]}]}]}",
    )
  );
  assert.equal(error.path, "egress.routes[0].matches[0].paths[0].typ");
  assert.equal(error.hint, 'Did you mean "type"?');
});

Deno.test("validation errors never echo secret-capable values", () => {
  const secret = "ghp_SECRETVALUE1234567890abcdef";
  const dashed = "sk-ant-oat01-SECRET-VALUE-xyz";
  const cases = [
    `env: {TOKEN: [${secret}]}`,
    `env: {TOKEN: {a: ${secret}}}`,
    `agent_provider: {auth_token: ${dashed}}`,
    `agent_provider: {auth_token: [${secret}]}`,
    `agent_provider: {settings: {apiKey: ${secret}}, template: ${dashed}}`,
    `egress: {routes: [{host: a.example.com, auth: {scheme: Bearer, token_ref: ${dashed}}}]}`,
    `egress: {routes: [{host: a.example.com, auth: {scheme: ${secret}, token_ref: T}}]}`,
    `egress: {routes: [{host: ${dashed}}]}`,
    `egress: {routes: [{host: a.example.com, upstream: ${dashed}}]}`,
    `egress: {routes: [{host: a.example.com, matches: [{headers: [{name: A, type: regex, value: "(${secret}+)+"}]}]}]}`,
    `git-gate: {repos: {a: {key: {provider: gitea, provisioner_token: ${dashed}}}}}`,
    `git-gate: {repos: {a: {key: {provider: ${secret}}}}}`,
    `git-gate: {repos: {a: {host_key: ${secret}}}}`,
    `git-gate: {repos: {a: {url: ${secret}}}}`,
    `resources: {memory: ${secret}}`,
    `egress: {log: ${secret}}`,
    `extends: [${dashed}]`,
  ];
  for (const yaml of cases) {
    const error = errorOf(() => bottle(yaml));
    const all = JSON.stringify({ message: error.message, hint: error.hint, issues: error.issues });
    assert.ok(!all.includes("SECRET"), `${yaml}\n→ ${all}`);
  }
});
