/**
 * A tiny MCP server for provider tests: JSON-RPC 2.0 over HTTP POST with plain JSON answers
 * (protocol `2024-11-05`, the transport the supervise server speaks), serving `initialize`,
 * `notifications/initialized` (202), `ping`, `tools/list` (one tool, `fixture-echo`) and
 * `tools/call`; `GET` → 405, other methods → -32601. HTTPS with a test-CA leaf for
 * {@linkcode MCP_FIXTURE_HOST}, on every host address, so a bottle reaches it only through its
 * sidecar with a route `{host: mcp.example.test, upstream: "<containerAddress>:<port>"}`.
 *
 * Every JSON-RPC method received is recorded in {@linkcode McpFixture.methods}.
 *
 * @module
 */
import { serveTestTls } from "./test_ca.ts";
import { bridgeGateway } from "./upstream.ts";

/** The name the fixture's certificate covers. */
export const MCP_FIXTURE_HOST = "mcp.example.test";

/** The fixture's one tool. */
export const MCP_FIXTURE_TOOL = "fixture-echo";

/** A running fixture. */
export interface McpFixture extends AsyncDisposable {
  port: number;
  /** The address containers reach the host at (the `bridge` gateway). */
  containerAddress: string;
  /** The MCP URL as the agent uses it. */
  url: string;
  /** The egress route a bottle needs for it (YAML list item, indented for `routes:`). */
  routeYaml: string;
  /** JSON-RPC methods received, oldest first. */
  methods: string[];
}

/** Starts the fixture. */
export async function startMcpFixture(): Promise<McpFixture> {
  const containerAddress = await bridgeGateway();
  const methods: string[] = [];
  const controller = new AbortController();
  const server = await serveTestTls([MCP_FIXTURE_HOST], controller.signal, async (request) => {
    if (request.method !== "POST") return new Response(null, { status: 405 });
    let body: { id?: unknown; method?: unknown; params?: Record<string, unknown> };
    try {
      body = await request.json();
    } catch {
      return Response.json({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32700, message: "parse error" },
      });
    }
    const method = String(body.method ?? "");
    methods.push(method);
    if (body.id === undefined) return new Response(null, { status: 202 });
    const ok = (result: unknown) => Response.json({ jsonrpc: "2.0", id: body.id, result });
    switch (method) {
      case "initialize":
        return ok({
          protocolVersion: "2024-11-05",
          capabilities: { tools: {} },
          serverInfo: { name: "bot-bottle-test-fixture", version: "1.0.0" },
        });
      case "ping":
        return ok({});
      case "tools/list":
        return ok({
          tools: [{
            name: MCP_FIXTURE_TOOL,
            description: "Echoes its text argument",
            inputSchema: {
              type: "object",
              properties: { text: { type: "string" } },
              required: ["text"],
            },
          }],
        });
      case "tools/call":
        return ok({
          content: [{
            type: "text",
            text: String(body.params?.arguments ? JSON.stringify(body.params.arguments) : ""),
          }],
        });
      default:
        return Response.json({
          jsonrpc: "2.0",
          id: body.id,
          error: { code: -32601, message: "method not found" },
        });
    }
  });
  const port = server.addr.port;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    controller.abort();
    await server.finished;
  };
  return {
    port,
    containerAddress,
    url: `https://${MCP_FIXTURE_HOST}/mcp`,
    routeYaml: `    - host: ${MCP_FIXTURE_HOST}\n      upstream: "${containerAddress}:${port}"`,
    methods,
    [Symbol.asyncDispose]: close,
  };
}
