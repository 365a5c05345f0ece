/**
 * Manifests (SPEC §3, §4): parsing, validation, composition and resolution of bottle and agent
 * manifests, plus the loader that finds them in the home and the repository.
 *
 * Pure: `parse.ts` (front matter), `schema.ts` (zod), `compose.ts` (extends and merge),
 * `resolve.ts` (agent + bottles → {@linkcode ResolvedAgent}), `env.ts` (env entries; the
 * prompter is a port). I/O: `scan.ts` (the directories, names only; cheap to import, so
 * `list` reaches it directly to check its cache without loading the parser) and `load.ts` (the
 * file-system catalog over a scan).
 *
 * @module
 */
export { formatIssue, ManifestError, type ManifestIssue } from "./errors.ts";
export { type ParsedManifest, parseManifest, type Position } from "./parse.ts";
export {
  type AgentManifest,
  agentSchema,
  type BottleManifest,
  bottleSchema,
  DEFAULT_MAX_BODY_BYTES,
  validateAgent,
  validateBottle,
} from "./schema.ts";
export { routeHostProblem, upstreamProblem } from "./hosts.ts";
export {
  type BottleLookup,
  bottleNotFound,
  composeBottles,
  type ComposedBottle,
  mergeOrder,
  parentsOf,
} from "./compose.ts";
export {
  classifyEnv,
  type EnvKind,
  type EnvSpec,
  type ResolvedEnv,
  type ResolveEnvOptions,
  resolveEnvValues,
} from "./env.ts";
export {
  agentNotFound,
  DEFAULT_PROTECTED_BRANCHES,
  type ManifestCatalog,
  type ManifestSource,
  resolveAgent,
  type ResolvedAgent,
  type ResolvedProvider,
  type ResolvedRoute,
  type ResolveOptions,
  resolveProvider,
  type RouteOrigin,
} from "./resolve.ts";
export { type CatalogOptions, FileCatalog, type ManifestEntry, openCatalog } from "./load.ts";
export { ManifestScan, openManifestScan } from "./scan.ts";
export {
  loadPlugin,
  PLUGIN_PLACEHOLDERS,
  type PluginMcpStyle,
  pluginNameProblem,
  pluginNames,
  type PluginSpec,
  validatePlugin,
} from "./plugins.ts";
export {
  baseUrlProblem,
  checkProviderSettings,
  DEFAULT_PI_PROVIDER,
  parsePiSettings,
  type PiModel,
  type PiSettings,
} from "./provider_settings.ts";
export { type ParsedYaml, parseYamlFile } from "./parse.ts";
