/**
 * The webhook pipeline of SPEC §13.3, in order:
 * 1. the raw body, read with a 2 MiB cap (413 without buffering more than the cap) within 10 s
 *    (408: a client trickling a body cannot hold the server's memory or a connection for long);
 * 2. hex HMAC-SHA256 of the raw bytes, compared in constant time with `X-Gitea-Signature`
 *    (bare lowercase or uppercase hex, no `sha256=` prefix) → 401 on any mismatch;
 * 3. `X-Gitea-Delivery` present, body JSON → else 400;
 * 4. event + action → a job with a body-derived dedupe key (events.ts); malformed → 400,
 *    irrelevant → 204;
 * 5. the store records the delivery id, the dedupe key and the job in one transaction → 200.
 *
 * Steps 1–4 are {@linkcode verifyDelivery}, a pure function of (headers, bytes, secret); step 5
 * is the route ({@linkcode webhookRoute}). None of 413/401/400/204 writes anything.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { concatBytes } from "../lib/bytes.ts";
import { type EventJob, eventToJob } from "./events.ts";
import type { OrchestratorStore } from "./types.ts";

/** Largest accepted body (SPEC §13.3). */
export const MAX_WEBHOOK_BODY = 2 * 1024 * 1024;

/** What to do with a delivery. */
export type DeliveryVerdict =
  | { kind: "accept"; deliveryId: string; event: string } & EventJob
  | { kind: "reject"; status: 400 | 401 | 413; reason: string }
  | { kind: "ignore"; status: 204; reason: string };

/** Headers, by lowercase name (`Headers` satisfies it). */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * Whether `signature` is the hex HMAC-SHA256 of `body` under `secret` (constant time).
 * Anything but exactly 64 hex digits is refused before comparing.
 */
export function signatureValid(
  body: Uint8Array,
  signature: string | null,
  secret: string,
): boolean {
  if (signature === null || !/^[0-9a-fA-F]{64}$/.test(signature)) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  const given = new Uint8Array(32);
  for (let i = 0; i < 32; i++) given[i] = parseInt(signature.slice(2 * i, 2 * i + 2), 16);
  return timingSafeEqual(expected, given);
}

/**
 * Verifies and classifies one delivery (SPEC §13.3 steps 1–4), without side effects.
 *
 * @param body the raw bytes, or `null` when the body was over {@linkcode MAX_WEBHOOK_BODY}.
 */
export function verifyDelivery(
  headers: HeaderReader,
  body: Uint8Array | null,
  secret: string,
): DeliveryVerdict {
  if (body === null || body.byteLength > MAX_WEBHOOK_BODY) {
    return { kind: "reject", status: 413, reason: "body over 2 MiB" };
  }
  if (!signatureValid(body, headers.get("x-gitea-signature"), secret)) {
    return { kind: "reject", status: 401, reason: "signature mismatch" };
  }
  // Gitea always sends X-Gitea-Delivery; without one (a hand-made delivery) the body-derived
  // dedupe key stands in for it, so a replay is still recognised.
  const deliveryHeader = headers.get("x-gitea-delivery")?.trim() ?? "";
  if (deliveryHeader !== "" && !/^[A-Za-z0-9-]{1,128}$/.test(deliveryHeader)) {
    return { kind: "reject", status: 400, reason: "X-Gitea-Delivery malformed" };
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return { kind: "reject", status: 400, reason: "body is not JSON" };
  }
  const event = headers.get("x-gitea-event")?.trim() ?? "";
  const outcome = eventToJob(event, headers.get("x-gitea-event-type"), json);
  if (outcome.kind === "malformed") return { kind: "reject", status: 400, reason: outcome.reason };
  if (outcome.kind === "irrelevant") return { kind: "ignore", status: 204, reason: outcome.reason };
  return {
    kind: "accept",
    deliveryId: deliveryHeader !== "" ? deliveryHeader : `body:${outcome.dedupeKey}`,
    event: outcome.event,
    dedupeKey: outcome.dedupeKey,
    job: outcome.job,
  };
}

/** How long a delivery's body may take to arrive (Gitea sends it at once). */
export const BODY_READ_TIMEOUT_MS = 10_000;

/**
 * Reads a body stream up to `cap` bytes within `timeoutMs`.
 *
 * @returns the bytes; `null` (stream cancelled) as soon as more than `cap` arrive; `"timeout"`
 * (stream cancelled) when the body is still incomplete after `timeoutMs`.
 */
export async function readCapped(
  stream: ReadableStream<Uint8Array> | null,
  cap: number,
  timeoutMs: number = BODY_READ_TIMEOUT_MS,
): Promise<Uint8Array | null | "timeout"> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    while (true) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === "timeout") {
        await reader.cancel().catch(() => {});
        return "timeout";
      }
      const { done, value } = next;
      if (done) break;
      size += value.byteLength;
      if (size > cap) {
        await reader.cancel().catch(() => {});
        return null;
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks);
}

/** A log line for one delivery (no payload text: titles and bodies are the forge's). */
export type DeliveryLog = (line: string) => void;

/** What the webhook route needs. */
export interface WebhookDeps {
  store: Pick<OrchestratorStore, "acceptDelivery">;
  secret: string;
  log?: DeliveryLog;
  /** Called after a job was stored (the orchestrator's `wake()`). */
  onJob?: (jobId: number) => void;
  /** Deadline for the body (default {@linkcode BODY_READ_TIMEOUT_MS}). */
  bodyTimeoutMs?: number;
}

/** The `POST /webhook` handler. */
export function webhookRoute(deps: WebhookDeps): (c: Context) => Promise<Response> {
  const log = deps.log ?? (() => {});
  return async (c) => {
    const declared = Number(c.req.header("content-length") ?? "0");
    const body = declared > MAX_WEBHOOK_BODY
      ? null
      : await readCapped(c.req.raw.body, MAX_WEBHOOK_BODY, deps.bodyTimeoutMs);
    if (body === "timeout") {
      log(`webhook: 408 body not received within the deadline`);
      return c.json({ ok: false, error: "body not received in time" }, 408);
    }
    const verdict = verifyDelivery(c.req.raw.headers, body, deps.secret);
    const delivery = c.req.header("x-gitea-delivery") ?? "-";
    if (verdict.kind === "reject") {
      log(`webhook: ${verdict.status} ${verdict.reason} (delivery ${safe(delivery)})`);
      return c.json({ ok: false, error: verdict.reason }, verdict.status);
    }
    if (verdict.kind === "ignore") {
      log(`webhook: 204 ${verdict.reason} (delivery ${safe(delivery)})`);
      return c.body(null, 204);
    }
    const outcome = deps.store.acceptDelivery(
      { deliveryId: verdict.deliveryId, dedupeKey: verdict.dedupeKey, event: verdict.event },
      verdict.job,
    );
    if (outcome.kind === "duplicate") {
      log(`webhook: duplicate ${verdict.event} delivery ${verdict.deliveryId}`);
      return c.json({ ok: true, duplicate: true }, 200);
    }
    log(
      `webhook: ${verdict.event} → ${verdict.job.kind} job ${outcome.jobId} for ${
        safe(verdict.job.issueKey)
      } (delivery ${verdict.deliveryId})`,
    );
    deps.onJob?.(outcome.jobId);
    return c.json({ ok: true, job: outcome.jobId }, 200);
  };
}

/** Strips control characters and bounds the length of a logged value. */
function safe(value: string): string {
  // deno-lint-ignore no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 200);
}
