import assert from "node:assert/strict";
import { encodeLine, type SidecarMessage } from "../../../../src/sidecar/control/protocol.ts";
import { ControlSession, describeLineError } from "../../../../src/sidecar/control/session.ts";
import { ProtocolError } from "../../../../src/sidecar/control/protocol.ts";
import { assertNoSecret, sampleConfig, SECRETS } from "./fixtures.ts";

const configLine = (id: string, config: unknown = sampleConfig()) =>
  encodeLine({ type: "config", id, config }).trimEnd();

Deno.test("ControlSession says hello with its boot, last seq and whether it is configured", () => {
  const session = new ControlSession({ boot: "boot-1" });
  assert.deepEqual(session.hello(), {
    type: "hello",
    protocol: 1,
    boot: "boot-1",
    lastSeq: 0,
    configured: false,
  });
  session.queue("oplog", {});
  assert.equal(session.hello().lastSeq, 1);
});

Deno.test("ControlSession boots get a fresh random id per process", () => {
  const a = new ControlSession().boot;
  const b = new ControlSession().boot;
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, b);
});

Deno.test("greeting() is hello followed by every unacknowledged message in order", () => {
  const session = new ControlSession({ boot: "b" });
  for (let i = 1; i <= 5; i++) session.queue("event", { i });
  assert.deepEqual(session.decide('{"type":"ack","seq":3}'), { kind: "acked", seq: 3 });
  const greeting = session.greeting();
  assert.equal(greeting[0].type, "hello");
  assert.deepEqual(greeting.slice(1).map((m) => (m as SidecarMessage).seq), [4, 5]);
  assert.deepEqual(greeting.slice(1).map((m) => (m as SidecarMessage).body), [{ i: 4 }, { i: 5 }]);
});

Deno.test("queue() tells listeners about each new message until they unsubscribe", () => {
  const session = new ControlSession();
  const seen: number[] = [];
  const off = session.onQueued((m) => seen.push(m.seq));
  session.queue("proposal", {});
  session.queue("done", {});
  off();
  session.queue("done", {});
  assert.deepEqual(seen, [1, 2]);
});

Deno.test("a config is applied once per id; a repeat gets the same answer, not a re-apply", () => {
  const session = new ControlSession();
  const first = session.decide(configLine("c1"));
  assert.equal(first.kind, "apply-config");
  if (first.kind !== "apply-config") return;
  assert.equal(first.config.routes.length, 2);
  assert.equal(session.hello().configured, false, "not configured until the files are written");
  assert.deepEqual(session.configApplied("c1", first.config), { type: "applied", id: "c1" });
  assert.equal(session.hello().configured, true);
  assert.equal(session.config?.slug, "demo");

  const again = session.decide(configLine("c1", { broken: true }));
  assert.deepEqual(again, { kind: "reply", reply: { type: "applied", id: "c1" } });
  assert.equal(session.decide(configLine("c2")).kind, "apply-config", "a new id applies again");
});

Deno.test("an invalid config is answered with an error naming the field, never a value", () => {
  const session = new ControlSession();
  const config = { ...sampleConfig(), knownSecrets: [SECRETS.known, 42] };
  const decision = session.decide(configLine("bad", config));
  assert.equal(decision.kind, "reply");
  if (decision.kind !== "reply") return;
  assert.equal(decision.reply.id, "bad");
  assert.match(decision.reply.error ?? "", /"knownSecrets" must be an array of strings/);
  assertNoSecret(JSON.stringify(decision), "the answer");
  assert.equal(session.decide(configLine("bad")).kind, "apply-config", "a failure is not recorded");
});

Deno.test("a config whose files could not be written is answered with the error, retryable", () => {
  const session = new ControlSession();
  const reply = session.configFailed("c1", 'Cannot write "/x/routes.json": denied');
  assert.deepEqual(reply, {
    type: "applied",
    id: "c1",
    error: 'Cannot write "/x/routes.json": denied',
  });
  assert.equal(session.decide(configLine("c1")).kind, "apply-config");
});

Deno.test("shutdown is answered applied and asks the server to stop", () => {
  const session = new ControlSession();
  assert.deepEqual(session.decide('{"type":"shutdown","id":"s1"}'), {
    kind: "shutdown",
    reply: { type: "applied", id: "s1" },
  });
});

Deno.test("a malformed decision or route-add is answered with its error, nothing applied", () => {
  const session = new ControlSession();
  for (
    const [line, error] of [
      ['{"type":"decision","id":"d1","body":{"approve":true}}', /body\.key/],
      ['{"type":"decision","id":"d2","body":{"key":"k","status":"maybe"}}', /body\.status/],
      ['{"type":"route-add","id":"r1","route":{"host":"x.example.test"}}', /route\.ports/],
    ] as const
  ) {
    const decision = session.decide(line);
    assert.equal(decision.kind, "reply", line);
    if (decision.kind === "reply") assert.match(decision.reply.error ?? "", error);
  }
});

Deno.test("a decision is handed over once; its resend gets the recorded answer", () => {
  const session = new ControlSession();
  const line = encodeLine({
    type: "decision",
    id: "decision-k1",
    body: { key: "k1", status: "approved", reason: "fine", scope: "once" },
  }).trimEnd();
  const first = session.decide(line);
  assert.deepEqual(first, {
    kind: "decision",
    id: "decision-k1",
    body: { key: "k1", status: "approved", reason: "fine", scope: "once" },
  });
  assert.deepEqual(session.answered("decision-k1", "expired"), {
    type: "applied",
    id: "decision-k1",
    error: "expired",
  });
  assert.deepEqual(session.decide(line), {
    kind: "reply",
    reply: { type: "applied", id: "decision-k1", error: "expired" },
  });
});

Deno.test("route-add takes only a live route: manifest host rules, no auth, a valid upstream", () => {
  const session = new ControlSession();
  const route = (extra: Record<string, unknown>) =>
    encodeLine({
      type: "route-add",
      id: crypto.randomUUID(),
      route: {
        host: "pypi.example.test",
        ports: [443],
        origin: "supervise",
        auth: null,
        matches: null,
        dlp: { outboundDetectors: ["token_patterns"], inboundDetectors: false, onMatch: "block" },
        upstream: null,
        maxBodyBytes: 1024,
        ...extra,
      },
    }).trimEnd();
  assert.equal(session.decide(route({})).kind, "route-add");
  assert.equal(session.decide(route({ upstream: "192.0.2.7:8443" })).kind, "route-add");
  for (
    const [extra, error] of [
      [{ host: "localhost" }, /loopback/],
      [{ host: "192.0.2.7" }, /IP literals/],
      [{ host: "supervise" }, /inside the bottle/],
      [{ host: "metadata.internal" }, /local-network/],
      [{ auth: { scheme: "Bearer", slot: "EGRESS_TOKEN_1" } }, /route\.auth/],
      [{ upstream: "192.0.2.7" }, /route\.upstream/],
    ] as const
  ) {
    const decision = session.decide(route(extra));
    assert.equal(decision.kind, "reply");
    if (decision.kind === "reply") assert.match(decision.reply.error ?? "", error);
  }
});

Deno.test("addRoute replaces the config object (the egress state rebuilds) and a host's route", () => {
  const session = new ControlSession();
  assert.throws(() => session.addRoute(sampleConfig().routes[0]), /no config/);
  const config = sampleConfig();
  session.configApplied("c1", config);
  const route = { ...config.routes[0], ports: [8443] };
  const next = session.addRoute(route);
  assert.notEqual(next, config);
  assert.equal(session.config, next);
  assert.equal(next.routes.filter((r) => r.host === route.host).length, 1);
  assert.deepEqual(next.routes.find((r) => r.host === route.host)?.ports, [8443]);
});

Deno.test("sync is answered at once and changes nothing (a barrier for earlier messages)", () => {
  const session = new ControlSession();
  session.queue("event", { kind: "git-push" });
  const decision = session.decide('{"type":"sync","id":"s1"}');
  assert.deepEqual(decision, { kind: "reply", reply: { type: "applied", id: "s1" } });
  assert.equal(session.outbox.pending().length, 1);
  assert.equal(session.decide('{"type":"sync"}').kind, "malformed");
});

Deno.test("malformed host lines are reported without any of their content", () => {
  const session = new ControlSession();
  const table = [
    `not json ${SECRETS.slot}`,
    `{"type":"${SECRETS.slot}"}`,
    `{"type":"ack","seq":"${SECRETS.slot}"}`,
    `{"type":"config","id":"x","config":"${SECRETS.slot}"}`,
    "[]",
  ];
  for (const line of table) {
    const decision = session.decide(line);
    assert.equal(decision.kind, "malformed", line);
    assertNoSecret(JSON.stringify(decision), "the reason");
  }
  assert.deepEqual(session.decide(`{"type":"${SECRETS.slot}"}`), {
    kind: "malformed",
    reason: "unknown message type",
  });
});

Deno.test("describeLineError strips quoted text and hides unexpected errors", () => {
  assert.equal(describeLineError(new ProtocolError('bad "secret" here')), "bad … here");
  assert.equal(describeLineError(new TypeError("x")), "line could not be read");
});
