/**
 * The OpenAI wire formats the fake OpenAI (`fake_openai.ts`) answers with, as plain data: the
 * Responses API stream events (the same JSON objects go out as WebSocket text messages or as
 * SSE `data:` lines) and chat-completions chunks, and how a request's declared tools and
 * conversation are read.
 *
 * @module
 */

/**
 * A shell tool the fake can call, and how its input is shaped: a JSON function tool, or codex's
 * code-mode `exec` (a freeform custom tool whose input is JavaScript calling the nested
 * `tools.exec_command`).
 */
export type ShellTool =
  | {
    kind: "function";
    name: string;
    /** The argument that carries the command (`cmd` for `exec_command`, else `command`). */
    argument: "cmd" | "command";
    /** The command is an argv array (`["bash", "-lc", …]`) rather than a string. */
    array: boolean;
  }
  | { kind: "code"; name: "exec" };

/** Shell-like function tools by preference, as the pinned CLIs declare them. */
const SHELL_TOOL_NAMES = ["exec_command", "shell_command", "shell", "bash"];

/**
 * The tools a request declares, flattened: the top-level `tools` (Responses format `{type,
 * name, parameters}` or chat format `{type: "function", function: {name, parameters}}`), and
 * for Responses requests also the tools of `additional_tools` input items and of `namespace`
 * tools (codex's "responses lite" declares its tools there).
 */
export function declaredTools(
  body: Record<string, unknown>,
  format: "responses" | "chat",
): { type: string; name: string; properties: Record<string, unknown> }[] {
  const out: { type: string; name: string; properties: Record<string, unknown> }[] = [];
  const visit = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const t of list) {
      if (typeof t !== "object" || t === null) continue;
      const tool = t as Record<string, unknown>;
      if (tool.type === "namespace") {
        visit(tool.tools);
        continue;
      }
      const fn = format === "chat" ? tool.function as Record<string, unknown> | undefined : tool;
      if (fn === undefined || typeof fn.name !== "string") continue;
      const parameters = (fn.parameters ?? {}) as Record<string, unknown>;
      out.push({
        type: String(tool.type),
        name: fn.name,
        properties: (parameters.properties ?? {}) as Record<string, unknown>,
      });
    }
  };
  visit(body.tools);
  if (format === "responses" && Array.isArray(body.input)) {
    for (const item of body.input) {
      const it = item as Record<string, unknown>;
      if (it?.type === "additional_tools") visit(it.tools);
    }
  }
  return out;
}

/**
 * Picks the shell tool from the tools a request declares: a function tool named like a shell
 * (argument name and array-ness from its JSON schema), else codex's code-mode `exec` custom tool.
 */
export function pickShellTool(
  body: Record<string, unknown>,
  format: "responses" | "chat",
): ShellTool | undefined {
  const tools = declaredTools(body, format);
  for (const name of SHELL_TOOL_NAMES) {
    const tool = tools.find((t) => t.type === "function" && t.name === name);
    if (tool === undefined) continue;
    const argument = "cmd" in tool.properties ? "cmd" : "command";
    const schema = (tool.properties[argument] ?? {}) as Record<string, unknown>;
    return { kind: "function", name, argument, array: schema.type === "array" };
  }
  if (tools.some((t) => t.type === "custom" && t.name === "exec")) {
    return { kind: "code", name: "exec" };
  }
  return undefined;
}

/** The input of a call of `tool` running `command`: JSON arguments, or code-mode JavaScript. */
export function shellInput(tool: ShellTool, command: string): string {
  if (tool.kind === "code") {
    return [
      `const r = await tools.exec_command({ cmd: ${JSON.stringify(command)} });`,
      "text(typeof r === 'string' ? r : JSON.stringify(r));",
    ].join("\n");
  }
  const value = tool.array ? ["bash", "-lc", command] : command;
  return JSON.stringify({ [tool.argument]: value });
}

/** Whether a Responses request's `input` already holds a tool's output. */
export function responsesHasToolOutput(body: Record<string, unknown>): boolean {
  const input = Array.isArray(body.input) ? body.input : [];
  return input.some((item) =>
    typeof item === "object" && item !== null &&
    /_call_output$/.test(String((item as Record<string, unknown>).type))
  );
}

/** Whether a chat-completions request's `messages` already hold a tool's output. */
export function chatHasToolOutput(body: Record<string, unknown>): boolean {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  return messages.some((m) =>
    typeof m === "object" && m !== null && (m as Record<string, unknown>).role === "tool"
  );
}

/** One answer: optional text, then optionally one shell call. */
export interface AnswerSpec {
  model: string;
  text?: string;
  call?: { tool: ShellTool; command: string; id: number };
}

const USAGE = {
  input_tokens: 120,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 30,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 150,
};

/**
 * The Responses API events of one answer: `response.created`, a message item (added, text
 * deltas, done) when there is text, a function-call item (added, argument deltas, done) when
 * there is a call, then `response.completed` with the output and usage.
 */
export function responsesEvents(spec: AnswerSpec & { responseId: string }): Record<
  string,
  unknown
>[] {
  const created = Math.floor(Date.now() / 1000);
  const base = { id: spec.responseId, object: "response", created_at: created, model: spec.model };
  const events: Record<string, unknown>[] = [];
  const output: Record<string, unknown>[] = [];
  events.push({
    type: "response.created",
    response: { ...base, status: "in_progress", output: [] },
  });
  events.push({ type: "response.in_progress", response: { ...base, status: "in_progress" } });
  if (spec.text !== undefined) {
    const index = output.length;
    const id = `msg_${spec.responseId}`;
    const item = { id, type: "message", status: "in_progress", role: "assistant", content: [] };
    events.push({ type: "response.output_item.added", output_index: index, item });
    const part = { type: "output_text", text: "", annotations: [] };
    events.push({
      type: "response.content_part.added",
      item_id: id,
      output_index: index,
      content_index: 0,
      part,
    });
    for (const delta of halves(spec.text)) {
      events.push({
        type: "response.output_text.delta",
        item_id: id,
        output_index: index,
        content_index: 0,
        delta,
      });
    }
    const done = { type: "output_text", text: spec.text, annotations: [] };
    events.push({
      type: "response.output_text.done",
      item_id: id,
      output_index: index,
      content_index: 0,
      text: spec.text,
    });
    events.push({
      type: "response.content_part.done",
      item_id: id,
      output_index: index,
      content_index: 0,
      part: done,
    });
    const finished = { ...item, status: "completed", content: [done] };
    events.push({ type: "response.output_item.done", output_index: index, item: finished });
    output.push(finished);
  }
  if (spec.call !== undefined) {
    const index = output.length;
    const id = `fc_${spec.responseId}`;
    const input = shellInput(spec.call.tool, spec.call.command);
    const custom = spec.call.tool.kind === "code";
    const field = custom ? "input" : "arguments";
    const stream = custom ? "custom_tool_call_input" : "function_call_arguments";
    const item = {
      id,
      type: custom ? "custom_tool_call" : "function_call",
      status: "in_progress",
      call_id: `call_fake_${spec.call.id}`,
      name: spec.call.tool.name,
      [field]: "",
    };
    events.push({ type: "response.output_item.added", output_index: index, item });
    for (const delta of halves(input)) {
      events.push({ type: `response.${stream}.delta`, item_id: id, output_index: index, delta });
    }
    events.push({
      type: `response.${stream}.done`,
      item_id: id,
      output_index: index,
      [field]: input,
    });
    const finished = { ...item, status: "completed", [field]: input };
    events.push({ type: "response.output_item.done", output_index: index, item: finished });
    output.push(finished);
  }
  events.push({
    type: "response.completed",
    response: { ...base, status: "completed", output, usage: USAGE },
  });
  return events.map((e, i) => ({ ...e, sequence_number: i }));
}

/**
 * The chat-completions chunks of one answer: the role, text deltas, a `tool_calls` delta with
 * the call's id and name then its arguments in pieces, the finish reason, and a usage chunk.
 */
export function chatChunks(spec: AnswerSpec & { id: string }): Record<string, unknown>[] {
  const base = {
    id: spec.id,
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model: spec.model,
  };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const chunks = [chunk({ role: "assistant", content: "" })];
  if (spec.text !== undefined) {
    for (const content of halves(spec.text)) chunks.push(chunk({ content }));
  }
  if (spec.call !== undefined) {
    chunks.push(chunk({
      tool_calls: [{
        index: 0,
        id: `call_fake_${spec.call.id}`,
        type: "function",
        function: { name: spec.call.tool.name, arguments: "" },
      }],
    }));
    for (const part of halves(shellInput(spec.call.tool, spec.call.command))) {
      chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }));
    }
  }
  chunks.push(chunk({}, spec.call !== undefined ? "tool_calls" : "stop"));
  chunks.push({
    ...base,
    choices: [],
    usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 },
  } as unknown as ReturnType<typeof chunk>);
  return chunks;
}

/**
 * `text` in two pieces, so clients must join deltas; cut at a space near the middle when there
 * is one, so a word (an echoed key, say) stays whole in one delta.
 */
function halves(text: string): string[] {
  if (text.length < 2) return [text];
  const space = text.lastIndexOf(" ", Math.floor(text.length / 2));
  const mid = space > 0 ? space : Math.floor(text.length / 2);
  return [text.slice(0, mid), text.slice(mid)];
}
