/**
 * The shape of a provider template (SPEC §10): how the agent process is started, its constant
 * environment, the files provisioning writes into its home, where skills go and how MCP servers
 * are registered. Pure data and pure builders; provisioning (`provision.ts`) applies them.
 *
 * @module
 */

/** An MCP server the agent gets (SPEC §9.1): a name and a streamable-HTTP URL. */
export interface McpServer {
  /** `^[a-z][a-z0-9-]*$`. */
  name: string;
  url: string;
}

/**
 * How a template registers MCP servers: `claude` runs `claude mcp add --scope user --transport
 * http` in the bottle, `codex` lists them in `~/.codex/config.toml`, `none` cannot (a warning
 * names the servers instead).
 */
export type McpStyle = "claude" | "codex" | "none";

/** A file provisioning writes into the agent's home; never a secret (placeholders at most). */
export interface ProviderFile {
  /** Relative to the agent's home, `/`-separated. */
  path: string;
  mode: number;
  /**
   * `replace`: `content` is the file. `merge`: `content` is a JSON merge patch (RFC 7396) applied
   * to the JSON file already there (or to `{}`), so state the CLI keeps in the same file survives
   * a resume.
   */
  write: "replace" | "merge";
  content: string;
}

/** What a template's files depend on. */
export interface ProviderContext {
  slug: string;
  /** `--label`, or `null` (the slug is shown then). */
  label: string | null;
  /** `--color`, or `null`. */
  color: string | null;
  /** Absolute directories the agent works in: the workspace and each repository under it. */
  workdirs: string[];
  /** The MCP servers to register. */
  mcpServers: McpServer[];
  /** The agent's MCP tool-call timeout, above supervise's longest wait (SPEC §9.2). */
  mcpToolTimeoutSeconds: number;
  /** `agent_provider.settings` (validated at load). */
  settings: Record<string, unknown>;
  /** Where `settings` came from, for errors. */
  settingsFile: string;
  /** How the provider credential arrives: an injected `auth_token`, a forwarded login, none. */
  credential: "auth_token" | "forward" | null;
}

/** How the agent process is started, and what it finds in its home. */
export interface ProviderTemplate {
  name: string;
  /** A plugin from `~/.bot-bottle/contrib/` rather than a builtin template. */
  plugin: boolean;
  /** The agent's command and permission-bypass arguments. */
  command: readonly string[];
  /** The full argv of an interactive run. */
  interactive(opts: { resume: boolean; remoteControl: boolean }): string[];
  /** The full argv of a headless run with `prompt` (one element, never a shell string). */
  headless(prompt: string, opts: { resume: boolean }): string[];
  /** Constant, non-secret environment variables of the agent container. */
  env: Readonly<Record<string, string>>;
  /**
   * The environment variable that sets the agent's MCP tool-call timeout in milliseconds
   * (claude: `MCP_TOOL_TIMEOUT`), set per launch from its supervise settings.
   */
  mcpTimeoutEnv?: string;
  /** Has a remote-control mode. */
  remoteControl: boolean;
  /** Where skills go, relative to the home; `null`: the agent has no skills directory. */
  skillsDir: string | null;
  /** How MCP servers are registered. */
  mcp: McpStyle;
  /** Gets the supervise MCP server (every LLM template, and plugins registering MCP). */
  supervised: boolean;
  /** The files provisioning writes into the agent's home. */
  files(ctx: ProviderContext): ProviderFile[];
}

/** Where the agent's prompt is written in its home. */
export const AGENT_PROMPT_FILE = "/home/node/.bot-bottle-prompt.txt";

/** The agent's workspace (its working directory; repositories are cloned under it). */
export const AGENT_WORKSPACE = "/home/node/workspace";

/** The value every placeholder credential holds in a bottle; the sidecar injects the real one. */
export const PLACEHOLDER_VALUE = "egress-placeholder";
