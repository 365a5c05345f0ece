/**
 * A fake Anthropic API for end-to-end tests of the real Claude Code CLI: an HTTPS server
 * (`Deno.serve`, a test-CA leaf from `test_ca.ts` for `api.anthropic.com`) that speaks the wire
 * format claude-code 2.1.332 uses. Bottles reach it the way `upstream.ts` fixtures are reached: a
 * route for `api.anthropic.com` with `upstream: "<containerAddress>:<port>"`, so the agent sees
 * the real hostname, the sidecar dials the fake and checks its certificate against the test CA
 * (`BOT_BOTTLE_EXTRA_CA_CERTS`, set by `cli.ts`).
 *
 * Endpoints:
 * - `POST /v1/messages` — the Messages API. With `"stream": true` an SSE stream (`message_start`,
 *   `content_block_start`, `ping`, `content_block_delta` with `text_delta` or
 *   `input_json_delta`, `content_block_stop`, `message_delta` with the stop reason,
 *   `message_stop`), else one JSON message. What the model answers is decided by
 *   {@linkcode FakeAnthropicOptions.script} for conversation requests (those that offer the
 *   scripted tool); every other request (title or topic side queries, the quota probe) gets a
 *   one-line text.
 * - `POST /v1/messages/count_tokens` — `{input_tokens}`.
 * - `GET /api/claude_code/settings` — 404 with a request id: "no managed settings" (a 404
 *   without `request-id` is taken for a proxy's answer).
 * - `GET /api/claude_code/policy_limits` — `{restrictions: {}}`: no restrictions.
 * - `GET /api/web/domain_info?domain=D` — `{domain, can_fetch: true}` (WebFetch's preflight).
 * - `GET /v1/models` — one model.
 * - `GET /api/hello`, `GET /v1/oauth/hello` — 200 (the first-run connectivity check).
 * - anything else — 404 JSON in Anthropic's error shape, recorded like every request; so is
 *   every request to another host routed to the fake (`extraHosts`, for discovering what the CLI
 *   calls), without a credential check.
 *
 * Every response carries `request-id`. Every request is recorded in
 * {@linkcode FakeAnthropic.requests}; the credential headers (`authorization`, `x-api-key`) are
 * recorded only as a comparison with the real token ({@linkcode CredentialSeen}), never as a
 * value. A request whose credential is not the real token is answered 401 like the real API.
 *
 * @module
 */
import { serveTestTls } from "./test_ca.ts";
import { bridgeGateway } from "./upstream.ts";

/** The host name the fake's certificate covers first. */
export const ANTHROPIC_HOST = "api.anthropic.com";

/** How a credential header compared with the real token. */
export type CredentialSeen =
  | "absent"
  | "real"
  | "placeholder"
  | "other";

/** One request as the fake saw it. */
export interface AnthropicRequest {
  method: string;
  /** `Host` / `:authority`, lower-cased. */
  host: string;
  path: string;
  /** The raw query string without `?` (may be empty). */
  query: string;
  /** Header names, lower-cased and sorted. */
  headerNames: string[];
  /** Non-credential headers (lower-cased names); credential headers are left out. */
  headers: Record<string, string>;
  /** `authorization` compared with `Bearer <token>`. */
  authorization: CredentialSeen;
  /** `x-api-key` compared with the token. */
  apiKey: CredentialSeen;
  /** The parsed JSON body, or `null` (no body or not JSON). */
  body: Record<string, unknown> | null;
  /** The body's top-level keys, sorted. */
  bodyKeys: string[];
  /** The status the fake answered. */
  status: number;
  /** `Date.now()` when it arrived. */
  at: number;
}

/** A tool call the model makes. */
export interface ToolCall {
  name: string;
  input: Record<string, unknown>;
}

/** What the model answers to one conversation request. */
export type ModelMove = { toolUse: ToolCall; text?: string } | { text: string };

/** The body of a Messages API request, as far as the script reads it. */
export interface MessagesBody {
  model?: string;
  stream?: boolean;
  messages?: { role: string; content: string | ContentBlock[] }[];
  tools?: { name: string }[];
  system?: unknown;
  [key: string]: unknown;
}

/** One content block of a message. */
export interface ContentBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: unknown;
}

/** Options of {@linkcode startFakeAnthropic}. */
export interface FakeAnthropicOptions {
  /** The real credential: the fake accepts `Authorization: Bearer <token>` or `x-api-key`. */
  token: string;
  /** The value the agent holds instead (to tell a leaked placeholder from another value). */
  placeholder?: string;
  /** The tool a conversation request must offer to be scripted (default `Bash`). */
  tool?: string;
  /** The model's move for a conversation request; default {@linkcode toolThenText}. */
  script?: (body: MessagesBody) => ModelMove;
  /** More names for the certificate (hosts routed to the fake besides `api.anthropic.com`). */
  extraHosts?: string[];
}

/** A running fake. */
export interface FakeAnthropic extends AsyncDisposable {
  port: number;
  /** The address containers reach the host at: the `bridge` network's gateway. */
  containerAddress: string;
  /** `"<containerAddress>:<port>"`, for a route's `upstream`. */
  upstream: string;
  /** Every request so far, oldest first. */
  requests: AnthropicRequest[];
  /** Resolves with the first request that arrives (for timing). */
  firstRequest: Promise<AnthropicRequest>;
  close(): Promise<void>;
}

/**
 * The default script: to a new prompt the model answers with `call`; once the last user message
 * carries a `tool_result`, with `text`.
 */
export function toolThenText(call: ToolCall, text: string): (body: MessagesBody) => ModelMove {
  return (body) => (lastToolResult(body) === undefined ? { toolUse: call } : { text });
}

/**
 * The last message that is not a `system` one: claude-code 2.1.332 sends its environment as a
 * `system`-role message right after the first user message, so that one may come last.
 */
function lastTurnMessage(body: MessagesBody) {
  return body.messages?.findLast((m) => m.role !== "system");
}

/** The text of the last `tool_result` block of the last user message, if it has one. */
export function lastToolResult(body: MessagesBody): string | undefined {
  const last = lastTurnMessage(body);
  if (last === undefined || last.role !== "user" || typeof last.content === "string") {
    return undefined;
  }
  const result = last.content.find((b) => b.type === "tool_result");
  if (result === undefined) return undefined;
  return typeof result.content === "string" ? result.content : JSON.stringify(result.content ?? "");
}

/** Every text of the user's messages (plain strings and `text` blocks), oldest first. */
export function userTexts(body: MessagesBody): string[] {
  const out: string[] = [];
  for (const m of body.messages ?? []) {
    if (m.role !== "user") continue;
    if (typeof m.content === "string") out.push(m.content);
    else for (const b of m.content) if (b.type === "text" && b.text) out.push(b.text);
  }
  return out;
}

/** The last text block of the last user message (the prompt of a new turn), if any. */
export function lastUserText(body: MessagesBody): string | undefined {
  const last = lastTurnMessage(body);
  if (last === undefined || last.role !== "user") return undefined;
  if (typeof last.content === "string") return last.content;
  return last.content.filter((b) => b.type === "text" && b.text).at(-1)?.text;
}

/** Whether a recorded request is a scripted conversation request (it offers the tool). */
export function isConversation(request: AnthropicRequest, tool = "Bash"): boolean {
  const tools = request.body?.tools;
  return request.path === "/v1/messages" && Array.isArray(tools) &&
    tools.some((t) => (t as { name?: string }).name === tool);
}

/**
 * Starts the fake on every host address.
 *
 * @throws {Error} when the bridge gateway cannot be found or a port cannot be bound.
 */
export async function startFakeAnthropic(options: FakeAnthropicOptions): Promise<FakeAnthropic> {
  const containerAddress = await bridgeGateway();
  const requests: AnthropicRequest[] = [];
  let first: (r: AnthropicRequest) => void = () => {};
  const firstRequest = new Promise<AnthropicRequest>((resolve) => (first = resolve));
  const state: State = {
    options,
    tool: options.tool ?? "Bash",
    script: options.script ?? toolThenText(
      { name: "Bash", input: { command: "true", description: "Do nothing" } },
      "Done.",
    ),
    requests,
    record: (r) => {
      requests.push(r);
      if (requests.length === 1) first(r);
    },
    ids: 0,
  };
  const controller = new AbortController();
  const server = await serveTestTls(
    [ANTHROPIC_HOST, ...(options.extraHosts ?? [])],
    controller.signal,
    (request) => handle(request, state),
  );
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    controller.abort();
    await server.finished;
  };
  const port = server.addr.port;
  return {
    port,
    containerAddress,
    upstream: `${containerAddress}:${port}`,
    requests,
    firstRequest,
    close,
    [Symbol.asyncDispose]: close,
  };
}

interface State {
  options: FakeAnthropicOptions;
  tool: string;
  script: (body: MessagesBody) => ModelMove;
  requests: AnthropicRequest[];
  record(r: AnthropicRequest): void;
  ids: number;
}

const CREDENTIAL_HEADERS = new Set(["authorization", "x-api-key"]);

function compare(value: string | null, real: string, placeholder: string | undefined) {
  if (value === null) return "absent" as const;
  if (value === real) return "real" as const;
  if (placeholder !== undefined && value.includes(placeholder)) return "placeholder" as const;
  return "other" as const;
}

async function handle(request: Request, state: State): Promise<Response> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  });
  const headerNames = [...request.headers.keys()].map((n) => n.toLowerCase()).sort();
  const { token, placeholder } = state.options;
  const authorization = compare(
    request.headers.get("authorization"),
    `Bearer ${token}`,
    placeholder,
  );
  const apiKey = compare(request.headers.get("x-api-key"), token, placeholder);
  const text = request.body === null ? "" : await request.text();
  let body: Record<string, unknown> | null = null;
  try {
    const parsed = text === "" ? null : JSON.parse(text);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) body = parsed;
  } catch {
    body = null;
  }
  const entry: AnthropicRequest = {
    method: request.method,
    host: (request.headers.get("host") ?? url.host).toLowerCase(),
    path: url.pathname,
    query: url.search.replace(/^\?/, ""),
    headerNames,
    headers,
    authorization,
    apiKey,
    body,
    bodyKeys: body === null ? [] : Object.keys(body).sort(),
    status: 0,
    at: Date.now(),
  };
  const response = route(entry, state);
  entry.status = response.status;
  state.record(entry);
  response.headers.set("request-id", `req_fake${String(++state.ids).padStart(6, "0")}`);
  return response;
}

function apiError(status: number, type: string, message: string): Response {
  return Response.json({ type: "error", error: { type, message } }, { status });
}

function route(entry: AnthropicRequest, state: State): Response {
  const { method, path } = entry;
  // The connectivity check of the first-run screens is unauthenticated.
  if (method === "GET" && (path === "/api/hello" || path === "/v1/oauth/hello")) {
    return Response.json({ message: "hello" });
  }
  if (entry.host !== ANTHROPIC_HOST) {
    return apiError(404, "not_found_error", `fake: nothing served for ${entry.host}`);
  }
  if (entry.authorization !== "real" && entry.apiKey !== "real") {
    return apiError(401, "authentication_error", "invalid x-api-key");
  }
  if (method === "GET" && path === "/api/claude_code/settings") {
    return apiError(404, "not_found_error", "no managed settings");
  }
  if (method === "GET" && path === "/api/claude_code/policy_limits") {
    return Response.json({ restrictions: {} });
  }
  if (method === "GET" && path === "/api/web/domain_info") {
    // WebFetch's preflight: may the agent fetch this domain (it still needs its own route)?
    return Response.json({
      domain: new URLSearchParams(entry.query).get("domain"),
      can_fetch: true,
    });
  }
  if (method === "GET" && path === "/v1/models") {
    return Response.json({
      data: [{
        type: "model",
        id: "claude-sonnet-4-5",
        display_name: "Claude Sonnet 4.5",
        created_at: "2025-09-29T00:00:00Z",
      }],
      has_more: false,
      first_id: "claude-sonnet-4-5",
      last_id: "claude-sonnet-4-5",
    });
  }
  if (method === "POST" && path === "/v1/messages/count_tokens") {
    return Response.json({ input_tokens: 1000 });
  }
  if (method === "POST" && path === "/v1/messages") {
    if (entry.body === null) return apiError(400, "invalid_request_error", "body is not JSON");
    const body = entry.body as MessagesBody;
    const scripted = isConversation(entry, state.tool);
    const move: ModelMove = scripted ? state.script(body) : { text: "Fake reply." };
    return answer(body, move, state);
  }
  return apiError(404, "not_found_error", `fake: no such endpoint ${method} ${path}`);
}

interface Block {
  type: "text" | "tool_use";
  text?: string;
  id?: string;
  name?: string;
  input?: Record<string, unknown>;
}

function answer(body: MessagesBody, move: ModelMove, state: State): Response {
  const blocks: Block[] = [];
  if (move.text !== undefined) blocks.push({ type: "text", text: move.text });
  if ("toolUse" in move) {
    blocks.push({
      type: "tool_use",
      id: `toolu_fake${String(++state.ids).padStart(6, "0")}`,
      name: move.toolUse.name,
      input: move.toolUse.input,
    });
  }
  const stopReason = "toolUse" in move ? "tool_use" : "end_turn";
  const message = {
    id: `msg_fake${String(++state.ids).padStart(6, "0")}`,
    type: "message",
    role: "assistant",
    model: body.model ?? "claude-sonnet-4-5",
    stop_sequence: null,
    usage: {
      input_tokens: 100,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 20,
    },
  };
  if (body.stream !== true) {
    return Response.json({ ...message, content: blocks, stop_reason: stopReason });
  }
  return new Response(sseBody(message, blocks, stopReason), {
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
  });
}

/** The SSE events of one streamed message, text split into two deltas, JSON into chunks. */
function sseBody(
  message: Record<string, unknown>,
  blocks: Block[],
  stopReason: string,
): ReadableStream<Uint8Array> {
  const events: [string, unknown][] = [
    ["message_start", {
      type: "message_start",
      message: {
        ...message,
        content: [],
        stop_reason: null,
        usage: { ...(message.usage as object), output_tokens: 1 },
      },
    }],
  ];
  blocks.forEach((block, index) => {
    if (block.type === "text") {
      events.push(["content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      }]);
      events.push(["ping", { type: "ping" }]);
      const t = block.text ?? "";
      const half = Math.ceil(t.length / 2);
      for (const part of [t.slice(0, half), t.slice(half)]) {
        if (part === "") continue;
        events.push(["content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "text_delta", text: part },
        }]);
      }
    } else {
      events.push(["content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      }]);
      const json = JSON.stringify(block.input ?? {});
      for (let i = 0; i < json.length; i += 24) {
        events.push(["content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: json.slice(i, i + 24) },
        }]);
      }
    }
    events.push(["content_block_stop", { type: "content_block_stop", index }]);
  });
  events.push(["message_delta", {
    type: "message_delta",
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: 20 },
  }]);
  events.push(["message_stop", { type: "message_stop" }]);
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i >= events.length) return controller.close();
      const [event, data] = events[i++];
      controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      // Separate reads on the client, as a real stream arrives.
      await new Promise((r) => setTimeout(r, 5));
    },
  });
}
