/**
 * MCP servers every supervised bottle gets (SPEC §9.1) and the tool timeout agents need for
 * them: `request-egress-route` blocks until the operator decides, up to supervise's route
 * timeout (SPEC §9.2, `SUPERVISE_TIMEOUT_SECONDS`, 900 s by default), so the agent's own MCP
 * tool timeout sits above it.
 *
 * @module
 */
import { DEFAULT_SUPERVISE, type SuperviseSettings } from "../../sidecar/control/protocol.ts";
import type { McpServer } from "./types.ts";

/** The supervise MCP server on the sidecar's `supervise` alias (SPEC §6.4, §9.1). */
export const SUPERVISE_MCP: Readonly<McpServer> = {
  name: "supervise",
  url: "http://supervise:9100/",
};

/**
 * The agents' MCP tool-call timeout for a launch's supervise settings: the longest wait a
 * supervise tool blocks (`request-egress-route`, `SUPERVISE_TIMEOUT_SECONDS`) plus a minute.
 */
export function mcpToolTimeoutSeconds(
  settings: Pick<SuperviseSettings, "routeTimeoutSeconds">,
): number {
  return settings.routeTimeoutSeconds + 60;
}

/** {@linkcode mcpToolTimeoutSeconds} of the default settings (SUPERVISE_TIMEOUT_SECONDS unset). */
export const MCP_TOOL_TIMEOUT_SECONDS = mcpToolTimeoutSeconds(DEFAULT_SUPERVISE);

/** MCP server names: the manifest name rule. */
export const MCP_NAME_PATTERN = /^[a-z][a-z0-9-]*$/;
