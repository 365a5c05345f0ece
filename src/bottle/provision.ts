/**
 * Provisioning (SPEC §6.7 step 3): the prompt file, `~/.gitconfig` and skills go into the
 * agent's home through the archive endpoint with uid/gid 1000 (a root exec has no capability
 * to chown); one root exec installs the bottle's CA.
 *
 * @module
 */
import { containerArchivePut } from "../engine/archive.ts";
import { type EngineClient, execRun, tarCreate, type TarEntry } from "../engine/mod.ts";
import { FailureError } from "../lib/errors.ts";
import { agentGitConfig } from "./git_config.ts";
import { AGENT_CA_FILE, AGENT_HOME, type BottlePlan, SYSTEM_CA_BUNDLE } from "./plan.ts";

/**
 * Provisions a started agent container: `prompt` as the prompt file, the git identity as
 * `~/.gitconfig`, `extra` files (skills) under its home, and the bottle's CA.
 *
 * @throws {FailureError} when the CA cannot be installed. @throws {EngineError}.
 */
export async function provisionAgent(
  client: EngineClient,
  agentId: string,
  plan: BottlePlan,
  prompt: string,
  extra: TarEntry[],
): Promise<void> {
  const dirs = new Set<string>();
  for (const e of extra) {
    const parts = e.path.split("/");
    for (let i = 1; i < parts.length - 1; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const parents: TarEntry[] = [...dirs].filter((d) => !extra.some((e) => e.path === d)).sort()
    .map((d) => ({ path: d, type: "dir" as const, mode: 0o755, uid: 1000, gid: 1000 }));
  const files: TarEntry[] = [
    ...parents,
    ...extra,
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
  await containerArchivePut(client, agentId, AGENT_HOME, tarCreate(files));
  {
    const ca = await execRun(client, agentId, [
      "sh",
      "-c",
      // Appending to the bundle is what update-ca-certificates ends with, without its rehash
      // of every certificate (~0.5 s); the copy keeps it across a later update-ca-certificates.
      `test -f ${AGENT_CA_FILE} || exit 0; cp ${AGENT_CA_FILE} /usr/local/share/ca-certificates/bot-bottle-${plan.slug}.crt && cat ${AGENT_CA_FILE} >> ${SYSTEM_CA_BUNDLE}`,
    ], { user: "0:0" });
    if (ca.exitCode !== 0) {
      throw new FailureError(`Cannot install the bottle's CA in "${plan.slug}"`, {
        hint: ca.stderrText.trim().split("\n").at(-1)?.slice(0, 200),
      });
    }
  }
}
