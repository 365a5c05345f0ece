/**
 * The agent's view of git, pure: the git-gate URL of a repository, every spelling of an upstream
 * an agent (or a tool) might type for it, and the text of the agent's `~/.gitconfig`, whose
 * `url.<base>.insteadOf` entries send each spelling to the gate.
 *
 * **The prefix problem.** git's `insteadOf` is a prefix match (the longest matching prefix wins)
 * and the rest of the URL is appended to the base. A spelling such as `ssh://git@h/o/r` is also a
 * prefix of `ssh://git@h/o/r-other.git`, and even `ssh://git@h/o/r.git` is a prefix of
 * `ssh://git@h/o/r.github.io.git`. With the gate URL itself as the base those would become
 * `http://git-gate:9080/r.git-other.git` and `http://git-gate:9080/r.github.io.git`: the second
 * is the gate URL of a repository named `r.github.io`, so the agent would silently get another
 * repository than the one it asked for. git has no anchored match, and blocking every possible
 * next character with a longer `insteadOf` cannot be complete.
 *
 * So the base is the gate URL followed by `/` ({@linkcode gateRewriteBase}). An exact spelling
 * leaves nothing to append and gives `http://git-gate:9080/r.git/`, which git's HTTP transport
 * uses exactly like `http://git-gate:9080/r.git` (it ends the URL with one `/` before appending
 * `info/refs` or the service name). Any longer URL sharing the prefix lands *below* the
 * repository, `http://git-gate:9080/r.git/-other.git/`, a path the gate never serves (it answers
 * only `/<name>.git/info/refs`, `/<name>.git/git-upload-pack` and `/<name>.git/git-receive-pack`),
 * so the agent gets "repository not found" instead of the wrong repository. Among the bottle's
 * own repositories the longest-match rule still picks the right one: `…/o/r-other.git` of a
 * repository in the bottle is a longer `insteadOf` than `…/o/r`.
 *
 * @module
 */
import { ConfigError } from "../lib/errors.ts";

/** Scheme, host and port of the gate inside a bottle. */
export const GATE_ORIGIN = "http://git-gate:9080";

/** Longest gate repository name. */
export const MAX_GATE_NAME_LENGTH = 64;

/** The pattern every gate repository name matches (and it does not end in `.git`). */
export const GATE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

/** Whether `name` can name a repository on the gate. */
export function isGateName(name: string): boolean {
  return GATE_NAME_PATTERN.test(name) && name.length <= MAX_GATE_NAME_LENGTH &&
    !name.endsWith(".git");
}

/**
 * A gate repository name made from any text (a directory's basename): lower-cased, each run of
 * characters outside `[a-z0-9._-]` replaced by `-`, leading punctuation dropped, at most
 * {@linkcode MAX_GATE_NAME_LENGTH} characters, with no trailing `.git`, `.`, `_` or `-`.
 * Text with nothing usable gives `"repo"`.
 *
 * @example
 * ```ts
 * gateNameFor("My Project.git"); // "my-project"
 * ```
 */
export function gateNameFor(text: string): string {
  let name = text.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/-{2,}/g, "-")
    .replace(/\.git$/, "").replace(/^[^a-z0-9]+/, "").slice(0, MAX_GATE_NAME_LENGTH);
  for (let previous = ""; previous !== name;) {
    previous = name;
    name = name.replace(/\.git$/, "").replace(/[._-]+$/, "");
  }
  return name === "" ? "repo" : name;
}

function checkGateName(name: string): void {
  if (!isGateName(name)) {
    throw new ConfigError(`Cannot use "${name}" as a git-gate repository name: invalid name`, {
      hint: `Use lower-case letters, digits, ".", "_" and "-" (at most ${MAX_GATE_NAME_LENGTH} ` +
        `characters, starting with a letter or digit, not ending in ".git")`,
    });
  }
}

/**
 * The URL the agent uses for a gate repository.
 *
 * @example
 * ```ts
 * gateUrl("api"); // "http://git-gate:9080/api.git"
 * ```
 * @throws {ConfigError} when `name` is not a gate name ({@linkcode isGateName})
 */
export function gateUrl(name: string): string {
  checkGateName(name);
  return `${GATE_ORIGIN}/${name}.git`;
}

/**
 * The `url.<base>` the agent's spellings of a repository are rewritten to: the gate URL and a
 * `/`, so that a longer URL sharing a spelling as its prefix lands below the repository, where
 * the gate serves nothing (see the module doc).
 *
 * @throws {ConfigError} when `name` is not a gate name
 */
export function gateRewriteBase(name: string): string {
  return `${gateUrl(name)}/`;
}

/** An upstream URL taken apart. */
interface ParsedUpstream {
  /** The input without trailing `/` and without a trailing `.git`. */
  stem: string;
  /** Whether the input ended in `.git`. */
  hasGitSuffix: boolean;
  /** Lower-cased host (IPv6 in brackets). */
  host: string;
  /** The ssh port of ssh and scp-like inputs when not 22, else `null`. */
  sshPort: number | null;
  /** The path without leading or trailing `/` and without `.git`, case kept. */
  path: string;
}

const URL_FORM =
  /^(ssh|git\+ssh|ssh\+git|https?|git):\/\/(?:[^@/]*@)?(\[[^\]/]+\]|[^:/@[\]]+)(?::(\d*))?(\/.*)$/i;
const SCP_FORM = /^(?:[^@/:]+@)?(\[[^\]/]+\]|[^:/@[\]]+):(.+)$/;

function parseUpstream(url: string): ParsedUpstream {
  const invalid = (detail: string) =>
    new ConfigError(`Cannot use "${url}" as a git upstream: ${detail}`, {
      hint: 'Use an ssh URL ("ssh://git@host/owner/repo.git"), an scp-like one ' +
        '("git@host:owner/repo.git") or an https URL',
    });
  if (/\s/.test(url) || hasControlCharacter(url, false)) {
    throw invalid("it contains spaces or control characters");
  }
  let host: string;
  let rawPath: string;
  let sshPort: number | null = null;
  const asUrl = URL_FORM.exec(url);
  if (asUrl) {
    const [, scheme, h, port, path] = asUrl;
    host = h;
    rawPath = path;
    if (port !== undefined && port !== "") {
      const n = Number(port);
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw invalid(`bad port "${port}"`);
      if (/ssh/i.test(scheme) && n !== 22) sshPort = n;
    }
  } else if (url.includes("://")) {
    throw invalid("not an ssh, https, http or git URL");
  } else {
    const asScp = SCP_FORM.exec(url);
    if (!asScp) throw invalid("not a URL");
    [, host, rawPath] = asScp;
  }
  const trimmed = url.replace(/\/+$/, "");
  const hasGitSuffix = trimmed.endsWith(".git");
  const path = rawPath.replace(/^\/+|\/+$/g, "").replace(/\.git$/, "");
  if (path === "" || path.split("/").some((part) => part === "" || part === "..")) {
    throw invalid("no repository path");
  }
  return {
    stem: hasGitSuffix ? trimmed.slice(0, -4) : trimmed,
    hasGitSuffix,
    host: host.toLowerCase(),
    sshPort,
    path,
  };
}

/**
 * Every spelling of an upstream that names the same repository, deduplicated, in a stable order:
 * the URL as given, then it with `.git` added or removed, then for each form below with and
 * without `.git`: `ssh://git@host/path` and `ssh://host/path` (ssh port 22 or none) or
 * `ssh://git@host:port/path` (another ssh port); `git@host:path` (ssh port 22 or none);
 * `https://host/path`; `http://host/path`; `git://host/path`. Hosts are lower-cased, paths keep
 * their case; derived web and git forms use their scheme's default port.
 *
 * @example
 * ```ts
 * upstreamSpellings("git@github.com:acme/api.git").slice(0, 3);
 * // ["git@github.com:acme/api.git", "git@github.com:acme/api", "ssh://git@github.com/acme/api.git"]
 * ```
 * @throws {ConfigError} when `url` is not an ssh, scp-like, https, http or git URL with a path
 */
export function upstreamSpellings(url: string): string[] {
  const { stem, hasGitSuffix, host, sshPort, path } = parseUpstream(url);
  const forms: string[] = [];
  if (sshPort === null) forms.push(`ssh://git@${host}/`, `ssh://${host}/`, `git@${host}:`);
  else forms.push(`ssh://git@${host}:${sshPort}/`);
  forms.push(`https://${host}/`, `http://${host}/`, `git://${host}/`);
  const out = new Set<string>([url, hasGitSuffix ? stem : `${stem}.git`]);
  for (const form of forms) {
    out.add(`${form}${path}.git`);
    out.add(`${form}${path}`);
  }
  return [...out];
}

/** Whether `text` holds a C0 control character or DEL (a tab allowed when `tabOk`). */
function hasControlCharacter(text: string, tabOk: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && !(tabOk && code === 9)) || code === 0x7f) return true;
  }
  return false;
}

/** A git config value in double quotes, `\` and `"` escaped, a tab as `\t`. */
function quoteValue(value: string, what: string): string {
  if (hasControlCharacter(value, true)) {
    throw new ConfigError(
      `Cannot write ${what} to the agent's git configuration: it contains a ` +
        "newline or a control character",
      { hint: `Remove the line break from ${what}` },
    );
  }
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\t/g, "\\t")}"`;
}

/** Input of {@linkcode agentGitConfig}. */
export interface AgentGitConfigInput {
  /** The agent's commit identity; `null` (or `""`) leaves the field out. */
  user: { name: string | null; email: string | null };
  /** The bottle's repositories: gate name, and the upstream URL (`null` for a local checkout). */
  repos: { name: string; url: string | null }[];
}

/**
 * The text of the agent's `~/.gitconfig`: `[user]` when known; the credential helpers cleared
 * (the gate needs none and a helper must not ask); `push.autoSetupRemote`; `init.defaultBranch`;
 * and per repository with an upstream one `[url "<gate URL>/"]` section with an `insteadOf` for
 * each of its {@linkcode upstreamSpellings}. A local checkout (`url: null`) has no spellings: the
 * agent clones it from its gate URL. Values are quoted and escaped for git's config syntax.
 *
 * @example
 * ```ts
 * agentGitConfig({
 *   user: { name: "Ada", email: "ada@example.com" },
 *   repos: [{ name: "api", url: "git@github.com:acme/api.git" }],
 * });
 * ```
 * @throws {ConfigError} for a bad gate name or upstream, a name used twice, a spelling shared by
 * two repositories, or a value with a newline
 */
export function agentGitConfig(input: AgentGitConfigInput): string {
  const lines = ["# Written by bot-bottle; upstream URLs are rewritten to the git-gate."];
  const { name, email } = input.user;
  if (name || email) {
    lines.push("[user]");
    if (name) lines.push(`\tname = ${quoteValue(name, "the user name")}`);
    if (email) lines.push(`\temail = ${quoteValue(email, "the user email")}`);
  }
  lines.push(
    "[credential]",
    "\thelper =",
    "[push]",
    "\tautoSetupRemote = true",
    "[init]",
    "\tdefaultBranch = main",
  );
  const names = new Set<string>();
  const owners = new Map<string, string>();
  for (const repo of input.repos) {
    const base = gateRewriteBase(repo.name);
    if (names.has(repo.name)) {
      throw new ConfigError(
        `Cannot write the agent's git configuration: repository name ` +
          `"${repo.name}" is used twice`,
        { hint: "Give each repository its own name" },
      );
    }
    names.add(repo.name);
    if (repo.url === null) continue;
    const spellings = upstreamSpellings(repo.url);
    for (const spelling of spellings) {
      const owner = owners.get(spelling);
      if (owner !== undefined) {
        throw new ConfigError(
          `Cannot write the agent's git configuration: repositories ` +
            `"${owner}" and "${repo.name}" have the same upstream "${spelling}"`,
          {
            hint: "List each upstream repository once",
          },
        );
      }
      owners.set(spelling, repo.name);
    }
    // The base is made of a checked gate name: nothing in it needs escaping in a subsection.
    lines.push(`[url "${base}"]`);
    for (const spelling of spellings) {
      lines.push(`\tinsteadOf = ${quoteValue(spelling, `the upstream "${repo.url}"`)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
