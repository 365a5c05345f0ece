/**
 * Rules for route hosts and upstreams: defined with the sidecar, which checks the same rules
 * for routes requested at run time (`request-egress-route`), so there is one definition.
 *
 * @module
 */
export {
  BUNDLE_NAMES,
  manifestRouteHostProblem,
  routeHostProblem,
  routeSuffix,
  suffixRouteProblem,
  upstreamProblem,
} from "../sidecar/net/hosts.ts";
