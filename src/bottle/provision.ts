/**
 * Provisioning (SPEC §6.7 step 3): the prompt file, `~/.gitconfig`, skills and the template's
 * provider files go into the agent's home through the archive endpoint with uid/gid 1000 (a
 * root exec has no capability to chown), never a bind mount; one root exec installs the
 * bottle's CA; MCP servers are registered the template's way, a failure only warning with the
 * command to run by hand.
 *
 * Provider files marked `merge` are JSON merge patches: the file already in the home (a resumed
 * bottle's, written by the CLI itself) is read back through the archive endpoint and patched, so
 * the CLI's own state survives. Skills are wiped before the copy, so a resumed bottle holds
 * exactly the skills of the host.
 *
 * @module
 */
import { containerArchivePut, parsePathStat } from "../engine/archive.ts";
import { readAllBytes } from "../engine/bytes.ts";
import {
  type EngineClient,
  EngineNotFoundError,
  execRun,
  tarCreate,
  type TarEntry,
  tarRead,
} from "../engine/mod.ts";
import { FailureError } from "../lib/errors.ts";
import { agentGitConfig } from "./git_config.ts";
import {
  AGENT_CA_FILE,
  AGENT_HOME,
  AGENT_USER,
  type BottlePlan,
  SYSTEM_CA_BUNDLE,
} from "./plan.ts";
import { type McpServer, mergeJsonText, type ProviderFile } from "./providers/mod.ts";

/** Largest provider file read back from a home for a merge; a larger one is replaced. */
export const MAX_MERGED_FILE_BYTES = 16 * 1024 * 1024;

/** How long one `claude mcp add` may take before it counts as failed. */
const MCP_ADD_TIMEOUT_SECONDS = 60;

/** Options of {@linkcode provisionAgent}. */
export interface ProvisionOptions {
  /** Warnings for the operator (an MCP server that could not be registered). */
  note?: (line: string) => void;
  /** Debug lines (timings). */
  debug?: (line: string) => void;
}

/**
 * Provisions a started agent container: `prompt` as the prompt file, the git identity as
 * `~/.gitconfig`, `extra` files (skills, credential placeholders) and the plan's provider files
 * under its home, the bottle's CA, and the plan's MCP servers.
 *
 * @throws {FailureError} when the CA cannot be installed. @throws {EngineError}.
 */
export async function provisionAgent(
  client: EngineClient,
  agentId: string,
  plan: BottlePlan,
  prompt: string,
  extra: TarEntry[],
  options: ProvisionOptions = {},
): Promise<void> {
  await provisionAgentHome(client, agentId, plan, prompt, extra);
  await registerMcpServers(client, agentId, plan, options);
}

/**
 * The part of {@linkcode provisionAgent} that needs neither the network nor the sidecar: the
 * home's files and the bottle's CA in the system trust store. With `caCertPem` that certificate
 * is installed (the launch has it before the sidecar is configured, so this runs while the
 * sidecar starts); without it, the `ca.crt` the sidecar wrote to the config volume, if any.
 *
 * @throws {FailureError} when the CA cannot be installed. @throws {EngineError}.
 */
export async function provisionAgentHome(
  client: EngineClient,
  agentId: string,
  plan: BottlePlan,
  prompt: string,
  extra: TarEntry[],
  caCertPem?: string,
): Promise<void> {
  const provided = await providerEntries(client, agentId, plan.provision.files);
  const entries = [...extra, ...provided];
  const dirs = new Set<string>();
  for (const e of entries) {
    const parts = e.path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const parents: TarEntry[] = [...dirs].filter((d) => !entries.some((e) => e.path === d)).sort()
    .map((d) => ({ path: d, type: "dir" as const, mode: 0o755, uid: 1000, gid: 1000 }));
  const files: TarEntry[] = [
    // The workspace is the agent's own even on an image that does not create it (a plugin's or
    // a manifest's Dockerfile): the engine would make the working directory as root.
    ...(dirs.has("workspace") || entries.some((e) => e.path === "workspace")
      ? []
      : [{ path: "workspace", type: "dir" as const, mode: 0o755, uid: 1000, gid: 1000 }]),
    ...parents,
    ...entries,
    {
      path: plan.provision.promptFile.slice(AGENT_HOME.length + 1),
      data: prompt + (prompt.endsWith("\n") || prompt === "" ? "" : "\n"),
      mode: 0o644,
      uid: 1000,
      gid: 1000,
    },
  ];
  const { name, email } = plan.gitIdentity;
  const repos = [
    ...plan.gitGate.map((r) => ({ name: r.name, url: r.url })),
    ...plan.localRepos.map((r) => ({ name: r.name, url: null })),
  ];
  if (name || email || repos.length > 0) {
    files.push({
      path: ".gitconfig",
      data: agentGitConfig({ user: { name, email }, repos }),
      mode: 0o644,
      uid: 1000,
      gid: 1000,
    });
  }
  // The home's files and the CA install touch different paths: both at once.
  const upload = (async () => {
    await wipeSkills(client, agentId, plan);
    await containerArchivePut(client, agentId, AGENT_HOME, tarCreate(files));
  })();
  const installCa = (async () => {
    const copy = `/usr/local/share/ca-certificates/bot-bottle-${plan.slug}.crt`;
    // Appending to the bundle is what update-ca-certificates ends with, without its rehash of
    // every certificate (~0.5 s); the copy keeps it across a later update-ca-certificates. The
    // certificate is public: it may travel in the exec's argv.
    const argv = caCertPem === undefined
      ? [
        "sh",
        "-c",
        `test -f ${AGENT_CA_FILE} || exit 0; cp ${AGENT_CA_FILE} ${copy} && cat ${AGENT_CA_FILE} >> ${SYSTEM_CA_BUNDLE}`,
      ]
      : [
        "sh",
        "-c",
        `printf '%s' "$1" > ${copy} && printf '%s' "$1" >> ${SYSTEM_CA_BUNDLE}`,
        "sh",
        caCertPem.endsWith("\n") ? caCertPem : `${caCertPem}\n`,
      ];
    const ca = await execRun(client, agentId, argv, { user: "0:0" });
    if (ca.exitCode !== 0) {
      throw new FailureError(`Cannot install the bottle's CA in "${plan.slug}"`, {
        hint: ca.stderrText.trim().split("\n").at(-1)?.slice(0, 200),
      });
    }
  })();
  const [uploaded, installed] = await Promise.allSettled([upload, installCa]);
  if (uploaded.status === "rejected") throw uploaded.reason;
  if (installed.status === "rejected") throw installed.reason;
}

/** The command that registers `server` with claude by hand (for warnings and docs). */
export function claudeMcpAddArgv(server: McpServer): string[] {
  return [
    "claude",
    "mcp",
    "add",
    "--scope",
    "user",
    "--transport",
    "http",
    server.name,
    server.url,
  ];
}

/** Tar entries of the provider files; `merge` files are patched onto what the home holds. */
async function providerEntries(
  client: EngineClient,
  agentId: string,
  files: readonly ProviderFile[],
): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for (const file of files) {
    const data = file.write === "merge"
      ? mergeJsonText(await readHomeFile(client, agentId, file.path), file.content)
      : file.content;
    out.push({ path: file.path, data, mode: file.mode, uid: 1000, gid: 1000 });
  }
  return out;
}

/**
 * A regular file of the agent's home as text, or `null` when there is none, or it is a link, a
 * directory or anything but a regular file, or larger than {@linkcode MAX_MERGED_FILE_BYTES}.
 * The home is the agent's, so the file is judged by the engine's stat header before a byte of
 * it is read: a huge file never reaches the host's memory.
 */
export async function readHomeFile(
  client: EngineClient,
  agentId: string,
  path: string,
): Promise<string | null> {
  let response: Response;
  try {
    response = await client.request("GET", `/containers/${encodeURIComponent(agentId)}/archive`, {
      action: `Cannot read "${path}" in the agent's home`,
      id: agentId,
      query: { path: `${AGENT_HOME}/${path}` },
    });
  } catch (error) {
    if (error instanceof EngineNotFoundError) return null;
    throw error;
  }
  const header = response.headers.get("X-Docker-Container-Path-Stat");
  const stat = header ? parsePathStat(header) : undefined;
  // Go file-mode bits above the permissions mark directories, links, pipes, devices, setuid…
  if (stat === undefined || stat.mode >= 2 ** 19 || stat.size > MAX_MERGED_FILE_BYTES) {
    await response.body?.cancel();
    return null;
  }
  const tar = response.body ? await readAllBytes(response.body) : new Uint8Array(0);
  const entry = tarRead(tar)[0];
  if (entry === undefined || entry.type !== "file") return null;
  return new TextDecoder().decode(entry.data);
}

/** Removes the skills about to be copied, so none of a former copy's files stays. */
async function wipeSkills(client: EngineClient, agentId: string, plan: BottlePlan): Promise<void> {
  const { skills, skillsDir } = plan.provision;
  if (skills.length === 0 || skillsDir === null) return;
  const result = await execRun(
    client,
    agentId,
    ["rm", "-rf", "--", ...skills.map((s) => `${AGENT_HOME}/${skillsDir}/${s}`)],
    { user: AGENT_USER },
  );
  if (result.exitCode !== 0) {
    throw new FailureError(`Cannot replace the skills in "${plan.slug}"`, {
      hint: result.stderrText.trim().split("\n").at(-1)?.slice(0, 200),
    });
  }
}

/** Registers the plan's MCP servers the template's way; failures only warn. */
export async function registerMcpServers(
  client: EngineClient,
  agentId: string,
  plan: BottlePlan,
  options: ProvisionOptions,
): Promise<void> {
  const { style, servers } = plan.provision.mcp;
  if (servers.length === 0 || style === "codex") return;
  const names = servers.map((s) => `${s.name} (${s.url})`).join(", ");
  if (style === "none") {
    options.note?.(
      `warning: ${plan.agent.template} has no MCP client: ${names} not registered; an MCP client inside the bottle can reach ${
        servers.length === 1 ? "it" : "them"
      } at that URL`,
    );
    return;
  }
  for (const server of servers) {
    const argv = claudeMcpAddArgv(server);
    const started = performance.now();
    let failure: string | undefined;
    try {
      const result = await execRun(
        client,
        agentId,
        ["timeout", String(MCP_ADD_TIMEOUT_SECONDS), ...argv],
        { user: AGENT_USER, workingDir: AGENT_HOME },
      );
      if (result.exitCode !== 0) {
        failure = (result.stderrText.trim() || result.stdoutText.trim()).split("\n").at(-1)
          ?.slice(0, 200) || `exit ${result.exitCode}`;
      }
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    if (failure === undefined) {
      options.debug?.(`registered MCP server ${server.name} with claude mcp add (${seconds}s)`);
    } else {
      options.note?.(
        `warning: cannot register MCP server ${server.name}: ${failure}; inside the bottle run: ${
          argv.join(" ")
        }`,
      );
    }
  }
}
