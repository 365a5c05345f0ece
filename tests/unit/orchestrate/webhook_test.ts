import assert from "node:assert/strict";
import { Hono } from "hono";
import { openOrchestratorStore } from "../../../src/orchestrate/store.ts";
import {
  MAX_WEBHOOK_BODY,
  readCapped,
  signatureValid,
  verifyDelivery,
  webhookRoute,
} from "../../../src/orchestrate/webhook.ts";
import {
  commentPayload,
  deliveryHeaders,
  giteaSignature,
  issuesPayload,
  pullRequestPayload,
  reviewPayload,
} from "../../helpers/webhook_payloads.ts";

const SECRET = "webhook-secret-0123456789";
const enc = new TextEncoder();

function headers(h: Record<string, string>): Headers {
  return new Headers(h);
}

Deno.test("signatureValid() accepts the hex HMAC-SHA256 of the raw bytes, in either case", () => {
  const body = enc.encode('{"a":1}');
  const sig = giteaSignature(body, SECRET);
  assert.equal(signatureValid(body, sig, SECRET), true);
  assert.equal(signatureValid(body, sig.toUpperCase(), SECRET), true);
});

Deno.test("signatureValid() refuses bad, missing, wrong-length and prefixed signatures", () => {
  const body = enc.encode('{"a":1}');
  const sig = giteaSignature(body, SECRET);
  const flipped = (sig[0] === "0" ? "1" : "0") + sig.slice(1);
  assert.equal(signatureValid(body, flipped, SECRET), false, "one digit changed");
  assert.equal(
    signatureValid(body, giteaSignature(body, "another-secret-xxxxx"), SECRET),
    false,
    "other secret",
  );
  assert.equal(signatureValid(enc.encode('{"a": 1}'), sig, SECRET), false, "re-serialised body");
  assert.equal(signatureValid(body, null, SECRET), false, "missing");
  assert.equal(signatureValid(body, "", SECRET), false, "empty");
  assert.equal(signatureValid(body, sig.slice(0, 62), SECRET), false, "short");
  assert.equal(signatureValid(body, sig + "00", SECRET), false, "long");
  assert.equal(signatureValid(body, `sha256=${sig}`, SECRET), false, "sha256= prefix");
  assert.equal(signatureValid(body, sig.slice(0, 63) + "g", SECRET), false, "not hex");
});

function signed(event: string, type: string, payload: unknown, deliveryId?: string) {
  const body = enc.encode(JSON.stringify(payload));
  return { body, headers: headers(deliveryHeaders(event, type, body, SECRET, deliveryId)) };
}

Deno.test("verifyDelivery() accepts a signed assigned event as a launch job", () => {
  const d = signed("issues", "issue_assign", issuesPayload("assigned"), "d-1");
  const v = verifyDelivery(d.headers, d.body, SECRET);
  assert.equal(v.kind, "accept");
  if (v.kind !== "accept") return;
  assert.equal(v.deliveryId, "d-1");
  assert.equal(v.event, "issues");
  assert.equal(v.job.kind, "launch");
});

Deno.test("verifyDelivery() answers 413 before looking at the signature when the body is over the cap", () => {
  const v = verifyDelivery(headers({}), null, SECRET);
  assert.deepEqual(v, { kind: "reject", status: 413, reason: "body over 2 MiB" });
  const big = new Uint8Array(MAX_WEBHOOK_BODY + 1);
  const h = headers({ "x-gitea-signature": giteaSignature(big, SECRET) });
  assert.equal(
    verifyDelivery(h, big, SECRET).kind === "reject" &&
      (verifyDelivery(h, big, SECRET) as { status: number }).status,
    413,
  );
});

Deno.test("verifyDelivery() answers 401 for an unsigned or mis-signed delivery, before parsing", () => {
  const d = signed("issues", "issue_assign", issuesPayload("assigned"));
  d.headers.delete("x-gitea-signature");
  assert.deepEqual(verifyDelivery(d.headers, d.body, SECRET), {
    kind: "reject",
    status: 401,
    reason: "signature mismatch",
  });
  d.headers.set("x-gitea-signature", "0".repeat(64));
  assert.equal((verifyDelivery(d.headers, d.body, SECRET) as { status: number }).status, 401);
  // Garbage body with a bad signature: still 401, not 400.
  const junk = enc.encode("not json");
  assert.equal(
    (verifyDelivery(headers({ "x-gitea-signature": "0".repeat(64) }), junk, SECRET) as {
      status: number;
    }).status,
    401,
  );
});

Deno.test("verifyDelivery() answers 400 for a signed non-JSON body, a malformed delivery id, or a malformed payload", () => {
  const junk = enc.encode("not json");
  const h = headers({
    "x-gitea-signature": giteaSignature(junk, SECRET),
    "x-gitea-delivery": "d",
    "x-gitea-event": "issues",
  });
  assert.equal((verifyDelivery(h, junk, SECRET) as { status: number }).status, 400);
  const d = signed("issues", "issue_assign", issuesPayload("assigned"));
  d.headers.set("x-gitea-delivery", "not a delivery id");
  assert.equal((verifyDelivery(d.headers, d.body, SECRET) as { status: number }).status, 400);
  const bad = issuesPayload("assigned");
  delete (bad.issue as Record<string, unknown>).number;
  const m = signed("issues", "issue_assign", bad);
  const v = verifyDelivery(m.headers, m.body, SECRET);
  assert.equal(v.kind, "reject");
  assert.equal((v as { status: number }).status, 400);
});

Deno.test("verifyDelivery() answers 204 for irrelevant events", () => {
  for (
    const [event, type, payload] of [
      ["issues", "issue_assign", issuesPayload("unassigned")],
      ["push", "push", { ref: "refs/heads/main" }],
      ["pull_request", "pull_request", pullRequestPayload("opened")],
    ] as const
  ) {
    const d = signed(event, type, payload);
    assert.equal(verifyDelivery(d.headers, d.body, SECRET).kind, "ignore", `${event}`);
  }
});

Deno.test("readCapped() returns the bytes under the cap and null past it, without reading on", async () => {
  let pulled = 0;
  const chunk = new Uint8Array(64 * 1024);
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(chunk);
    },
  });
  assert.equal(await readCapped(endless, 256 * 1024), null);
  assert.ok(pulled <= 6, `pulled ${pulled} chunks for a 4-chunk cap`);
  const small = new Blob([enc.encode("ab"), enc.encode("cd")]).stream();
  assert.deepEqual(await readCapped(small, 4), enc.encode("abcd"));
  assert.deepEqual(await readCapped(null, 4), new Uint8Array(0));
});

function app(bodyTimeoutMs?: number) {
  const store = openOrchestratorStore(":memory:");
  const lines: string[] = [];
  const hono = new Hono();
  hono.post(
    "/webhook",
    webhookRoute({ store, secret: SECRET, log: (l) => lines.push(l), bodyTimeoutMs }),
  );
  const post = (h: Record<string, string> | Headers, body: BodyInit) =>
    hono.request("/webhook", { method: "POST", headers: h, body });
  return { store, lines, post };
}

async function deliver(
  post: ReturnType<typeof app>["post"],
  event: string,
  type: string,
  payload: unknown,
  deliveryId?: string,
) {
  const body = JSON.stringify(payload);
  const res = await post(deliveryHeaders(event, type, body, SECRET, deliveryId), body);
  const text = await res.text();
  return { status: res.status, json: text === "" ? null : JSON.parse(text) };
}

Deno.test("POST /webhook stores one job per accepted delivery and answers {ok, job}", async () => {
  const { store, post, lines } = app();
  const r = await deliver(post, "issues", "issue_assign", issuesPayload("assigned"));
  assert.equal(r.status, 200);
  assert.equal(r.json.ok, true);
  assert.equal(typeof r.json.job, "number");
  const jobs = store.jobs();
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0].id, r.json.job);
  assert.equal(jobs[0].kind, "launch");
  assert.equal(jobs[0].issueKey, "acme/api#12");
  assert.match(lines[0], /issues → launch job \d+ for acme\/api#12/);
  store.close();
});

Deno.test("POST /webhook maps every handled event kind to its job", async () => {
  const { store, post } = app();
  const cases: [string, string, unknown, string][] = [
    ["issues", "issue_assign", issuesPayload("assigned"), "launch"],
    ["issues", "issues", issuesPayload("closed"), "destroy"],
    ["issue_comment", "issue_comment", commentPayload({ commentId: 1 }), "resume"],
    [
      "issue_comment",
      "pull_request_comment",
      commentPayload({ commentId: 2, isPull: true, number: 13 }),
      "resume",
    ],
    ["pull_request_approved", "pull_request_review_approved", reviewPayload("approved"), "resume"],
    ["pull_request_rejected", "pull_request_review_rejected", reviewPayload("rejected"), "resume"],
    ["pull_request_comment", "pull_request_review_comment", reviewPayload("comment"), "resume"],
    ["pull_request", "pull_request", pullRequestPayload("closed", { merged: true }), "destroy"],
  ];
  for (const [event, type, payload, kind] of cases) {
    const r = await deliver(post, event, type, payload);
    assert.equal(r.status, 200, `${event}/${type}`);
    assert.equal(store.jobs().find((j) => j.id === r.json.job)?.kind, kind, `${event}/${type}`);
  }
  assert.equal(store.jobs().length, cases.length);
  store.close();
});

Deno.test("POST /webhook dedupes the same delivery id", async () => {
  const { store, post } = app();
  const first = await deliver(post, "issue_comment", "issue_comment", commentPayload(), "same-id");
  const again = await deliver(post, "issue_comment", "issue_comment", commentPayload(), "same-id");
  assert.equal(first.status, 200);
  assert.deepEqual(again, { status: 200, json: { ok: true, duplicate: true } });
  assert.equal(store.jobs().length, 1);
  store.close();
});

Deno.test("POST /webhook dedupes a replay of a captured delivery under a new delivery id", async () => {
  const { store, post } = app();
  const body = JSON.stringify(commentPayload());
  const captured = deliveryHeaders("issue_comment", "issue_comment", body, SECRET, "original");
  assert.equal((await post(captured, body)).status, 200);
  // The attacker reuses the signed body and signature, changing the delivery id and event headers.
  const replay = {
    ...captured,
    "x-gitea-delivery": "forged-new-id",
    "x-gitea-event-type": "pull_request_comment",
  };
  const res = await post(replay, body);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true, duplicate: true });
  assert.equal(store.jobs().length, 1);
  store.close();
});

Deno.test("POST /webhook does not dedupe a genuinely new comment", async () => {
  const { store, post } = app();
  await deliver(post, "issue_comment", "issue_comment", commentPayload({ commentId: 501 }));
  const second = await deliver(
    post,
    "issue_comment",
    "issue_comment",
    commentPayload({ commentId: 502, body: "same text" }),
  );
  assert.equal(second.status, 200);
  assert.equal(typeof second.json.job, "number");
  assert.equal(store.jobs().length, 2);
  store.close();
});

Deno.test("POST /webhook does not dedupe a re-assignment after an unassign", async () => {
  const { store, post } = app();
  await deliver(
    post,
    "issues",
    "issue_assign",
    issuesPayload("assigned", { updatedAt: "2026-12-01T10:05:00Z" }),
  );
  assert.equal(
    (await deliver(post, "issues", "issue_assign", issuesPayload("unassigned", { assignees: [] })))
      .status,
    204,
  );
  const again = await deliver(
    post,
    "issues",
    "issue_assign",
    issuesPayload("assigned", { updatedAt: "2026-12-01T10:07:00Z" }),
  );
  assert.equal(typeof again.json.job, "number");
  assert.equal(store.jobs().length, 2);
  store.close();
});

Deno.test("POST /webhook creates no job for 401, 400, 413 or 204", async () => {
  const { store, post } = app();
  const body = JSON.stringify(issuesPayload("assigned"));
  const h = deliveryHeaders("issues", "issue_assign", body, SECRET);
  const res401 = await post({ ...h, "x-gitea-signature": "f".repeat(64) }, body);
  assert.equal(res401.status, 401);
  const res401b = await post(
    { ...h, "x-gitea-signature": `sha256=${h["x-gitea-signature"]}` },
    body,
  );
  assert.equal(res401b.status, 401);
  const bad = JSON.stringify({ action: "assigned", issue: {} });
  const res400 = await post(deliveryHeaders("issues", "issue_assign", bad, SECRET), bad);
  assert.equal(res400.status, 400);
  const big = "x".repeat(MAX_WEBHOOK_BODY + 10);
  const res413 = await post(deliveryHeaders("issues", "issue_assign", big, SECRET), big);
  assert.equal(res413.status, 413);
  const ignored = JSON.stringify(issuesPayload("unassigned"));
  const res204 = await post(deliveryHeaders("issues", "issue_assign", ignored, SECRET), ignored);
  assert.equal(res204.status, 204);
  for (const r of [res401, res401b, res400, res413]) await r.body?.cancel();
  assert.equal(store.jobs().length, 0);
  store.close();
});

Deno.test("POST /webhook caps a streamed body without a Content-Length at 2 MiB (413)", async () => {
  const { store, post } = app();
  let sent = 0;
  const chunk = new Uint8Array(256 * 1024).fill(0x20);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent > 64 * 1024 * 1024) return controller.close();
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  const res = await post(
    { "x-gitea-signature": "0".repeat(64), "x-gitea-delivery": "big" },
    stream,
  );
  assert.equal(res.status, 413);
  await res.body?.cancel();
  assert.ok(sent <= MAX_WEBHOOK_BODY + 2 * chunk.byteLength, `read ${sent} bytes`);
  assert.equal(store.jobs().length, 0);
  store.close();
});

Deno.test("POST /webhook answers 413 from a declared Content-Length over the cap without reading", async () => {
  const { store, post } = app();
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024));
    },
  });
  const res = await post({ "content-length": String(MAX_WEBHOOK_BODY + 1) }, stream);
  assert.equal(res.status, 413);
  await res.body?.cancel();
  assert.ok(pulled <= 1, `pulled ${pulled}`);
  store.close();
});

Deno.test("POST /webhook answers 408 when the body trickles past the deadline", async () => {
  const { store, post } = app(100);
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(enc.encode("{"));
    },
    cancel() {
      cancelled = true;
    },
  });
  const res = await post({ "x-gitea-delivery": "slow" }, stream);
  assert.equal(res.status, 408);
  await res.body?.cancel();
  assert.equal(cancelled, true);
  assert.equal(store.jobs().length, 0);
  store.close();
});

Deno.test("verifyDelivery() takes a minimal payload: no sender, no html_url on a close, no delivery id", () => {
  const strip = (payload: Record<string, unknown>, ...paths: string[][]) => {
    for (const path of paths) {
      let at = payload as Record<string, unknown>;
      for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
      delete at[path.at(-1)!];
    }
    return payload;
  };
  const cases: [string, string, Record<string, unknown>, string][] = [
    ["issues", "issue_assign", strip(issuesPayload("assigned"), ["sender"]), "launch"],
    [
      "issues",
      "issues",
      strip(issuesPayload("closed"), ["sender"], ["issue", "html_url"]),
      "destroy",
    ],
    ["issue_comment", "issue_comment", strip(commentPayload(), ["sender"]), "resume"],
    [
      "pull_request",
      "pull_request",
      strip(pullRequestPayload("closed"), ["sender"], ["pull_request", "html_url"]),
      "destroy",
    ],
  ];
  for (const [event, type, payload, kind] of cases) {
    const d = signed(event, type, payload);
    d.headers.delete("x-gitea-delivery");
    const v = verifyDelivery(d.headers, d.body, SECRET);
    assert.equal(v.kind, "accept", `${event} ${JSON.stringify(v)}`);
    if (v.kind !== "accept") continue;
    assert.equal(v.job.kind, kind);
    assert.equal(v.deliveryId, `body:${v.dedupeKey}`);
  }
  // A review still needs its reviewer: it is who the agent answers.
  const review = signed(
    "pull_request_approved",
    "pull_request_review_approved",
    strip(
      reviewPayload("approved"),
      ["sender"],
    ),
  );
  assert.equal(verifyDelivery(review.headers, review.body, SECRET).kind, "reject");
});
