/**
 * Proposals for tests: `proposal` message bodies of each kind (what a sidecar files, SPEC §9.3)
 * and {@linkcode ProposalRecord}s with overrides. Pure, so unit tests can use it.
 *
 * @module
 */
import type {
  ProposalBody,
  SidecarRoute,
  TokenAllowDetail,
  TokenAllowFinding,
} from "../../src/sidecar/control/protocol.ts";
import { openHostStore, type ProposalRecord, ProposalStore } from "../../src/store/mod.ts";

/** The fixed clock of proposal tests. */
export const T0 = 1_750_000_000_000;

/** A route as `request-egress-route` would ask for it. */
export function requestedRoute(host = "pypi.org"): SidecarRoute {
  return {
    host,
    ports: [443],
    origin: "supervise",
    auth: null,
    matches: [{ methods: ["GET"] }],
    dlp: {
      outboundDetectors: ["token_patterns", "known_secrets"],
      inboundDetectors: ["naive_injection_detection"],
      onMatch: "supervise",
    },
    upstream: null,
    maxBodyBytes: 32 * 1024 * 1024,
  };
}

/** A `proposal` body of each kind, held until `expiresAt` (null: filed for review). */
export function proposalBody(
  kind: ProposalBody["kind"],
  key: string,
  expiresAt: number | null = T0 + 300_000,
): ProposalBody {
  const base = { key, held: expiresAt !== null, expiresAt };
  switch (kind) {
    case "egress-token-allow":
      return {
        ...base,
        kind,
        summary: "POST gitea.example.com /api/v1/…: token_patterns",
        detail: {
          host: "gitea.example.com",
          method: "POST",
          path: "/api/v1/repos",
          detector: "token_patterns",
          rule: "github_pat",
          location: "body",
          context: '"token": "********"',
        },
      };
    case "egress-route":
      return {
        ...base,
        kind,
        summary: 'pypi.org GET: "need the requests package"',
        detail: {
          host: "pypi.org",
          ports: [443],
          methods: ["GET"],
          paths: null,
          reason: "need the requests package",
          route: requestedRoute(),
        },
      };
    case "gitleaks-allow":
      return {
        ...base,
        kind,
        summary: "api refs/heads/x: aws-access-key in src/f.ts:3",
        detail: {
          repo: "api",
          ref: "refs/heads/x",
          commit: "0123456789abcdef0123456789abcdef01234567",
          file: "src/f.ts",
          line: 3,
          rule: "aws-access-key",
        },
      };
  }
}

/**
 * The detail of a held request listing `findings` (as a sidecar sends it now; the
 * `egress-token-allow` body above is the older shape with one top-level finding only).
 */
export function listedDetail(findings: TokenAllowFinding[], omitted = 0): TokenAllowDetail {
  return {
    host: "gitea.example.com",
    method: "POST",
    path: "/api/v1/repos",
    ...findings[0],
    findings,
    omitted,
  };
}

/** `n` findings: an AWS key in the body first, then random path segments. */
export function someFindings(n: number): TokenAllowFinding[] {
  return Array.from({ length: n }, (_, i) =>
    i === 0
      ? {
        detector: "token_patterns",
        rule: "aws_access_key_id",
        location: "body $.key",
        context: '{"key":"********"}',
      }
      : {
        detector: "entropy",
        rule: "random_path_segment",
        location: "path",
        context: `/v1/********/item${i}`,
      });
}

/** A pending proposal record of `kind`, with overrides. */
export function proposalRecord(
  kind: ProposalBody["kind"] = "egress-token-allow",
  overrides: Partial<ProposalRecord> = {},
): ProposalRecord {
  const body = proposalBody(kind, overrides.key ?? "k1");
  return {
    id: 1,
    slug: "shell-ab12c",
    key: body.key,
    kind: body.kind,
    summary: body.summary,
    detail: body.detail as unknown as Record<string, unknown>,
    held: body.held,
    createdAt: T0,
    expiresAt: body.expiresAt,
    status: "pending",
    decidedAt: null,
    decidedBy: null,
    reason: null,
    decision: null,
    deliveredAt: null,
    delivery: null,
    deliveryError: null,
    deliveryAttempts: 0,
    nextAttemptAt: null,
    ...overrides,
  };
}

/**
 * Records a pending, review-only `egress-route` proposal ("GET pypi.org") of `slug` in the host
 * database at `path` (created if missing), as a bottle's sidecar would file it.
 */
export function recordRouteProposal(path: string, slug: string): ProposalRecord | undefined {
  const host = openHostStore(path);
  try {
    return new ProposalStore(host).record({
      slug,
      key: "route-pypi",
      kind: "egress-route",
      summary: "GET pypi.org",
      detail: {},
      held: false,
      createdAt: Date.now(),
      expiresAt: null,
    });
  } finally {
    host.close();
  }
}
