/**
 * The manifest schemas (SPEC §4.2, §4.3, §4.5), pure. Every map is strict: an unknown key is an
 * error with a "did you mean", a key removed since the reference implementation names its
 * replacement, a key in the wrong kind of manifest says where it belongs. zod's issues are turned
 * into manifest issues by `validate.ts`, never by zod's own messages, so no manifest value can
 * reach an error (LESSONS 24).
 *
 * @module
 */
import { z } from "zod";
import { upstreamProblem } from "./hosts.ts";
import { namesPerMinute, outboundDetectors, routeHost, routeKeysRefine } from "./route_rules.ts";
import type { ParsedManifest } from "./parse.ts";
import { routePatternProblem } from "./regex.ts";
import { NAME_PATTERN } from "./scan.ts";
import { refineStrict, strict, validateData } from "./validate.ts";

export { NAME_PATTERN } from "./scan.ts";
/** Environment variable names (env keys, `auth_token`, `token_ref`, `provisioner_token`). */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The exact host-variable form of an env entry: `${NAME}`. */
export const HOST_VAR_PATTERN = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
/** Default `max_body_bytes` of a route: 32 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Default `resources.pids`. */
export const DEFAULT_PIDS = 4096;
/** Templates with built-in support; other names are plugins (§10.5). */
export const BUILTIN_TEMPLATES: readonly string[] = ["claude", "codex", "pi", "shell"];

// ---------------------------------------------------------------------------------------------
// Leaves

const name = (what: string) =>
  z.string().max(64, { error: `must be a ${what} name of at most 64 characters` }).regex(
    NAME_PATTERN,
    { error: `must be a ${what} name (lower-case letters, digits, hyphens; a letter first)` },
  );

const envVarName = z.string().max(128, { error: "must be at most 128 characters" }).regex(
  ENV_NAME_PATTERN,
  {
    error:
      "must be the name of a host environment variable (letters, digits, underscores), not a token value",
  },
);

const text = (max: number) =>
  z.string().min(1, { error: "must not be empty" }).max(max, {
    error: `must be at most ${max} characters`,
  });

const port = z.int({ error: "must be a port number" }).min(1, {
  error: "must be a port between 1 and 65535",
}).max(65535, { error: "must be a port between 1 and 65535" });

// ---------------------------------------------------------------------------------------------
// Bottle keys (§4.2)

const SSH_URL =
  /^ssh:\/\/(?:[A-Za-z0-9._~-]+@)?([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?\/([^\s]+)$/;
const SCP_URL = /^([A-Za-z0-9._~-]+)@([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?!\/\/)([^\s]+)$/;
/**
 * A pinned host key line (§4.2): an optional known_hosts host field, a known key type, one blob
 * of printable non-space characters and an optional comment, on one line. The blob is not
 * decoded here (the §4.6 example abbreviates it); ssh refuses a wrong key, never trusting on
 * first use.
 */
const HOST_KEY = new RegExp(
  "^(?:[\\x21-\\x7e]+[ \\t]+)?" +
    "(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)" +
    "|sk-ssh-ed25519@openssh\\.com|sk-ecdsa-sha2-nistp256@openssh\\.com)" +
    "[ \\t]+[\\x21-\\x7e]+(?:[ \\t][^\\x00-\\x08\\x0a-\\x1f\\x7f]*)?$",
);

/** The upstream a git-gate URL points at, for detecting two entries for one repository. */
export function upstreamIdentity(url: string): string | undefined {
  let host: string, port: string, path: string;
  const ssh = SSH_URL.exec(url);
  const scp = SCP_URL.exec(url);
  if (ssh) {
    [host, port, path] = [ssh[1], ssh[2] ?? "22", ssh[3]];
  } else if (scp) {
    [host, port, path] = [scp[2], "22", scp[3]];
  } else return undefined;
  path = path.replace(/^\/+/, "").replace(/\/+$/, "").replace(/\.git$/, "").toLowerCase();
  return `${host.toLowerCase()}:${Number(port)}/${path}`;
}

const gitUser = strict({
  name: text(200).regex(/^[^\n<>]*$/, { error: "must be one line without < or >" })
    .optional(),
  email: text(254).regex(/^[^\s<>@]+@[^\s<>@]+$/, { error: "must be an email address" })
    .optional(),
});

const staticKey = strict({ provider: z.literal("static"), path: text(4096) });
const giteaKey = strict({
  provider: z.literal("gitea"),
  provisioner_token: envVarName,
  api_url: z.string().max(2048).refine((u) => /^https:\/\/[^\s/]+(\/\S*)?$/.test(u), {
    error: "must be an https:// URL",
  }).optional(),
});

const branchPattern = z.string().max(200).regex(/^[A-Za-z0-9._\/*-]+$/, {
  error: "must be a branch name or pattern (letters, digits, . _ - / and *)",
});

const repo = strict({
  url: z.string().max(2048).refine((u) => upstreamIdentity(u) !== undefined, {
    error: "must be an ssh://… URL or git@host:owner/repo.git",
  }).optional(),
  key: z.discriminatedUnion("provider", [staticKey, giteaKey], {
    error: "must be {provider: static, path} or {provider: gitea, provisioner_token}",
  }).optional(),
  host_key: z.string().max(16384).refine((k) => HOST_KEY.test(k), {
    error: 'must be a pinned host key line ("ssh-ed25519 AAAA…")',
  }).optional(),
  refs: strict({
    protected: z.array(branchPattern).max(100).optional(),
    allow: z.array(branchPattern).max(100).optional(),
  }).optional(),
});

const repoName = z.string().max(64).regex(/^[a-z0-9][a-z0-9._-]*$/, {
  error: "must be a repository name (lower-case letters, digits, dots, hyphens, underscores)",
}).refine((n) => !n.includes("..") && !n.endsWith(".git"), {
  error: 'must not contain ".." or end in ".git"',
});

const bottleGitGate = strict({
  user: gitUser.optional(),
  repos: z.record(repoName, repo).superRefine((repos, ctx) => {
    const seen = new Map<string, string>();
    for (const [n, r] of Object.entries(repos)) {
      const id = r.url === undefined ? undefined : upstreamIdentity(r.url);
      if (id === undefined) continue;
      const other = seen.get(id);
      if (other !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [n, "url"],
          message: `points at the same upstream as repo "${other}": one entry per repository`,
        });
      } else seen.set(id, n);
    }
  }).optional(),
});

const header = refineStrict(
  strict({
    name: z.string().max(256).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
      error: "must be a header name",
    }),
    value: z.string().max(8192).optional(),
    type: z.enum(["exact", "regex", "present"]).optional(),
  }),
  (h, ctx) => {
    const type = h.type ?? (h.value === undefined ? "present" : "exact");
    if (type === "present" && h.value !== undefined) {
      ctx.addIssue({ code: "custom", path: ["value"], message: "is not used with type present" });
    }
    if (type !== "present" && h.value === undefined) {
      ctx.addIssue({ code: "custom", path: ["value"], message: `is required with type ${type}` });
    }
    if (type === "regex" && h.value !== undefined) {
      const problem = routePatternProblem(h.value);
      if (problem) ctx.addIssue({ code: "custom", path: ["value"], message: problem });
    }
  },
);

const pathRule = refineStrict(
  strict({
    type: z.enum(["prefix", "exact", "regex"]),
    value: z.string().max(2048),
  }),
  (p, ctx) => {
    if (p.type === "regex") {
      const problem = routePatternProblem(p.value);
      if (problem) ctx.addIssue({ code: "custom", path: ["value"], message: problem });
    } else if (!p.value.startsWith("/")) {
      ctx.addIssue({
        code: "custom",
        path: ["value"],
        message: `must start with "/" for type ${p.type}`,
      });
    }
  },
);

const match = refineStrict(
  strict({
    paths: z.array(pathRule).min(1).max(256).optional(),
    methods: z.array(
      z.string().max(32).regex(/^[A-Za-z]+$/, { error: "must be an HTTP method name" }),
    ).min(1).max(32).optional(),
    headers: z.array(header).min(1).max(64).optional(),
  }),
  (m, ctx) => {
    if (m.paths || m.methods || m.headers) return;
    ctx.addIssue({
      code: "custom",
      message: "must set paths, methods or headers (an empty entry would match every request)",
    });
  },
);

const dlp = strict({
  outbound_detectors: outboundDetectors.optional(),
  inbound_detectors: z.union([
    z.literal(false),
    z.array(z.enum(["naive_injection_detection"])),
  ], { error: "must be a list of naive_injection_detection, or false" }).optional(),
  outbound_on_match: z.enum(["supervise", "redact", "block"]).optional(),
  inbound_on_match: z.enum(["block", "neutralize", "annotate"]).optional(),
});

const emptyAuthMessage = "is empty: give both `scheme` and `token_ref`, or remove `auth`";

const auth = z.preprocess(
  (value, ctx) => {
    if (value === null || (isPlainObject(value) && Object.keys(value).length === 0)) {
      ctx.addIssue({ code: "custom", message: emptyAuthMessage, input: undefined });
    }
    return value;
  },
  strict({ scheme: z.enum(["Bearer", "token"]), token_ref: envVarName }),
);

const route = strict({
  host: routeHost,
  names_per_minute: namesPerMinute.optional(),
  ports: z.array(port).min(1).max(64).optional(),
  auth: auth.optional(),
  matches: z.array(match).min(1).max(256).optional(),
  dlp: dlp.optional(),
  upstream: z.string().max(300).superRefine((u, ctx) => {
    const problem = upstreamProblem(u);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }).optional(),
  max_body_bytes: z.int().min(1, { error: "must be a positive number of bytes" }).max(
    1024 * 1024 * 1024,
    { error: "must be at most 1 GiB" },
  ).optional(),
}, {
  removed: {
    path_allowlist:
      "`path_allowlist` was removed: use `matches: [{paths: [{type: prefix, value: /…}]}]`",
    role: "`role` was removed: routes have no roles any more; delete the key",
  },
});

const egress = strict({
  log: z.literal([0, 1, 2], { error: "must be 0, 1 or 2" }).optional(),
  routes: z.array(route).max(512).superRefine((routes, ctx) => {
    const seen = new Map<string, number>();
    routes.forEach((r, i) => {
      const host = r.host.toLowerCase();
      const first = seen.get(host);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [i, "host"],
          message: `repeats the host of egress.routes[${first}]: one route per host`,
        });
      } else seen.set(host, i);
      routeKeysRefine(r, i, ctx);
    });
  }).optional(),
}, {
  removed: {
    allowlist: "`egress.allowlist` was removed: list each host as an entry of `egress.routes`",
    dlp_action: "`egress.dlp_action` was removed: set `dlp.outbound_on_match` on each route",
  },
});

const provider = refineStrict(
  strict({
    template: name("template").optional(),
    dockerfile: text(4096).optional(),
    base_image: text(512).regex(/^[A-Za-z0-9][A-Za-z0-9._\/:@-]*$/, {
      error: "must be an image reference",
    }).optional(),
    auth_token: envVarName.optional(),
    forward_host_credentials: z.boolean().optional(),
    settings: z.record(z.string().max(256), z.unknown()).optional(),
  }),
  (p, ctx) => {
    if (p.forward_host_credentials === true && p.auth_token !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["forward_host_credentials"],
        message: "cannot be combined with `auth_token`: choose one credential source",
      });
    }
    const template = p.template ?? "claude";
    const plugin = !BUILTIN_TEMPLATES.includes(template);
    if (p.forward_host_credentials === true && template !== "claude" && template !== "codex") {
      ctx.addIssue({
        code: "custom",
        path: ["forward_host_credentials"],
        message: plugin
          ? "cannot be used with a plugin template: plugins never receive credentials (SPEC §10.5)"
          : "is only supported by the claude and codex templates",
      });
    }
    if (p.auth_token !== undefined && plugin) {
      ctx.addIssue({
        code: "custom",
        path: ["auth_token"],
        message:
          "cannot be used with a plugin template: plugins never receive credentials (SPEC §10.5)",
      });
    }
  },
);

const resources = strict({
  memory: z.union([
    z.string().regex(/^[1-9][0-9]*(?:\.[0-9]+)?[bkmgBKMG]?$/),
    z.int().min(4 * 1024 * 1024),
  ], { error: 'must be a size such as "4g" or "512m"' }).optional(),
  cpus: z.number().positive({ error: "must be a positive number" }).max(1024, {
    error: "must be at most 1024",
  }).optional(),
  pids: z.int().min(16, { error: "must be at least 16" }).max(4194304, {
    error: "must be at most 4194304",
  }).optional(),
  runtime: z.enum(["runc", "runsc"]).optional(),
});

const envValue = z.string().max(65536, { error: "must be at most 64 KiB" });

const TOP_REMOVED: Record<string, string> = {
  git: "`git` was renamed: use `git-gate` (with `user` and `repos`)",
  cred_proxy: "`cred_proxy` was removed: tokens are injected per route with `egress.routes[].auth`",
  egress_proxy:
    "`egress_proxy` was removed: list allowed hosts in `egress.routes`, with `dlp` per route",
  runtime:
    "`runtime` was removed: the runtime is detected; override it with BOT_BOTTLE_RUNTIME or `resources.runtime`",
  supervise: "`supervise` was removed: supervision is always on",
};

const AGENT_ONLY = ["bottle", "skills"];
const BOTTLE_ONLY = ["extends", "env", "agent_provider", "egress", "resources"];

/** The front matter of a bottle manifest. */
export const bottleSchema = strict({
  extends: z.union([name("bottle"), z.array(name("bottle")).min(1).max(32)], {
    error: "must be a bottle name or a list of bottle names",
  }).optional(),
  env: z.record(
    z.string().max(128).regex(ENV_NAME_PATTERN, {
      error: "must be an environment variable name (letters, digits, underscores)",
    }),
    envValue,
  ).optional(),
  agent_provider: provider.optional(),
  "git-gate": bottleGitGate.optional(),
  egress: egress.optional(),
  resources: resources.optional(),
}, {
  removed: TOP_REMOVED,
  misplaced: Object.fromEntries(AGENT_ONLY.map((k) => [k, {
    message: "is not allowed in a bottle manifest",
    hint: `\`${k}\` belongs in an agent manifest (agents/<name>.md)`,
  }])),
});

const agentGitGate = strict({ user: gitUser.optional() }, {
  misplaced: {
    repos: {
      message: "is not allowed in an agent manifest",
      hint:
        "Remotes and their keys belong in a bottle in ~/.bot-bottle/bottles/; an agent may only set `git-gate.user`",
    },
  },
});

/** The front matter of an agent manifest. */
export const agentSchema = strict({
  bottle: name("bottle").optional(),
  skills: z.array(name("skill")).max(128).optional(),
  "git-gate": agentGitGate.optional(),
  // Ignored, so an agent file doubles as a Claude Code sub-agent (§4.3).
  name: z.unknown().optional(),
  description: z.unknown().optional(),
  model: z.unknown().optional(),
  color: z.unknown().optional(),
  memory: z.unknown().optional(),
}, {
  removed: TOP_REMOVED,
  misplaced: Object.fromEntries(BOTTLE_ONLY.map((k) => [k, {
    message: "is not allowed in an agent manifest",
    hint:
      `\`${k}\` belongs in a bottle manifest in ~/.bot-bottle/bottles/; an agent names its bottle with \`bottle\``,
  }])),
});

/** A bottle's validated front matter. */
export type BottleData = z.infer<typeof bottleSchema>;
/** An agent's validated front matter. */
export type AgentData = z.infer<typeof agentSchema>;
/** One validated egress route of a manifest. */
export type RouteData = z.infer<typeof route>;
/** One validated git-gate repo entry of a manifest (fields may come from several bottles). */
export type RepoData = z.infer<typeof repo>;
/** The `agent_provider` map. */
export type ProviderData = z.infer<typeof provider>;
/** The `resources` map. */
export type ResourcesData = z.infer<typeof resources>;
/** `git-gate.user`. */
export type GitUserData = z.infer<typeof gitUser>;

/** A validated bottle manifest. */
export interface BottleManifest {
  kind: "bottle";
  name: string;
  file: string;
  data: BottleData;
  /** Documentation (the body). */
  body: string;
}

/** A validated agent manifest. */
export interface AgentManifest {
  kind: "agent";
  name: string;
  file: string;
  data: AgentData;
  /** The system prompt (the body, trimmed). */
  prompt: string;
}

/**
 * Validates a parsed bottle manifest.
 *
 * @throws {ManifestError} naming the file, key path and position of every problem.
 */
export function validateBottle(parsed: ParsedManifest, bottleName: string): BottleManifest {
  const data = check(bottleSchema, parsed);
  return { kind: "bottle", name: bottleName, file: parsed.file, data, body: parsed.body };
}

/**
 * Validates a parsed agent manifest.
 *
 * @throws {ManifestError} naming the file, key path and position of every problem.
 */
export function validateAgent(parsed: ParsedManifest, agentName: string): AgentManifest {
  const data = check(agentSchema, parsed);
  return { kind: "agent", name: agentName, file: parsed.file, data, prompt: parsed.body };
}

function check<T>(schema: z.ZodType<T>, parsed: Omit<ParsedManifest, "body">): T {
  return validateData(schema, parsed.data, parsed.file, { positionOf: parsed.positionOf });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
