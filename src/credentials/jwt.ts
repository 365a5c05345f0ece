/**
 * The little JWT handling host credentials need, pure: reading a token's claims (no signature
 * check: the host's own login file is trusted, the claims only tell its shape and expiry) and
 * writing placeholder tokens for the guest (`alg: none`, a fixed non-secret signature part), so
 * a CLI that parses its token finds the claims it reads and no credential.
 *
 * @module
 */

/** The signature part of every placeholder token (non-empty: CLIs require three parts). */
export const PLACEHOLDER_JWT_SIGNATURE = "egress-placeholder";

/** Why a string is not a readable JWT; never carries any part of the token. */
export type JwtProblem = "not_jwt" | "bad_payload";

/** Claims of a JWT, or the reason they cannot be read. */
export type JwtClaimsResult =
  | { ok: true; claims: Record<string, unknown> }
  | { ok: false; problem: JwtProblem };

/**
 * The payload claims of a compact JWT (`header.payload.signature`, base64url), unverified.
 *
 * @example
 * ```ts
 * const r = jwtClaims(token);
 * if (r.ok && typeof r.claims.exp === "number") console.log(r.claims.exp);
 * ```
 */
export function jwtClaims(token: string): JwtClaimsResult {
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => p === "" || !/^[A-Za-z0-9_-]+={0,2}$/.test(p))) {
    return { ok: false, problem: "not_jwt" };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(base64UrlDecode(parts[1])),
    );
  } catch {
    return { ok: false, problem: "bad_payload" };
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    return { ok: false, problem: "bad_payload" };
  }
  return { ok: true, claims: payload as Record<string, unknown> };
}

/**
 * A placeholder JWT carrying `claims`: header `{"alg":"none","typ":"JWT"}` and the fixed
 * signature part {@linkcode PLACEHOLDER_JWT_SIGNATURE}. Nothing in it is a credential.
 */
export function placeholderJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => base64UrlEncode(new TextEncoder().encode(JSON.stringify(value)));
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.${PLACEHOLDER_JWT_SIGNATURE}`;
}

function base64UrlDecode(text: string): Uint8Array {
  const b64 = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  const raw = atob(padded);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function base64UrlEncode(bytes: Uint8Array): string {
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}
