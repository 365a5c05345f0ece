/**
 * Benign provider requests shaped like what the pinned CLIs send (docs/providers.md): claude's
 * Messages request (a `<system-reminder>` user block, a `system`-role environment message, the
 * headless tool list with its schemas, `tool_use` / `tool_result` turns, thinking blocks with
 * signatures, an image) and codex's Responses `response.create` (developer instructions,
 * `<environment_context>`, `custom_tool_call` of `exec` with its JavaScript input and output,
 * reasoning items with `encrypted_content`), with their headers. The material inside is real:
 * source files of npm packages from the Deno cache, a lockfile, registry and docs URLs, a PNG
 * (all committed under `tests/fixtures/dlp/`, see its README), plus UUIDs and git SHAs.
 *
 * @module
 */
import type { RequestParts } from "../../../../../src/sidecar/egress/dlp/mod.ts";
import { seededRandom } from "./corpus.ts";

const FIXTURES = new URL("../../../../fixtures/dlp/", import.meta.url);

/** A fixture file as text. */
export function fixture(path: string): string {
  return Deno.readTextFileSync(new URL(path, FIXTURES));
}

/** The npm source files of the fixtures, `[path, text]`. */
export function npmSources(): [string, string][] {
  const out: [string, string][] = [];
  const walk = (dir: URL, prefix: string) => {
    for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory) walk(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`);
      else {
        const name = e.name.replace(/\.txt$/, "");
        out.push([`${prefix}${name}`, Deno.readTextFileSync(new URL(e.name, dir))]);
      }
    }
  };
  walk(new URL("npm/", FIXTURES), "node_modules/");
  return out;
}

/** The benign URLs of the fixtures. */
export function benignUrls(): string[] {
  return fixture("benign_urls.txt").split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

const HEX = "0123456789abcdef";

class Ids {
  readonly #r: () => number;
  constructor(seed: number) {
    this.#r = seededRandom(seed);
  }
  hex(n: number): string {
    return Array.from({ length: n }, () => HEX[Math.floor(this.#r() * 16)]).join("");
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${
      h.slice(20)
    }`;
  }
  b64(bytes: number): string {
    return btoa(
      String.fromCharCode(...Array.from({ length: bytes }, () => Math.floor(this.#r() * 256))),
    );
  }
  b62(n: number): string {
    const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return Array.from({ length: n }, () => a[Math.floor(this.#r() * a.length)]).join("");
  }
}

/** `cat -n`-style numbered lines, as the Read tool returns them. */
function numbered(text: string): string {
  return text.split("\n").map((l, i) => `${String(i + 1).padStart(6)}\t${l}`).join("\n");
}

function pngBase64(): string {
  const bytes = Deno.readFileSync(new URL("image.png", FIXTURES));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Shell output of the kind agents read: git log, npm install, ls. */
function shellOutput(ids: Ids): string {
  const commits = Array.from(
    { length: 12 },
    (_, i) =>
      `commit ${ids.hex(40)}\nAuthor: Dev ${i} <dev${i}@example.com>\nDate:   Mon Aug ${
        10 + i
      } 10:0${i % 10}:00 2026 +0200\n\n    fix(egress): handle case ${i} of the proxy\n`,
  ).join("\n");
  const npm = Array.from(
    { length: 8 },
    (_, i) =>
      `npm http fetch GET 200 https://registry.npmjs.org/pkg-${i}/-/pkg-${i}-1.${i}.0.tgz ${
        40 + i
      }ms (cache miss)`,
  ).join("\n");
  const ls = Array.from(
    { length: 10 },
    (_, i) =>
      `-rw-r--r--  1 node node  ${1000 + i * 37} Aug 12 10:0${i} file_${i}_${ids.hex(8)}.ts`,
  ).join("\n");
  return `${commits}\n${npm}\nadded 214 packages, and audited 215 packages in 3s\n\n${ls}\n` +
    `docker images\nREPOSITORY   TAG   IMAGE ID       SIZE\nnode   22-slim   ${
      ids.hex(12)
    }   507MB\n` +
    `sha256:${ids.hex(64)}\n`;
}

const TOOLS = [
  "Agent",
  "Bash",
  "Edit",
  "ListAgents",
  "Read",
  "ReportFindings",
  "ScheduleWakeup",
  "Skill",
  "ToolSearch",
  "Workflow",
  "DeferredToolPlaceholder",
  "Write",
];

/** A claude Messages request (POST /v1/messages?beta=true) carrying `sources` as tool results. */
export function claudeRequest(seed = 1): RequestParts {
  const ids = new Ids(seed);
  const sources = npmSources();
  const urls = benignUrls();
  const messages: unknown[] = [
    {
      role: "user",
      content: [
        {
          type: "text",
          text: "<system-reminder>\nAs you answer the user's questions, you can use the " +
            "following context:\n# claudeMd\nUse deno task check before committing.\n" +
            "</system-reminder>",
        },
        { type: "text", text: "Review the auth middleware and the lockfile, then fix the tests." },
      ],
    },
    {
      role: "system",
      content: `Working directory: /work/src\nIs directory a git repo: Yes\nPlatform: linux\n` +
        `Today's date: 2026-08-20\nCurrent branch: fix/${ids.hex(6)}\nStatus:\nM src/app.ts\n`,
    },
  ];
  let turn = 0;
  for (const [path, text] of sources) {
    const id = `toolu_01${ids.b62(22)}`;
    messages.push({
      role: "assistant",
      content: [
        { type: "thinking", thinking: `I should read ${path}.`, signature: ids.b64(180) },
        { type: "text", text: `Reading ${path} (see ${urls[turn % urls.length]}).` },
        { type: "tool_use", id, name: "Read", input: { file_path: `/work/src/${path}` } },
      ],
    });
    messages.push({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: id, content: numbered(text) }],
    });
    turn++;
  }
  const bash = `toolu_01${ids.b62(22)}`;
  messages.push(
    {
      role: "assistant",
      content: [{
        type: "tool_use",
        id: bash,
        name: "Bash",
        input: { command: "git log -12 && npm install && ls -la", description: "Look around" },
      }],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: bash, content: shellOutput(ids) },
        { type: "text", text: `package-lock.json:\n${fixture("package-lock.json")}` },
        { type: "image", source: { type: "base64", media_type: "image/png", data: pngBase64() } },
        { type: "text", text: `Links I looked at:\n${urls.join("\n")}` },
      ],
    },
  );
  const body = {
    model: "claude-sonnet-4-5",
    max_tokens: 32000,
    stream: true,
    metadata: { user_id: `user_${ids.hex(64)}_account_${ids.uuid()}_session_${ids.uuid()}` },
    system: [
      { type: "text", text: "You are Claude Code, Anthropic's official CLI for Claude." },
      { type: "text", text: "Use the tools to read and change files. Never print secrets." },
    ],
    tools: TOOLS.map((name) => ({
      name,
      description: `The ${name} tool. Use it when the task needs it; see the docs.`,
      input_schema: {
        type: "object",
        properties: {
          file_path: { type: "string", description: "The absolute path" },
          command: { type: "string" },
          timeout: { type: "number", description: "Optional timeout in milliseconds" },
        },
        required: [],
        additionalProperties: false,
        $schema: "http://json-schema.org/draft-07/schema#",
      },
    })),
    messages,
  };
  return {
    host: "api.anthropic.com",
    method: "POST",
    path: "/v1/messages",
    query: "beta=true",
    headers: [
      ["accept", "application/json"],
      [
        "anthropic-beta",
        ["claude-code-20250219", "oauth-2025-04-20", "interleaved-thinking-" + "2025-05-14"].join(
          ",",
        ),
      ],
      ["anthropic-dangerous-direct-browser-access", "true"],
      ["anthropic-version", "2023-06-01"],
      ["content-type", "application/json"],
      ["user-agent", "claude-cli/2.1.332 (external, sdk-cli)"],
      ["x-app", "cli"],
      ["x-claude-code-session-id", ids.uuid()],
      ["x-client-request-id", ids.uuid()],
      ["x-stainless-arch", "x64"],
      ["x-stainless-lang", "js"],
      ["x-stainless-os", "Linux"],
      ["x-stainless-package-version", "0.128.0"],
    ],
    body: new TextEncoder().encode(JSON.stringify(body)),
  };
}

/** A codex `response.create` (HTTP fallback: POST /v1/responses) with `sources` as outputs. */
export function codexRequest(seed = 2): RequestParts {
  const ids = new Ids(seed);
  const input: unknown[] = [
    {
      type: "message",
      role: "developer",
      content: [{
        type: "input_text",
        text: "You are Codex, a coding agent. Use the exec tool; apply_patch for edits.",
      }],
    },
    {
      type: "message",
      role: "user",
      content: [{
        type: "input_text",
        text: "<environment_context>\n  <cwd>/work/src</cwd>\n  <approval_policy>never" +
          "</approval_policy>\n  <sandbox_mode>danger-full-access</sandbox_mode>\n  " +
          "<network_access>enabled</network_access>\n  <shell>bash</shell>\n" +
          "</environment_context>",
      }],
    },
    { type: "message", role: "user", content: [{ type: "input_text", text: "Fix the parser." }] },
  ];
  for (const [path, text] of npmSources()) {
    const call = `call_${ids.b62(24)}`;
    input.push(
      {
        type: "reasoning",
        id: `rs_${ids.hex(48)}`,
        summary: [],
        encrypted_content: "gAAAAA" + ids.b64(600),
      },
      {
        type: "custom_tool_call",
        call_id: call,
        name: "exec",
        input: `const r = await tools.exec_command({ cmd: ["cat", "${path}"] });\nreturn r;`,
      },
      {
        type: "custom_tool_call_output",
        call_id: call,
        output: [
          { type: "input_text", text: "Script completed with exit code 0." },
          { type: "input_text", text: JSON.stringify({ output: text, exit_code: 0 }) },
        ],
      },
    );
  }
  const body = {
    model: "gpt-5.1-codex",
    instructions: "",
    input,
    tool_choice: "auto",
    parallel_tool_calls: false,
    reasoning: { effort: "low", context: "all_turns" },
    store: false,
    stream: true,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: ids.uuid(),
    text: { verbosity: "low" },
    client_metadata: { session_id: ids.uuid(), thread_id: ids.uuid(), turn_id: ids.uuid() },
  };
  return {
    host: "api.openai.com",
    method: "POST",
    path: "/v1/responses",
    query: "",
    headers: [
      ["accept", "text/event-stream"],
      ["content-type", "application/json"],
      ["openai-beta", "responses_websockets=2026-02-06"],
      ["originator", "codex_exec"],
      ["user-agent", "codex_exec/0.171.0 (Debian 12.0.0; x86_64) unknown (codex_exec; 0.171.0)"],
      ["version", "0.171.0"],
      ["session-id", ids.uuid()],
      ["thread-id", ids.uuid()],
      ["x-client-request-id", ids.uuid()],
      ["x-codex-beta-features", "remote_compaction_v2"],
      [
        "x-codex-turn-metadata",
        JSON.stringify({ installation_id: ids.uuid(), sandbox: "danger-full-access" }),
      ],
      ["x-openai-internal-codex-responses-lite", "true"],
    ],
    body: new TextEncoder().encode(JSON.stringify(body)),
  };
}

/** GET requests for every benign URL, as an agent on a manifest route sends them. */
export function urlRequests(): RequestParts[] {
  return benignUrls().map((u) => {
    const url = new URL(u);
    return {
      host: url.hostname,
      method: "GET",
      path: url.pathname,
      query: url.search.slice(1),
      headers: [["accept", "*/*"], ["user-agent", "curl/8.5.0"]],
      body: new Uint8Array(0),
    };
  });
}
