/**
 * A fake OpenAI for agent end-to-end tests: a real HTTPS server (`Deno.serve`, a test-CA leaf
 * from `test_ca.ts`) that the sidecar reaches through a route `upstream`, so the agent sees the
 * real hostname (`api.openai.com`, or a pi model host) and the bottle's CA. It speaks the wire
 * formats the pinned CLIs use (see `docs/providers.md`):
 *
 * - **Responses API over a WebSocket** (codex's first choice): `GET /v1/responses` with
 *   `Upgrade: websocket`; the client sends `{"type":"response.create", model, instructions,
 *   input, tools, …}` as a text message (and may send `{"type":"response.processed"}` after a
 *   turn); each answer is a series of text messages, one JSON event each, the same events as the
 *   SSE stream below, ending with `response.completed`.
 * - **Responses API over HTTP SSE** (codex's fallback): `POST /v1/responses`, `stream: true`,
 *   `text/event-stream` with `event: <type>` / `data: <json>` pairs.
 * - **Chat completions** (pi's `openai-completions`): `POST /v1/chat/completions`, `stream:
 *   true`, `data: {choices: [{delta}]}` chunks, `tool_calls` deltas, then `data: [DONE]`.
 *
 * Every conversation follows one script: when the request holds no tool output yet, the fake
 * answers with one call of the agent's shell tool running {@linkcode FakeOpenAiOptions.command};
 * once the tool output comes back, it answers with {@linkcode FakeOpenAiOptions.finalText}. The
 * shell tool is picked from the tools the request declares (see {@linkcode pickShellTool}).
 *
 * Requests without `Authorization: Bearer <token>` get a 401 and are counted in
 * {@linkcode FakeOpenAi.authFailures}; everything is recorded for the tests and for the
 * provider documentation.
 *
 * @module
 */
import { serveTestTls } from "./test_ca.ts";
import { bridgeGateway } from "./upstream.ts";
import {
  chatChunks,
  chatHasToolOutput,
  pickShellTool,
  responsesEvents,
  responsesHasToolOutput,
  type ShellTool,
} from "./openai_wire.ts";

export { pickShellTool, type ShellTool } from "./openai_wire.ts";

/** One HTTP request (an upgrade included) as the fake saw it. */
export interface FakeRequest {
  method: string;
  /** `Host`, lower-cased. */
  host: string;
  path: string;
  query: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  /** The parsed JSON body, or `undefined` when there was none or it was not JSON. */
  json: unknown;
  /** How the fake answered. */
  status: number;
  at: number;
}

/** One WebSocket message, either way. */
export interface FakeWsMessage {
  /** `in`: from the agent (through the sidecar); `out`: sent by the fake. */
  direction: "in" | "out";
  kind: "text" | "binary";
  data: string;
  at: number;
}

/** One model turn the fake answered. */
export interface FakeTurn {
  transport: "websocket" | "sse" | "chat";
  /** The request body (the `response.create` message for WebSockets). */
  request: Record<string, unknown>;
  /** `prewarm`: codex's `generate: false` request, answered with an empty response. */
  answer: "prewarm" | "tool_call" | "final";
  /** The shell tool the fake called (tool-call answers). */
  tool?: ShellTool;
}

/** Options of {@linkcode startFakeOpenAi}. */
export interface FakeOpenAiOptions {
  /** The credential the agent's requests must carry as `Authorization: Bearer <token>`. */
  token: string;
  /** The shell command the fake asks the agent to run in its first answer. */
  command: string;
  /** The text of the final answer. */
  finalText: string;
  /** Names the certificate covers besides `api.openai.com` and `chatgpt.com`. */
  extraHosts?: string[];
  /** Accept WebSocket upgrades on `/v1/responses` (default true); else answer 404. */
  websocket?: boolean;
  /**
   * Held before the final answer is sent: the tool has run and the agent waits for the model,
   * so a test can look inside the bottle while the agent process is alive.
   */
  holdFinal?: Promise<void>;
}

/** A running fake. */
export interface FakeOpenAi extends AsyncDisposable {
  /** The HTTPS port (on every host address). */
  port: number;
  /** The address containers reach the host at: the `bridge` network's gateway. */
  containerAddress: string;
  /** `<containerAddress>:<port>`, for a route `upstream`. */
  upstream: string;
  /** Every request, oldest first. */
  requests: FakeRequest[];
  /** Every WebSocket message, both ways, oldest first. */
  wsMessages: FakeWsMessage[];
  /** Every turn answered, oldest first. */
  turns: FakeTurn[];
  /** Requests refused for a missing or wrong credential. */
  authFailures: number;
  /** `Date.now()` of the first request, or `undefined`. */
  firstRequestAt(): number | undefined;
  /** Resolves once `test()` holds (checked every 50 ms); rejects after `timeoutMs`. */
  until(test: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Hosts the certificate always covers. */
export const OPENAI_HOSTS = ["api.openai.com", "chatgpt.com"] as const;

/**
 * Starts the fake on every address of the host.
 *
 * @throws {Error} when the bridge gateway cannot be found or the port cannot be bound.
 */
export async function startFakeOpenAi(options: FakeOpenAiOptions): Promise<FakeOpenAi> {
  const containerAddress = await bridgeGateway();
  const state: State = {
    options,
    requests: [],
    wsMessages: [],
    turns: [],
    authFailures: 0,
  };
  const controller = new AbortController();
  const server = await serveTestTls(
    [...OPENAI_HOSTS, ...(options.extraHosts ?? [])],
    controller.signal,
    (request) => handle(request, state),
  );
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    controller.abort();
    for (const socket of state.sockets ?? []) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
    await server.finished;
  };
  return {
    port: server.addr.port,
    containerAddress,
    upstream: `${containerAddress}:${server.addr.port}`,
    requests: state.requests,
    wsMessages: state.wsMessages,
    turns: state.turns,
    get authFailures() {
      return state.authFailures;
    },
    firstRequestAt: () => state.requests[0]?.at,
    async until(test, what, timeoutMs = 300_000) {
      const deadline = Date.now() + timeoutMs;
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`The fake OpenAI timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

interface State {
  options: FakeOpenAiOptions;
  requests: FakeRequest[];
  wsMessages: FakeWsMessage[];
  turns: FakeTurn[];
  authFailures: number;
  sockets?: Set<WebSocket>;
}

async function handle(request: Request, state: State): Promise<Response> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
  const upgrade = (headers.upgrade ?? "").toLowerCase() === "websocket";
  let json: unknown = undefined;
  if (!upgrade && request.body !== null) {
    const text = await request.text();
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  const entry: FakeRequest = {
    method: request.method,
    host: (headers.host ?? url.host).toLowerCase(),
    path: url.pathname,
    query: url.search.replace(/^\?/, ""),
    headers,
    json,
    status: 0,
    at: Date.now(),
  };
  const answer = (response: Response) => {
    entry.status = response.status;
    state.requests.push(entry);
    return response;
  };
  if (headers.authorization !== `Bearer ${state.options.token}`) {
    state.authFailures++;
    return answer(Response.json({
      error: {
        message: "Incorrect API key provided (fake OpenAI).",
        type: "invalid_request_error",
        code: "invalid_api_key",
      },
    }, { status: 401 }));
  }
  const path = url.pathname.replace(/\/+$/, "");
  if (path.endsWith("/responses") && upgrade) {
    if (state.options.websocket === false) {
      return answer(Response.json({ error: { message: "no websockets here" } }, { status: 404 }));
    }
    return answer(websocket(request, state));
  }
  if (path.endsWith("/responses") && request.method === "POST") {
    return answer(await responsesSse(asObject(json), state));
  }
  if (path.endsWith("/chat/completions") && request.method === "POST") {
    return answer(await chatSse(asObject(json), state));
  }
  if (path.endsWith("/models") && request.method === "GET") {
    return answer(Response.json({ object: "list", data: [] }));
  }
  return answer(Response.json({ error: { message: `not found: ${url.pathname}` } }, {
    status: 404,
  }));
}

function modelOf(body: Record<string, unknown>): string {
  return typeof body.model === "string" ? body.model : "fake-model";
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/** The next Responses answer for `body`, recorded as a turn. */
async function responsesTurn(
  body: Record<string, unknown>,
  state: State,
  transport: "websocket" | "sse",
): Promise<Record<string, unknown>[]> {
  const n = state.turns.length + 1;
  if (body.generate === false) {
    // codex's prewarm: an empty answer, so the connection and the cache are warm.
    state.turns.push({ transport, request: body, answer: "prewarm" });
    return responsesEvents({ responseId: `resp_fake_${n}`, model: modelOf(body) });
  }
  const final = responsesHasToolOutput(body);
  const tool = final ? undefined : pickShellTool(body, "responses");
  state.turns.push({ transport, request: body, answer: final ? "final" : "tool_call", tool });
  if (final) await state.options.holdFinal;
  return responsesEvents({
    responseId: `resp_fake_${n}`,
    model: modelOf(body),
    call: tool === undefined ? undefined : { tool, command: state.options.command, id: n },
    text: final ? state.options.finalText : undefined,
  });
}

function websocket(request: Request, state: State): Response {
  const { socket, response } = Deno.upgradeWebSocket(request);
  state.sockets ??= new Set();
  state.sockets.add(socket);
  const send = (data: string) => {
    state.wsMessages.push({ direction: "out", kind: "text", data, at: Date.now() });
    socket.send(data);
  };
  socket.onmessage = async (event) => {
    if (typeof event.data !== "string") {
      state.wsMessages.push({ direction: "in", kind: "binary", data: "", at: Date.now() });
      return;
    }
    state.wsMessages.push({ direction: "in", kind: "text", data: event.data, at: Date.now() });
    let message: Record<string, unknown>;
    try {
      message = asObject(JSON.parse(event.data));
    } catch {
      return;
    }
    if (message.type !== "response.create") return;
    for (const e of await responsesTurn(message, state, "websocket")) send(JSON.stringify(e));
  };
  socket.onclose = () => state.sockets?.delete(socket);
  socket.onerror = () => {};
  return response;
}

async function responsesSse(body: Record<string, unknown>, state: State): Promise<Response> {
  const events = await responsesTurn(body, state, "sse");
  const text = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("");
  return new Response(text, {
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
  });
}

async function chatSse(body: Record<string, unknown>, state: State): Promise<Response> {
  const n = state.turns.length + 1;
  const final = chatHasToolOutput(body);
  const tool = final ? undefined : pickShellTool(body, "chat");
  state.turns.push({
    transport: "chat",
    request: body,
    answer: final ? "final" : "tool_call",
    tool,
  });
  if (final) await state.options.holdFinal;
  const chunks = chatChunks({
    id: `chatcmpl-fake-${n}`,
    model: modelOf(body),
    call: tool === undefined ? undefined : { tool, command: state.options.command, id: n },
    text: final ? state.options.finalText : undefined,
  });
  const text = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";
  return new Response(text, {
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
  });
}
