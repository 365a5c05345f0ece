/**
 * One request of a connection, from its head to the end of its answer (SPEC §7.2): the target
 * parsed, `_egress.local` answered, the framing checked, the request decided (`decide.ts`,
 * steps 2–6; a name under a suffix route also counts against that route's distinct names per
 * minute, `suffix_routes.ts`), then forwarded while its body arrives (`streamed.ts`) or read whole first
 * (`forward_request.ts`, where `flow.ts` plans steps 7–9).
 *
 * @module
 */
import { routeTable } from "../control/config.ts";
import { writeTo } from "./conn.ts";
import type { AgentSide, ProxyContext } from "./context.ts";
import {
  agentHeadersToForward,
  type Block,
  decideRequest,
  INTROSPECTION_HOST,
  isBlock,
  type Route,
} from "./decide.ts";
import { StreamedRequestScan } from "./dlp/mod.ts";
import { canStream, routePolicy } from "./flow.ts";
import { type AllowedRequest, forwardBuffered } from "./forward_request.ts";
import {
  type BodyFraming,
  headerValue,
  parseTarget,
  requestFraming,
  type RequestHead,
} from "./http1.ts";
import { jsonResponse } from "./respond.ts";
import { forwardStreamed } from "./streamed.ts";
import { namesPerMinute } from "./suffix_routes.ts";

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** Handles one request; returns whether the agent's connection stays open. */
export async function handleRequest(
  ctx: ProxyContext,
  agent: AgentSide,
  head: RequestHead,
): Promise<boolean> {
  const state = ctx.state();
  const { out, tunnel } = agent;
  const tunnelHost = tunnel?.host ?? null;
  let target;
  try {
    target = parseTarget(head.target, head.method);
  } catch (error) {
    const b: Block = { block: "malformed_request", message: (error as Error).message };
    await ctx.responder.refuse(out, b, { host: tunnelHost, method: head.method }, false);
    return false;
  }
  if (!tunnel && target.host === INTROSPECTION_HOST) {
    return await introspect(agent, head, target.path, () => routeTable(state.routes));
  }
  const site = { host: tunnelHost ?? target.host ?? null, method: head.method, path: target.path };
  let framing: BodyFraming;
  try {
    framing = requestFraming(head.headers);
  } catch (error) {
    const b: Block = {
      block: "malformed_request",
      message: `The request is malformed: ${(error as Error).message}.`,
    };
    await ctx.responder.refuse(out, b, site, false);
    return false;
  }
  const allow = decideRequest(state.routes, {
    tunnel,
    method: head.method,
    target,
    headers: head.headers,
  });
  if (isBlock(allow)) {
    // The body is not read: close, so its bytes never count as a next request.
    await ctx.responder.refuse(out, allow, site, framing.kind === "none");
    return framing.kind === "none";
  }
  const route = allow.route;
  const capped = suffixCap(ctx, route, allow.host);
  if (capped !== null) {
    await ctx.responder.refuse(out, capped, site, framing.kind === "none");
    return framing.kind === "none";
  }
  const upgrade = (headerValue(head.headers, "upgrade") ?? "").toLowerCase() === "websocket";
  const req: AllowedRequest = { head, allow, state, policy: routePolicy(route), upgrade };
  // A client waiting for 100 Continue (curl does above 1 MiB) is told to send the body now;
  // the proxy forwards the whole body itself, so Expect never goes upstream.
  if (
    framing.kind !== "none" &&
    !(framing.kind === "length" && framing.length > route.maxBodyBytes) &&
    (headerValue(head.headers, "expect") ?? "").toLowerCase() === "100-continue"
  ) {
    await writeTo(out, CONTINUE);
  }
  const length = framing.kind === "length" ? framing.length : null;
  if (length !== null && canStream(state, route, { length, upgrade })) {
    const headers = agentHeadersToForward(head.headers, true);
    const parts = {
      host: allow.host,
      method: head.method,
      path: allow.path,
      query: allow.query,
      headers,
      body: new Uint8Array(0),
    };
    const scan = StreamedRequestScan.open(parts, length, req.policy.limits, {
      detectors: req.policy.detectors,
      secrets: state.secrets,
    });
    if (scan !== null) return await forwardStreamed(ctx, agent, { ...req, length, scan, headers });
  }
  return await forwardBuffered(ctx, agent, req, framing);
}

/**
 * The block of a name under a suffix route past the route's distinct names per minute
 * (`suffix_routes.ts`), or null.
 */
function suffixCap(ctx: ProxyContext, route: Route, host: string): Block | null {
  if (route.suffix === null || ctx.suffixNames === undefined) return null;
  const cap = namesPerMinute(route);
  if (ctx.suffixNames.admit(route.suffix, host, cap, Date.now())) return null;
  return {
    block: "host_not_allowlisted",
    message: `${host} is refused: the route for *.${route.suffix} admits at most ${cap} ` +
      "distinct names per minute, and that many were used in the last minute.",
  };
}

/** Answers `http://_egress.local/…` (SPEC §7.8): the live routes, never values. */
async function introspect(
  agent: AgentSide,
  head: RequestHead,
  path: string,
  routes: () => unknown,
): Promise<boolean> {
  if (requestFraming(head.headers).kind !== "none") return false;
  if (head.method === "GET" && path === "/allowlist") {
    await writeTo(agent.out, jsonResponse(200, routes()));
  } else {
    await writeTo(agent.out, jsonResponse(404, { error: "not_found", endpoints: ["/allowlist"] }));
  }
  return true;
}

/** The agent asked to close after this request (`Connection: close`, or HTTP/1.0). */
export function wantsClose(head: RequestHead): boolean {
  const connection = (headerValue(head.headers, "connection") ?? "").toLowerCase();
  return /\bclose\b/.test(connection) ||
    (head.version === "HTTP/1.0" && !/\bkeep-alive\b/.test(connection));
}
