/**
 * The orchestrator's HTTP edge (SPEC §13.2): a Hono app made by {@linkcode createApp} from its
 * dependencies (tested in-process with `app.request()`), and {@linkcode serveOrchestrator} that
 * binds it with `Deno.serve`.
 *
 * Routes: `POST /webhook` (webhook.ts), `GET /healthz`, `GET /runs` and `GET /` (dashboard.ts,
 * behind auth.ts on a non-loopback bind).
 *
 * @module
 */
import { Hono } from "hono";
import { FailureError } from "../lib/errors.ts";
import type { Context } from "hono";
import { dashboardAccess, dashboardCookie } from "./auth.ts";
import { type ProposalView, renderDashboard, runsView } from "./dashboard.ts";
import type { OrchestratorStore } from "./types.ts";
import { webhookRoute } from "./webhook.ts";

/** A health probe: resolves `null` when fine, else a short value-free reason. */
export type HealthProbe = () => Promise<string | null>;

/** What the app needs. */
export interface AppDeps {
  store: OrchestratorStore;
  webhookSecret: string;
  forgeUrl: string;
  /** The bind address (auth: loopback or not). */
  host: string;
  dashboardToken: string | null;
  /** The engines' health (`engine` in `/healthz`); fine without it. */
  engineHealth?: HealthProbe;
  /** Pending supervise proposals of run slugs (read-only). */
  proposals?: (slugs: string[]) => ProposalView[];
  /** Called after a delivery stored a job (the orchestrator's `wake()`). */
  onJob?: (jobId: number) => void;
  /** One line per delivery. */
  log?: (line: string) => void;
  now?: () => number;
  /** Dashboard poll interval (default 3000 ms). */
  refreshMs?: number;
}

/**
 * Builds the orchestrator's Hono app.
 *
 * @example
 * ```ts
 * const app = createApp({ store, webhookSecret, forgeUrl, host: "127.0.0.1", dashboardToken: null });
 * const res = await app.request("/healthz");
 * ```
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const now = deps.now ?? Date.now;

  app.post(
    "/webhook",
    webhookRoute({
      store: deps.store,
      secret: deps.webhookSecret,
      log: deps.log,
      onJob: deps.onJob,
    }),
  );

  app.get("/healthz", async (c) => {
    let db = "ok";
    try {
      deps.store.run(0);
    } catch {
      db = "unavailable";
    }
    let engine = "ok";
    if (deps.engineHealth) {
      try {
        engine = (await deps.engineHealth()) ?? "ok";
      } catch {
        engine = "unavailable";
      }
    }
    const ok = db === "ok" && engine === "ok";
    return c.json({ ok, db, engine }, ok ? 200 : 503);
  });

  const guard = (c: Context): Response | null => {
    const access = dashboardAccess({
      url: c.req.url,
      authorization: c.req.header("authorization") ?? null,
      cookie: c.req.header("cookie") ?? null,
    }, { host: deps.host, token: deps.dashboardToken });
    if (access.kind === "allow") return null;
    if (access.kind === "set-cookie") {
      const secure = new URL(c.req.url).protocol === "https:";
      return new Response(null, {
        status: 303,
        headers: {
          location: access.location,
          "set-cookie": dashboardCookie(deps.dashboardToken ?? "", secure),
          "cache-control": "no-store",
        },
      });
    }
    return c.json({ ok: false, error: access.error, hint: access.hint }, access.status);
  };

  const view = () =>
    runsView(deps.store, { forgeUrl: deps.forgeUrl, now: now(), proposals: deps.proposals });

  app.get("/runs", (c) => {
    const denied = guard(c);
    if (denied) return denied;
    c.header("cache-control", "no-store");
    return c.json(view());
  });

  app.get("/", (c) => {
    const denied = guard(c);
    if (denied) return denied;
    c.header("cache-control", "no-store");
    c.header(
      "content-security-policy",
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    c.header("x-content-type-options", "nosniff");
    return c.html(renderDashboard(view(), { refreshMs: deps.refreshMs }));
  });

  app.notFound((c) => c.json({ ok: false, error: "not found" }, 404));
  app.onError((error, c) => {
    deps.log?.(`http: ${c.req.method} ${c.req.path} failed: ${errorName(error)}`);
    return c.json({ ok: false, error: "internal error" }, 500);
  });
  return app;
}

function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : "unknown";
}

/** A running server. */
export interface OrchestratorServer extends AsyncDisposable {
  /** `http://host:port`. */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish. */
  shutdown(): Promise<void>;
}

/**
 * Serves `app` on `host:port` (port 0 picks a free one).
 *
 * @throws {FailureError} (exit 1) when the address cannot be bound.
 */
export function serveOrchestrator(
  app: Hono,
  opts: { host: string; port: number; signal?: AbortSignal },
): Promise<OrchestratorServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: opts.host,
        port: opts.port,
        signal: opts.signal,
        onListen: (addr) => {
          const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
          const url = `http://${host}:${addr.port}`;
          resolve({
            url,
            port: addr.port,
            shutdown: () => server.shutdown(),
            [Symbol.asyncDispose]: () => server.shutdown(),
          });
        },
      }, app.fetch);
    } catch (error) {
      const why = error instanceof Deno.errors.AddrInUse
        ? "the address is in use"
        : error instanceof Deno.errors.PermissionDenied
        ? "permission denied"
        : error instanceof Error
        ? error.message
        : String(error);
      reject(
        new FailureError(`Cannot listen on ${opts.host}:${opts.port}: ${why}`, {
          hint: "Set FORGE_WEBHOOK_HOST and FORGE_WEBHOOK_PORT to a free local address and port",
          cause: error,
        }),
      );
    }
  });
}
