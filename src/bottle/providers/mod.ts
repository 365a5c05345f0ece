/**
 * Provider templates (SPEC §10): per template, the agent command with its permission-bypass
 * arguments, and how a prompt, a headless run, a resume and remote control are passed. Pure
 * data; `shell` is the template most tests use. The LLM templates' argv is pinned per CLI
 * version and tested end to end by the providers suite.
 *
 * @module
 */

/** How the agent process is started. */
export interface ProviderTemplate {
  name: string;
  /** The agent's command and permission-bypass arguments. */
  command: readonly string[];
  /** Extra arguments for an interactive run. */
  interactive(opts: { resume: boolean; remoteControl: boolean }): string[];
  /** The full argv of a headless run with `prompt`. */
  headless(prompt: string, opts: { resume: boolean }): string[];
  /** Constant, non-secret environment variables of the agent container. */
  env: Readonly<Record<string, string>>;
  /** Has a remote-control mode. */
  remoteControl: boolean;
}

const PROMPT_FILE = "/home/node/.bot-bottle-prompt.txt";

const shell: ProviderTemplate = {
  name: "shell",
  command: ["bash"],
  interactive: () => ["bash", "-l"],
  headless: (prompt) => ["bash", "-lc", prompt],
  env: {},
  remoteControl: false,
};

const claude: ProviderTemplate = {
  name: "claude",
  command: ["claude", "--dangerously-skip-permissions"],
  interactive: ({ resume, remoteControl }) => [
    "claude",
    "--dangerously-skip-permissions",
    "--append-system-prompt-file",
    PROMPT_FILE,
    ...(resume ? ["--continue"] : []),
    ...(remoteControl ? ["--remote-control"] : []),
  ],
  headless: (prompt, { resume }) => [
    "claude",
    "--dangerously-skip-permissions",
    "--append-system-prompt-file",
    PROMPT_FILE,
    ...(resume ? ["--continue"] : []),
    "-p",
    prompt,
  ],
  env: {
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_ERROR_REPORTING: "1",
    DISABLE_AUTOUPDATER: "1",
  },
  remoteControl: true,
};

const codexInstruction =
  `Follow the instructions in ${PROMPT_FILE} for this session before anything else.`;

const codex: ProviderTemplate = {
  name: "codex",
  command: ["codex", "--dangerously-bypass-approvals-and-sandbox"],
  interactive: ({ resume }) =>
    resume
      ? ["codex", "--dangerously-bypass-approvals-and-sandbox", "resume", "--last"]
      : ["codex", "--dangerously-bypass-approvals-and-sandbox", codexInstruction],
  headless: (prompt, { resume }) =>
    resume
      ? ["codex", "--dangerously-bypass-approvals-and-sandbox", "exec", "resume", "--last", prompt]
      : [
        "codex",
        "--dangerously-bypass-approvals-and-sandbox",
        "exec",
        `${codexInstruction}\n\n${prompt}`,
      ],
  env: {},
  remoteControl: false,
};

const pi: ProviderTemplate = {
  name: "pi",
  command: ["pi"],
  interactive: ({ resume }) => [
    "pi",
    "--append-system-prompt",
    PROMPT_FILE,
    ...(resume ? ["--continue"] : []),
  ],
  headless: (prompt, { resume }) => [
    "pi",
    "--append-system-prompt",
    PROMPT_FILE,
    ...(resume ? ["--continue"] : []),
    "-p",
    prompt,
  ],
  env: {},
  remoteControl: false,
};

/** The builtin templates. */
export const PROVIDER_TEMPLATES: Readonly<Record<string, ProviderTemplate>> = {
  shell,
  claude,
  codex,
  pi,
};

/** Where the agent's prompt is written in its home. */
export const AGENT_PROMPT_FILE = PROMPT_FILE;
