/**
 * Who may read the dashboard and `/runs` (SPEC §13.2). On a loopback bind anyone who can reach
 * the port (the host's users) may, by a loopback name (`Host`: a DNS-rebinding page is refused); on any other bind a request needs `FORGE_DASHBOARD_TOKEN` as
 * `Authorization: Bearer <token>`, or as `?token=` once (which sets an HttpOnly SameSite=Strict
 * cookie and redirects to the URL without the token), or as that cookie. Without a token
 * configured on a non-loopback bind the dashboard is off. Tokens compare in constant time.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** The cookie that carries the dashboard token after a `?token=` visit. */
export const DASHBOARD_COOKIE = "bb_dashboard";

/** Whether `host` (a bind address) is loopback only. */
export function isLoopbackBind(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Constant-time string equality (hashes first, so lengths do not leak either). */
export function tokenEquals(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** What the auth check decided. */
export type DashboardAccess =
  | { kind: "allow" }
  /** A valid `?token=`: set the cookie and redirect to `location`. */
  | { kind: "set-cookie"; location: string }
  | { kind: "deny"; status: 401 | 403; error: string; hint: string };

/** The request parts the check reads. */
export interface AccessRequest {
  url: string;
  authorization: string | null;
  cookie: string | null;
}

/** Decides whether a dashboard request may proceed. */
export function dashboardAccess(
  req: AccessRequest,
  opts: { host: string; token: string | null },
): DashboardAccess {
  if (isLoopbackBind(opts.host)) {
    // A page elsewhere whose name re-resolves to 127.0.0.1 (DNS rebinding) reaches the port
    // with its own name in Host: only loopback names read the dashboard.
    if (isLoopbackBind(new URL(req.url).hostname)) return { kind: "allow" };
    return {
      kind: "deny",
      status: 403,
      error: "the dashboard on a loopback bind answers only loopback host names",
      hint: "Open it as http://127.0.0.1:<port>/ or http://localhost:<port>/",
    };
  }
  if (opts.token === null) {
    return {
      kind: "deny",
      status: 403,
      error: "dashboard is off on a non-loopback bind without a token",
      hint: "Set FORGE_DASHBOARD_TOKEN, or bind FORGE_WEBHOOK_HOST to 127.0.0.1",
    };
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.authorization ?? "")?.[1];
  if (bearer !== undefined && tokenEquals(bearer, opts.token)) return { kind: "allow" };
  const cookie = cookieValue(req.cookie, DASHBOARD_COOKIE);
  if (cookie !== null && tokenEquals(cookie, opts.token)) return { kind: "allow" };
  const url = new URL(req.url);
  const query = url.searchParams.get("token");
  if (query !== null && tokenEquals(query, opts.token)) {
    url.searchParams.delete("token");
    return { kind: "set-cookie", location: url.pathname + url.search };
  }
  return {
    kind: "deny",
    status: 401,
    error: "dashboard token missing or wrong",
    hint: "Send Authorization: Bearer <FORGE_DASHBOARD_TOKEN>, or open /?token=<token> once",
  };
}

/** The `Set-Cookie` value for a valid `?token=` visit. */
export function dashboardCookie(token: string, secure: boolean): string {
  return `${DASHBOARD_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict${
    secure ? "; Secure" : ""
  }`;
}

function cookieValue(header: string | null, name: string): string | null {
  if (header === null) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}
