/**
 * Forwarding a request read whole (SPEC §7.2 steps 7–9): the body is read up to the route's
 * cap, scanned, planned by `flow.ts` (forward, redacted or not, or block), then written
 * upstream in one piece and the response relayed back; a WebSocket upgrade is relayed frame by
 * frame after its 101. Also {@linkcode acquireOrAnswer}, the one way both forwarding paths get
 * an upstream connection.
 *
 * A held request (supervise, SPEC §7.4) waits here: `planForward` returns a hold, the exchange
 * awaits the approver's decision with the body still in memory (`held.ts`), then forwards the
 * request as sent or answers the block.
 *
 * @module
 */
import { BodyTooLarge, writeTo } from "./conn.ts";
import type { AgentSide, ProxyContext } from "./context.ts";
import { agentHeadersToForward, type Allow, type Block, isBlock } from "./decide.ts";
import { scanInbound, scanRequest } from "./dlp/mod.ts";
import {
  type FlowState,
  type Forward,
  isHold,
  planForward,
  primaryFinding,
  type RoutePolicy,
} from "./flow.ts";
import { outboundMessage } from "./ws_outbound.ts";
import { awaitDecision } from "./held.ts";
import { readResponseHead, relayResponse, type ResponseContext } from "./forward_response.ts";
import {
  type BodyFraming,
  type RequestHead,
  type ResponseHead,
  serializeRequestHead,
  serializeResponseHead,
} from "./http1.ts";
import type { EgressState } from "./state.ts";
import type { Upstream } from "./upstream_pool.ts";
import { relayWebSocket } from "./websocket.ts";

/** The flow's view of the state: the snapshot plus the values approvers let through. */
function flowState(ctx: ProxyContext, state: EgressState): FlowState {
  const supervisor = ctx.supervisor;
  return supervisor
    ? { ...state, safelisted: (host, value) => supervisor.safelisted(host, value) }
    : state;
}

/** One allowed request, as both forwarding paths get it. */
export interface AllowedRequest {
  head: RequestHead;
  allow: Allow;
  /** The state snapshot the request was decided with. */
  state: EgressState;
  policy: RoutePolicy;
  /** A WebSocket upgrade. */
  upgrade: boolean;
}

/** Options of {@linkcode acquireOrAnswer}. */
export interface AcquireOrAnswerOptions {
  /** A new connection (WebSocket upgrades). */
  fresh?: boolean;
  /**
   * Runs before answering when no connection can be had (the streamed path reads the agent's
   * body there); when it returns false, nothing is answered.
   */
  before?: () => Promise<boolean>;
}

/**
 * An upstream connection for the request, or null having answered the agent: a refused
 * address gets its 403, an unreachable upstream a 502.
 */
export async function acquireOrAnswer(
  ctx: ProxyContext,
  agent: AgentSide,
  req: AllowedRequest,
  options: AcquireOrAnswerOptions = {},
): Promise<Upstream | null> {
  const { allow, head } = req;
  let got: Upstream | Block;
  try {
    got = await ctx.pool.acquire({
      route: allow.route,
      host: allow.host,
      port: allow.port,
      tls: agent.tunnel !== null,
      trust: () => req.state.trust,
    }, { fresh: options.fresh });
  } catch (error) {
    if (options.before && !await options.before()) return null;
    const message = `Cannot reach ${allow.host}: ${(error as Error).message}`;
    await ctx.responder.gateway(agent.out, allow.host, message, error as Error);
    return null;
  }
  if (!isBlock(got)) return got;
  if (options.before && !await options.before()) return null;
  const site = { host: allow.host, method: head.method, path: allow.path };
  await ctx.responder.refuse(agent.out, got, site, true);
  return null;
}

/** The context of the response to a request. */
export function responseContext(
  ctx: ProxyContext,
  agent: AgentSide,
  req: AllowedRequest,
): ResponseContext {
  return {
    out: agent.out,
    method: req.head.method,
    host: req.allow.host,
    path: req.allow.path,
    reflector: req.state.reflector,
    inbound: req.policy.inbound,
    responder: ctx.responder,
    log: ctx.log,
  };
}

/**
 * Reads the body whole, scans it, and forwards what `planForward` says; returns whether the
 * agent's connection stays open.
 */
export async function forwardBuffered(
  ctx: ProxyContext,
  agent: AgentSide,
  req: AllowedRequest,
  framing: BodyFraming,
): Promise<boolean> {
  const { head, allow, state, policy } = req;
  const site = { host: allow.host, method: head.method, path: allow.path };
  let body: Uint8Array;
  try {
    if (framing.kind === "length") {
      if (framing.length > allow.route.maxBodyBytes) throw new BodyTooLarge();
      body = await agent.reader.readExact(framing.length);
    } else if (framing.kind === "chunked") {
      body = await agent.reader.readChunked(allow.route.maxBodyBytes);
    } else body = new Uint8Array(0);
  } catch (error) {
    const b: Block = error instanceof BodyTooLarge
      ? {
        block: "body_too_large",
        message:
          `Request bodies to ${allow.host} are limited to ${allow.route.maxBodyBytes} bytes.`,
      }
      : {
        block: "malformed_request",
        message: `The request body is malformed: ${(error as Error).message}.`,
      };
    await ctx.responder.refuse(agent.out, b, site, false);
    return false;
  }
  const parts = {
    host: allow.host,
    method: head.method,
    path: allow.path,
    query: allow.query,
    headers: agentHeadersToForward(head.headers, true),
    body,
  };
  const scan = scanRequest(parts, policy.limits, {
    detectors: policy.detectors,
    secrets: state.secrets,
  });
  const supervisor = ctx.supervisor;
  const planned = planForward(
    {
      ...state,
      safelisted: supervisor ? (host, value) => supervisor.safelisted(host, value) : undefined,
    },
    allow,
    parts,
    scan,
    { tunnelled: agent.tunnel !== null, upgrade: req.upgrade },
  );
  if (isBlock(planned)) {
    await ctx.responder.refuse(agent.out, planned, site, true);
    return true;
  }
  let plan: Forward;
  if (!isHold(planned)) plan = planned;
  else {
    ctx.log.info(1, "egress", "held", {
      host: allow.host,
      method: head.method,
      detector: primaryFinding(planned.hold).detector,
      location: primaryFinding(planned.hold).location,
      findings: planned.hold.length,
    });
    const refused = await awaitDecision(
      supervisor,
      agent.out,
      allow,
      head.method,
      planned,
      (text) => ctx.responder.mask(text) ?? "",
    );
    if (agent.out.destroyed) return false;
    if (refused !== null) {
      await ctx.responder.refuse(agent.out, refused, site, true);
      return true;
    }
    ctx.log.info(1, "egress", "released", { host: allow.host, method: head.method });
    plan = planned.forward;
  }
  if (plan.redacted) {
    ctx.log.info(1, "egress", "redacted", {
      host: allow.host,
      method: head.method,
      path: ctx.responder.mask(plan.path),
    });
  }
  ctx.responder.logForward(allow, { ...plan, bodyBytes: plan.body.length });
  const conn = await acquireOrAnswer(ctx, agent, req, { fresh: req.upgrade });
  if (conn === null) return true;
  return await exchangeOn(ctx, agent, req, conn, async () => {
    const target = plan.query === "" ? plan.path : `${plan.path}?${plan.query}`;
    const reqHead = serializeRequestHead(head.method, target, plan.headers);
    const message = new Uint8Array(reqHead.length + plan.body.length);
    message.set(reqHead);
    message.set(plan.body, reqHead.length);
    await writeTo(conn.socket, message);
    return undefined;
  });
}

/**
 * One exchange on an upstream connection: `send` writes the request, or answers the agent
 * itself and says whether its connection stays open; then the response is relayed (or, for an
 * accepted WebSocket upgrade, its frames). The connection goes back to the pool only when the
 * exchange completed, else it is destroyed, so an abandoned request never reaches its end. An
 * upstream failure is answered with a 502.
 */
export async function exchangeOn(
  ctx: ProxyContext,
  agent: AgentSide,
  req: AllowedRequest,
  conn: Upstream,
  send: () => Promise<boolean | undefined>,
): Promise<boolean> {
  let reusable = false;
  try {
    const answered = await send();
    if (answered !== undefined) return answered;
    const res = await readResponseHead(conn.reader);
    if (req.upgrade && res.status === 101) {
      await relayUpgrade(ctx, agent, req, conn, res);
      return false;
    }
    const relayed = await relayResponse(responseContext(ctx, agent, req), conn.reader, res);
    reusable = relayed.reusable;
    return relayed.keep;
  } catch (error) {
    const host = req.allow.host;
    return await ctx.responder.gateway(
      agent.out,
      host,
      `The upstream ${host} failed: ${(error as Error).message}`,
      error as Error,
    );
  } finally {
    if (reusable) ctx.pool.release(conn);
    else conn.socket.destroy();
  }
}

/** A WebSocket upgrade the upstream accepted: its 101, then frames relayed and scanned. */
async function relayUpgrade(
  ctx: ProxyContext,
  agent: AgentSide,
  req: AllowedRequest,
  conn: Upstream,
  res: ResponseHead,
): Promise<void> {
  const { state, policy } = req;
  const headers = res.headers.filter(([n]) => n.toLowerCase() !== "sec-websocket-extensions");
  await writeTo(
    agent.out,
    serializeResponseHead(
      101,
      res.reason,
      headers.map(([n, v]) => [n, state.reflector.replace(v)]),
    ),
  );
  await relayWebSocket({
    agent: { reader: agent.reader, socket: agent.out },
    upstream: { reader: conn.reader, socket: conn.socket },
    outbound: (opcode, message) =>
      outboundMessage(flowState(ctx, state), policy, req.allow.host, opcode, message),
    scanInbound: scanInbound(policy.inbound),
    reflect: (text) => state.reflector.replace(text),
    log: ctx.log,
    host: req.allow.host,
  });
}
