/**
 * The four steps of `bot-bottle demo` (SPEC §14.1), pure: what each runs inside the bottle (a
 * bash script for the agent container), how its output is read, and the verdict — the outcome
 * line the SPEC prints when the protection held, or what happened instead. The engine side
 * (running the scripts, asking the upstream what it received) is `run.ts`.
 *
 * | step | the agent does                                  | passes when                                                                  |
 * | ---- | ----------------------------------------------- | ---------------------------------------------------------------------------- |
 * | 1    | `GET https://demo.bot-bottle.test/hello`        | 200 with the upstream's `token: injected`, over the bottle CA's certificate  |
 * | 2    | `GET https://exfil.example.test/collect`        | 403 with `X-Bot-Bottle-Block: host_not_allowlisted`                           |
 * | 3    | `POST` a body holding an AWS key to the route   | 403 `dlp_outbound`, detector `token_patterns`, and the upstream saw nothing  |
 * | 4    | push a clean branch, then one with an AWS key   | the clean one lands upstream; the other is refused by a gitleaks rule and never lands |
 *
 * @module
 */

/** The route host of the demo bottle (its certificate is the demo upstream CA's). */
export const DEMO_HOST = "demo.bot-bottle.test";

/** A host no route names (reserved `.test` name: nothing is ever sent to it). */
export const UNLISTED_HOST = "exfil.example.test";

/** One step: its title and the outcome line it shows when the protection held. */
export interface DemoStep {
  id: "allowed" | "unlisted" | "dlp" | "push";
  title: string;
  expected: string;
}

/** The steps, in order, with the SPEC's outcome lines. */
export const DEMO_STEPS: readonly DemoStep[] = [
  {
    id: "allowed",
    title: "allowed HTTPS request through interception",
    expected: `ok (200 from ${DEMO_HOST})`,
  },
  {
    id: "unlisted",
    title: "request to a host not on the allowlist",
    expected: "blocked (403 host_not_allowlisted)",
  },
  {
    id: "dlp",
    title: "POST with a credential-shaped body",
    expected: "blocked (403 dlp_outbound, token_patterns)",
  },
  {
    id: "push",
    title: "push a commit containing an AKIA... key",
    expected: "rejected by git-gate (gitleaks)",
  },
];

/** What one step came to. */
export interface StepVerdict {
  passed: boolean;
  /** The SPEC's outcome line when passed, else what happened. */
  outcome: string;
}

/** Title and dots fill this many columns before the outcome (SPEC §14.1's layout). */
const TITLE_COLUMNS = 49;

/**
 * One result line: `[1/4] allowed HTTPS request through interception ...... ok (…)`.
 *
 * @example
 * ```ts
 * stepLine(2, 4, "request to a host not on the allowlist", "blocked (403 host_not_allowlisted)");
 * // "[2/4] request to a host not on the allowlist .......... blocked (403 host_not_allowlisted)"
 * ```
 */
export function stepLine(index: number, total: number, title: string, outcome: string): string {
  const dots = ".".repeat(Math.max(3, TITLE_COLUMNS - title.length - 1));
  return `[${index}/${total}] ${title} ${dots} ${outcome}`;
}

/** A curl call as the probe script reports it. */
export interface Probe {
  /** curl's exit status (0: a response arrived). */
  curlExit: number;
  /** HTTP status of the final response, 0 when none. */
  status: number;
  /** The issuer of the certificate curl was shown, as curl prints it. */
  issuer: string;
  /** The `X-Bot-Bottle-Block` header, or "". */
  block: string;
  /** The body (first 2000 bytes, newlines as spaces). */
  body: string;
  /** curl's last error line, when it failed. */
  error: string;
}

/**
 * The bash function the step scripts call: `probe <curl args…>` runs curl verbosely and prints
 * `curl_exit=`, `status=`, `issuer=`, `block=`, `error=` and `body=` lines for {@linkcode parseProbe}.
 */
const PROBE_FUNCTION = `probe() {
  curl -sS -v --max-time 20 -o /tmp/bb-demo.body -D /tmp/bb-demo.head \\
    -w 'status=%{http_code}\\n' "$@" 2>/tmp/bb-demo.err
  echo "curl_exit=$?"
  sed -n 's/^\\*  *issuer: */issuer=/p' /tmp/bb-demo.err | head -n 1
  sed -n 's/^[Xx]-[Bb]ot-[Bb]ottle-[Bb]lock: *\\([^\\r]*\\).*/block=\\1/p' /tmp/bb-demo.head | tail -n 1
  grep '^curl: ' /tmp/bb-demo.err | tail -n 1 | sed 's/^/error=/'
  printf 'body=%s\\n' "$(head -c 2000 /tmp/bb-demo.body | tr '\\r\\n' '  ')"
}`;

/** The scripts the agent container runs (bash, as user node), by step. */
export const STEP_SCRIPTS: Readonly<Record<DemoStep["id"], string>> = {
  allowed: `${PROBE_FUNCTION}\nprobe https://${DEMO_HOST}/hello`,
  unlisted: `${PROBE_FUNCTION}\nprobe https://${UNLISTED_HOST}/collect`,
  // The body comes from the exec's environment (DEMO_BODY), never from argv.
  dlp: `${PROBE_FUNCTION}\nprobe -X POST -H 'Content-Type: application/json' ` +
    `--data-binary "$DEMO_BODY" https://${DEMO_HOST}/upload`,
  // Run in the clone of the demo repository; DEMO_KEY comes from the exec's environment.
  push: `set -u
git checkout -q -b demo/clean
printf 'hello from the bottle\\n' > hello.txt
git add hello.txt && git commit -q -m 'Add hello.txt'
if git push -q origin demo/clean >/tmp/bb-demo-clean.out 2>&1; then
  echo "clean=pushed $(git rev-parse HEAD)"
else
  echo "clean=refused"
fi
sed 's/^/clean-out: /' /tmp/bb-demo-clean.out
git checkout -q -b demo/leak
printf 'AWS_ACCESS_KEY_ID=%s\\n' "$DEMO_KEY" > deploy.env
git add deploy.env && git commit -q -m 'Add deploy settings'
if git push origin demo/leak >/tmp/bb-demo-leak.out 2>&1; then echo "leak=pushed"; else echo "leak=refused"; fi
sed 's/^/leak-out: /' /tmp/bb-demo-leak.out`,
};

/** The branches step 4 pushes. */
export const PUSH_BRANCHES = { clean: "demo/clean", leak: "demo/leak" } as const;

/** Reads the `key=value` lines of a probe (missing fields are empty, statuses 0). */
export function parseProbe(text: string): Probe {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0 && !fields.has(line.slice(0, eq))) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const number = (name: string) => {
    const n = Number(fields.get(name) ?? "");
    return Number.isInteger(n) ? n : 0;
  };
  return {
    curlExit: fields.has("curl_exit") ? number("curl_exit") : -1,
    status: number("status"),
    issuer: fields.get("issuer")?.trim() ?? "",
    block: fields.get("block")?.trim() ?? "",
    body: fields.get("body")?.trim() ?? "",
    error: fields.get("error")?.replace(/^curl: \(\d+\) /, "").trim() ?? "",
  };
}

/** The body's JSON object, or `{}`. */
function json(body: string): Record<string, unknown> {
  try {
    const value = JSON.parse(body);
    return typeof value === "object" && value !== null ? value : {};
  } catch {
    return {};
  }
}

/** What a probe that got no response, or an unexpected one, came to. */
function describe(probe: Probe, host: string): string {
  if (probe.curlExit !== 0 || probe.status === 0) {
    return `no response from ${host} (curl exit ${probe.curlExit}${
      probe.error ? `: ${probe.error}` : ""
    })`;
  }
  const rule = probe.block || String(json(probe.body).rule ?? "");
  return `${probe.status}${rule ? ` ${rule}` : ""} from ${host}`;
}

/** Step 1: 200 from the upstream, which saw the injected token, over the bottle CA. */
export function judgeAllowed(probe: Probe): StepVerdict {
  const body = json(probe.body);
  if (probe.curlExit === 0 && probe.status === 200 && body.token === "injected") {
    if (!/bot-bottle CA /.test(probe.issuer)) {
      return {
        passed: false,
        outcome: `200, but the certificate was not the bottle CA's (issuer "${probe.issuer}")`,
      };
    }
    return { passed: true, outcome: DEMO_STEPS[0].expected };
  }
  if (probe.status === 401) {
    return { passed: false, outcome: `401 from ${DEMO_HOST}: the sidecar injected no token` };
  }
  return { passed: false, outcome: describe(probe, DEMO_HOST) };
}

/** Step 2: the proxy's 403 `host_not_allowlisted`. */
export function judgeUnlisted(probe: Probe): StepVerdict {
  if (probe.status === 403 && probe.block === "host_not_allowlisted") {
    return { passed: true, outcome: DEMO_STEPS[1].expected };
  }
  return { passed: false, outcome: describe(probe, UNLISTED_HOST) };
}

/**
 * Step 3: the proxy's 403 `dlp_outbound` by `token_patterns`, and the upstream never saw the
 * request (`upstreamSaw`).
 */
export function judgeDlp(probe: Probe, upstreamSaw: boolean): StepVerdict {
  const detector = String(json(probe.body).detector ?? "");
  if (probe.status === 403 && probe.block === "dlp_outbound" && detector === "token_patterns") {
    if (upstreamSaw) {
      return { passed: false, outcome: "403, but the upstream received the request" };
    }
    return { passed: true, outcome: DEMO_STEPS[2].expected };
  }
  if (probe.status === 403 && probe.block === "dlp_outbound") {
    return { passed: false, outcome: `403 dlp_outbound by detector "${detector}"` };
  }
  return { passed: false, outcome: describe(probe, DEMO_HOST) };
}

/** What the upstream repository holds after step 4. */
export interface PushFacts {
  /** The commit `demo/clean` points at upstream, or null when absent. */
  cleanUpstream: string | null;
  /** Whether `demo/leak` exists upstream. */
  leakUpstream: boolean;
}

/**
 * Step 4: the clean push landed (git-gate passes clean work), the leaking one was refused with a
 * gitleaks finding (`rule aws-access-token:`, as git-gate reports gitleaks rules) and never
 * reached the upstream.
 */
export function judgePush(output: string, facts: PushFacts): StepVerdict {
  const clean = /^clean=pushed ([0-9a-f]{40})$/m.exec(output)?.[1];
  if (clean === undefined) {
    const why = lastLine(output, "clean-out: ");
    return { passed: false, outcome: `a clean push was refused too${why ? ` (${why})` : ""}` };
  }
  if (facts.cleanUpstream !== clean) {
    return { passed: false, outcome: "the clean push did not reach the upstream" };
  }
  if (/^leak=pushed$/m.test(output) || facts.leakUpstream) {
    return { passed: false, outcome: "the commit with the key was pushed upstream" };
  }
  if (!/^leak-out: remote: git-gate: +rule aws-access-token: /m.test(output)) {
    const why = lastLine(output, "leak-out: ");
    return { passed: false, outcome: `refused, but not by gitleaks${why ? ` (${why})` : ""}` };
  }
  return { passed: true, outcome: DEMO_STEPS[3].expected };
}

function lastLine(output: string, prefix: string): string {
  const lines = output.split("\n").filter((l) => l.startsWith(prefix) && l.length > prefix.length);
  return (lines.at(-1) ?? "").slice(prefix.length).replace(/^remote: /, "").trim().slice(0, 160);
}

/** What the upstream's request log says: did any request reach `path` with `method`? */
export function upstreamSaw(log: string, method: string, path: string): boolean {
  return log.split("\n").some((line) => {
    try {
      const record = JSON.parse(line);
      return record.method === method && record.path === path;
    } catch {
      return false;
    }
  });
}

/**
 * A fresh AWS-access-key-shaped value (`AKIA` + 16 of `A-Z2-7`): never a real key, random so
 * no allowlist of documentation keys (`…EXAMPLE`) lets it through.
 */
export function fakeAwsKey(random: (n: number) => Uint8Array = randomBytes): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  return "AKIA" + Array.from(random(16), (b) => alphabet[b % 32]).join("");
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}
