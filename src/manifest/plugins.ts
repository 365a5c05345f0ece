/**
 * Provider plugins (SPEC §10.5): `~/.bot-bottle/contrib/<name>/provider.yaml`, plus an optional
 * `Dockerfile` beside it, declare a template that `agent_provider.template: <name>` selects.
 * The file is data only — no plugin code runs on the host; a Dockerfile is built by the engine
 * (its directory is the build context), without one the bottle runs bot-bottle's base agent
 * image (the `shell` template's).
 *
 * ```yaml
 * description: A small agent CLI
 * command: [my-agent]                     # the program (argv, never a shell string)
 * permission_args: [--yes]                # its permission bypass (the bottle is the boundary)
 * args:
 *   interactive: [--system, "{prompt_file}"]
 *   headless: [--print, "{prompt}"]       # required; {prompt} is the --prompt text
 *   resume: [--continue]                  # before the mode's args when resuming
 * env: {MY_AGENT_TELEMETRY: "0"}          # non-secret constants
 * files:                                  # written into the agent's home
 *   - {path: .my-agent/config.json, content: "{}"}
 * skills_dir: .my-agent/skills            # where `skills:` go (relative to the home)
 * mcp: none                               # none | claude | codex
 * ```
 *
 * Validated strictly like manifests (unknown keys fatal with a "did you mean", key paths and
 * positions, never a value). Plugins cannot add routes or receive credentials: those keys are
 * refused here, and `auth_token`/`forward_host_credentials` with a plugin template are refused
 * in the bottle manifest.
 *
 * @module
 */
import { z } from "zod";
import { closestMatch } from "../lib/suggest.ts";
import { ManifestError } from "./errors.ts";
import { MAX_MANIFEST_CHARS, type ParsedYaml, parseYamlFile } from "./parse.ts";
import { BUILTIN_TEMPLATES, ENV_NAME_PATTERN, NAME_PATTERN } from "./schema.ts";
import { refineStrict, strict, validateData } from "./validate.ts";

/** The placeholders an argv template may hold. */
export const PLUGIN_PLACEHOLDERS = ["prompt", "prompt_file"] as const;

/** How a plugin's agent registers MCP servers: not at all, like claude, or like codex. */
export type PluginMcpStyle = "none" | "claude" | "codex";

/** A validated provider plugin. */
export interface PluginSpec {
  name: string;
  /** The plugin's directory (`contrib/<name>`), the build context of its Dockerfile. */
  dir: string;
  /** `provider.yaml`. */
  file: string;
  description: string | null;
  /** `Dockerfile` beside `provider.yaml`, when there is one. */
  dockerfile: string | null;
  command: string[];
  permissionArgs: string[];
  args: { interactive: string[]; headless: string[]; resume: string[] };
  env: Record<string, string>;
  files: { path: string; content: string; executable: boolean }[];
  skillsDir: string | null;
  mcp: PluginMcpStyle;
}

/** Variables bot-bottle sets in every agent container; a plugin may not replace them. */
export const RESERVED_ENV: readonly string[] = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "http_proxy",
  "https_proxy",
  "NO_PROXY",
  "no_proxy",
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "REQUESTS_CA_BUNDLE",
  "CODEX_CA_CERTIFICATE",
  "HOME",
];

/** Names that look like they hold a credential. */
const CREDENTIAL_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIAL|PRIVATE_?KEY/i;

/** Paths in the home bot-bottle writes itself. */
const RESERVED_PATHS = [/^\.bot-bottle/, /^\.gitconfig$/, /^workspace(\/|$)/];

/** Largest total size of a plugin's `files`. */
export const MAX_PLUGIN_FILES_BYTES = 1024 * 1024;

const NO_CREDENTIALS = {
  message: "is not allowed: plugins cannot receive credentials (SPEC §10.5)",
  hint:
    "Credentials go to the claude, codex and pi templates only, through agent_provider in a bottle",
};
const NO_ROUTES = {
  message: "is not allowed: plugins cannot add routes (SPEC §10.5)",
  hint: "List the hosts the agent needs in a bottle manifest's egress.routes",
};

const argItem = z.string().min(1, { error: "must not be empty" }).max(4096, {
  error: "must be at most 4096 characters",
});
const argList = z.array(argItem).max(64);

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Placeholders used in an argv list, with the index of each element holding one. */
function placeholdersIn(list: readonly string[]): { name: string; index: number }[] {
  return list.flatMap((item, index) =>
    [...item.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1], index }))
  );
}

const args = refineStrict(
  strict({
    interactive: argList.optional(),
    headless: argList.min(1, { error: "must not be an empty list" }),
    resume: argList.optional(),
  }),
  (a, ctx) => {
    for (const [key, list] of Object.entries(a) as [string, string[] | undefined][]) {
      for (const { name, index } of placeholdersIn(list ?? [])) {
        if (!(PLUGIN_PLACEHOLDERS as readonly string[]).includes(name)) {
          const guess = closestMatch(name, PLUGIN_PLACEHOLDERS);
          ctx.addIssue({
            code: "custom",
            path: [key, index],
            message: `holds an unknown placeholder${
              guess ? ` (did you mean {${guess}}?)` : ""
            }: only {prompt} and {prompt_file} exist`,
          });
        } else if (name === "prompt" && key !== "headless") {
          ctx.addIssue({
            code: "custom",
            path: [key, index],
            message: "holds {prompt}, which only `args.headless` has",
          });
        }
      }
    }
    if (!placeholdersIn(a.headless).some((p) => p.name === "prompt")) {
      ctx.addIssue({
        code: "custom",
        path: ["headless"],
        message: "must pass the prompt: put {prompt} in one of its elements",
      });
    }
  },
);

const homePath = z.string().min(1).max(1024).refine((p) => homePathProblem(p) === undefined, {
  error: "must be a relative path inside the home, without `..`",
}).refine((p) => !RESERVED_PATHS.some((r) => r.test(p)), {
  error: "is a path bot-bottle writes itself (.bot-bottle*, .gitconfig, workspace/)",
});

const pluginFile = strict({
  path: homePath,
  content: z.string().max(64 * 1024, { error: "must be at most 64 KiB" }),
  executable: z.boolean().optional(),
});

const pluginSchema = refineStrict(
  strict({
    description: z.string().max(256).optional(),
    command: z.array(argItem).min(1, { error: "must name the program" }).max(16),
    permission_args: argList.optional(),
    args,
    env: z.record(
      z.string().max(128).regex(ENV_NAME_PATTERN, {
        error: "must be an environment variable name (letters, digits, underscores)",
      }).refine((n) => !RESERVED_ENV.includes(n) && !n.startsWith("BOT_BOTTLE_"), {
        error: "is set by bot-bottle in every bottle and cannot be replaced",
      }).refine((n) => !CREDENTIAL_NAME.test(n), {
        error: "looks like a credential: plugin env holds non-secret constants only",
      }),
      z.string().max(4096, { error: "must be at most 4096 characters" }),
    ).optional(),
    files: z.array(pluginFile).max(64).optional(),
    skills_dir: homePath.optional(),
    mcp: z.enum(["none", "claude", "codex"]).optional(),
  }, {
    misplaced: {
      routes: NO_ROUTES,
      egress: NO_ROUTES,
      auth_token: NO_CREDENTIALS,
      forward_host_credentials: NO_CREDENTIALS,
      credentials: NO_CREDENTIALS,
      image: {
        message: "is not a plugin key",
        hint: "Put a Dockerfile beside provider.yaml (`FROM <image>`); it is built by the engine",
      },
      dockerfile: {
        message: "is not a plugin key",
        hint: "The plugin's Dockerfile is the file named `Dockerfile` beside provider.yaml",
      },
    },
  }),
  (p, ctx) => {
    for (const [key, list] of [["command", p.command], ["permission_args", p.permission_args]]) {
      for (const { index } of placeholdersIn((list ?? []) as string[])) {
        ctx.addIssue({
          code: "custom",
          path: [key as string, index],
          message: "holds a placeholder: only `args` may use {prompt} and {prompt_file}",
        });
      }
    }
    const total = (p.files ?? []).reduce((n, f) => n + f.content.length, 0);
    if (total > MAX_PLUGIN_FILES_BYTES) {
      ctx.addIssue({ code: "custom", path: ["files"], message: "hold more than 1 MiB in total" });
    }
    const paths = (p.files ?? []).map((f) => f.path);
    paths.forEach((path, i) => {
      if (paths.indexOf(path) !== i) {
        ctx.addIssue({
          code: "custom",
          path: ["files", i, "path"],
          message: `repeats files[${paths.indexOf(path)}].path`,
        });
      }
    });
  },
);

/** What is wrong with a path meant to be relative to the agent's home, or `undefined`. */
export function homePathProblem(path: string): string | undefined {
  if (path.startsWith("/")) return "is absolute";
  const parts = path.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) return "has empty, . or .. parts";
  return undefined;
}

/**
 * Validates a parsed `provider.yaml`.
 *
 * @throws {ManifestError} naming the file, key path and position of every problem.
 */
export function validatePlugin(
  parsed: ParsedYaml,
  name: string,
  dir: string,
  dockerfile: string | null,
): PluginSpec {
  const data = validateData(pluginSchema, parsed.data, parsed.file, {
    positionOf: parsed.positionOf,
  });
  return {
    name,
    dir,
    file: parsed.file,
    description: data.description ?? null,
    dockerfile,
    command: data.command,
    permissionArgs: data.permission_args ?? [],
    args: {
      interactive: data.args.interactive ?? [],
      headless: data.args.headless,
      resume: data.args.resume ?? [],
    },
    env: data.env ?? {},
    files: (data.files ?? []).map((f) => ({
      path: f.path,
      content: f.content,
      executable: f.executable ?? false,
    })),
    skillsDir: data.skills_dir ?? null,
    mcp: data.mcp ?? "none",
  };
}

/**
 * Why `name` cannot name a plugin (its directory, the template name): `pattern` when it is no
 * template name (`^[a-z][a-z0-9-]*$`, at most 64 characters), `builtin` for a builtin template's
 * name; `undefined` when it can.
 */
export function pluginNameProblem(name: string): "pattern" | "builtin" | undefined {
  if (!NAME_PATTERN.test(name) || name.length > 64) return "pattern";
  return BUILTIN_TEMPLATES.includes(name) ? "builtin" : undefined;
}

/** The names of the plugin directories under `contribDir` (builtin names and bad names skipped). */
export function pluginNames(contribDir: string): string[] {
  let items: Deno.DirEntry[];
  try {
    items = [...Deno.readDirSync(contribDir)];
  } catch {
    return [];
  }
  return items.filter((e) =>
    (e.isDirectory || e.isSymlink) && pluginNameProblem(e.name) === undefined
  ).map((e) => e.name).sort();
}

/**
 * Loads and validates `contribDir/<name>/provider.yaml`; `undefined` when the plugin does not
 * exist. A builtin template name is never a plugin.
 *
 * @throws {ManifestError} when the file is unreadable, not UTF-8, a symlink leaving the plugin
 *   directory, or invalid.
 */
export function loadPlugin(contribDir: string, name: string): PluginSpec | undefined {
  if (pluginNameProblem(name) !== undefined) return undefined;
  const dir = `${contribDir}/${name}`;
  const file = `${dir}/provider.yaml`;
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(file);
  } catch {
    return undefined;
  }
  if (!info.isFile) {
    throw new ManifestError(file, {
      path: "",
      message: "is not a regular file (a symlink or a directory)",
      hint: "Make provider.yaml a file in the plugin's directory",
    });
  }
  if (info.size > MAX_MANIFEST_CHARS * 4) {
    throw new ManifestError(file, {
      path: "",
      message: `file is larger than ${MAX_MANIFEST_CHARS / 1024} KiB`,
    });
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Deno.readFileSync(file));
  } catch (error) {
    throw new ManifestError(file, {
      path: "",
      message: error instanceof TypeError ? "file is not valid UTF-8 text" : "cannot read the file",
    }, { cause: error });
  }
  let dockerfile: string | null = `${dir}/Dockerfile`;
  try {
    if (!Deno.lstatSync(dockerfile).isFile) {
      throw new ManifestError(file, {
        path: "",
        message: "has a `Dockerfile` beside it that is not a regular file",
      });
    }
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    dockerfile = null;
  }
  return validatePlugin(parseYamlFile(text, file), name, dir, dockerfile);
}
