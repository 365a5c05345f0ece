/**
 * Routes granted by `bot-bottle supervise` (SPEC §9.2), pure: the text an operator edits for the
 * `m` key (the route as the `egress.routes` entry of a bottle manifest, so it can be pasted into
 * one to make it permanent), reading it back with the manifest's own rules, and the check every
 * granted route passes: a public hostname (no loopback, IP literal, single-label, `.local`,
 * `.internal` or bundle name), no `auth`.
 *
 * @module
 */
import { Document, isScalar, isSeq, visit } from "yaml";
import { UsageError } from "../lib/errors.ts";
import {
  DEFAULT_MAX_BODY_BYTES,
  parseManifest,
  routeHostProblem,
  upstreamProblem,
  validateBottle,
} from "../manifest/mod.ts";
import { MANIFEST_OUTBOUND_DETECTORS } from "../manifest/route_rules.ts";
import type { RouteMatch, SidecarRoute } from "../sidecar/control/protocol.ts";

/**
 * What is wrong with a route about to go live in a bottle, or `undefined` when it may.
 *
 * @example
 * ```ts
 * grantedRouteProblem({ ...route, host: "localhost" }); // "host must not be a loopback name"
 * ```
 */
export function grantedRouteProblem(route: SidecarRoute): string | undefined {
  if (typeof route.host !== "string") return "host is missing";
  const host = routeHostProblem(route.host);
  if (host !== undefined) return `host ${host}`;
  if (route.auth !== null && route.auth !== undefined) {
    return "auth is not allowed: a route granted by supervise never carries a credential";
  }
  if (
    !Array.isArray(route.ports) || route.ports.length === 0 ||
    !route.ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)
  ) return "ports must be a list of port numbers";
  if (route.upstream !== null && route.upstream !== undefined) {
    const upstream = upstreamProblem(route.upstream);
    if (upstream !== undefined) return `upstream ${upstream}`;
  }
  return undefined;
}

/** Text a bottle controls, on one line without control characters, quoted. */
function quoted(text: string, max = 200): string {
  // deno-lint-ignore no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ");
  return JSON.stringify(clean.length > max ? `${clean.slice(0, max - 1)}…` : clean);
}

/** A route as the `egress.routes` entry of a manifest (SPEC §4.2). */
export function manifestRoute(route: SidecarRoute): Record<string, unknown> {
  const entry: Record<string, unknown> = { host: route.host, ports: [...route.ports] };
  if (route.matches !== null) entry.matches = structuredClone(route.matches);
  entry.dlp = {
    outbound_detectors: route.dlp.outboundDetectors,
    inbound_detectors: route.dlp.inboundDetectors,
    outbound_on_match: route.dlp.onMatch,
  };
  if (route.upstream !== null) entry.upstream = route.upstream;
  entry.max_body_bytes = route.maxBodyBytes;
  return entry;
}

/** Where an edited route comes from, for the comment at the top of the file. */
export interface RouteSnippetContext {
  id: number;
  slug: string;
  /** The agent's reason. */
  reason: string;
}

/**
 * The file an operator edits to modify a requested route: a bottle manifest's front matter
 * holding just this route.
 */
export function routeSnippet(route: SidecarRoute, context: RouteSnippetContext): string {
  return [
    "---",
    `# bot-bottle supervise: proposal ${context.id} of bottle ${quoted(context.slug)} asks for`,
    `# this route. The agent's reason: ${quoted(context.reason)}`,
    "# Edit it, save and quit: it goes live in that bottle only, for the bottle's life. To keep",
    "# it, copy the entry into the bottle's manifest. `auth` is not allowed here. Leave the file",
    "# unchanged or empty to decide nothing.",
    routeYaml(route),
    "---",
    "",
  ].join("\n");
}

/**
 * The manifest snippet of a route a decision granted (approved or modified), shown to the
 * operator so they can make it permanent (SPEC §9.2): the bottle manifest's front matter
 * holding just this route.
 */
export function grantedRouteSnippet(
  route: SidecarRoute,
  context: Pick<RouteSnippetContext, "id" | "slug">,
): string {
  return [
    "---",
    `# bot-bottle supervise: proposal ${context.id} granted this route to bottle ${
      quoted(context.slug)
    }`,
    "# only, for its life. To keep it, copy the entry into the bottle's manifest.",
    routeYaml(route),
    "---",
    "",
  ].join("\n");
}

/** `egress.routes: [route]` as YAML, lists of plain values on one line. */
function routeYaml(route: SidecarRoute): string {
  const doc = new Document({ egress: { routes: [manifestRoute(route)] } });
  visit(doc, {
    Seq(_, node) {
      if (isSeq(node) && node.items.every((i) => isScalar(i))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false }).trimEnd();
}

/** What {@linkcode parseRouteSnippet} read. */
export type RouteEdit =
  | { kind: "unchanged" }
  | { kind: "empty" }
  | { kind: "route"; route: SidecarRoute };

/** JSON with object keys sorted, so key order does not make two routes differ. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function sameRoute(a: SidecarRoute, b: SidecarRoute): boolean {
  return canonical(manifestRoute(a)) === canonical(manifestRoute(b));
}

/**
 * Reads an edited route back with the manifest's rules (host rules, `matches`, `dlp`,
 * `upstream`, `max_body_bytes`), and refuses `auth`.
 *
 * @param file the name errors use for the edited file.
 * @throws {ManifestError} (exit 3) for YAML or manifest-rule problems, with line and column.
 * @throws {UsageError} for a file without exactly one route, or a route with `auth`.
 */
export function parseRouteSnippet(
  text: string,
  original: SidecarRoute,
  file: string,
): RouteEdit {
  const meaningful = text.split("\n").filter((l) => !/^\s*(#.*)?$/.test(l) && !/^---\s*$/.test(l));
  if (meaningful.length === 0) return { kind: "empty" };
  const parsed = parseManifest(text.endsWith("\n") ? text : `${text}\n`, file);
  const data = validateBottle(parsed, "supervise").data;
  const extra = Object.keys(data).filter((k) => k !== "egress");
  const routes = data.egress?.routes ?? [];
  if (extra.length > 0 || routes.length !== 1) {
    throw new UsageError(
      `Cannot use the edited route in "${file}": it must hold exactly one entry under egress.routes and nothing else`,
      {
        hint: "Edit the route entry only; leave the file empty to decide nothing",
      },
    );
  }
  const r = routes[0];
  if (r.auth !== undefined) {
    throw new UsageError(`Cannot use the edited route in "${file}": \`auth\` is not allowed`, {
      hint: "A route granted by supervise never carries a credential; add it to a manifest instead",
    });
  }
  const route: SidecarRoute = {
    host: r.host.toLowerCase(),
    ports: r.ports ? [...r.ports] : [443, 80],
    origin: original.origin,
    auth: null,
    matches: (r.matches as RouteMatch[] | undefined) ?? null,
    dlp: {
      outboundDetectors: r.dlp?.outbound_detectors ?? [...MANIFEST_OUTBOUND_DETECTORS],
      inboundDetectors: r.dlp?.inbound_detectors ?? ["naive_injection_detection"],
      onMatch: r.dlp?.outbound_on_match ?? "supervise",
    },
    upstream: r.upstream ?? null,
    maxBodyBytes: r.max_body_bytes ?? DEFAULT_MAX_BODY_BYTES,
  };
  if (sameRoute(route, original)) return { kind: "unchanged" };
  return { kind: "route", route };
}
