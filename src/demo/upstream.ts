/**
 * The demo's throwaway upstream (SPEC §14.1): one container of `bot-bottle-demo-upstream`
 * (`src/bottle/images/demo-upstream.Dockerfile`) serving HTTPS for `demo.bot-bottle.test` and an SSH git
 * server, joined to the bottle's egress network only, under the name
 * {@linkcode UPSTREAM_ALIAS}. It carries the bottle's labels (slug, home, version; service
 * `demo-upstream`), so the bottle's teardown, `destroy` and `cleanup` remove it with the rest.
 *
 * Everything secret-like is made per run and uploaded before the container starts: the SSH host
 * key, the key git-gate may push with, the HTTPS certificate (signed by a CA minted for the run,
 * which only the sidecar trusts) and the token the sidecar injects.
 *
 * @module
 */
import type { BaseImages } from "../bottle/base_images.ts";
import { EXTRA_CA_DIR, extraCaFiles, type ImageSpec } from "../bottle/image_spec.ts";
import {
  containerArchivePut,
  containerCreate,
  containerInspect,
  containerLogs,
  containerStart,
  type EngineClient,
  execRun,
  LABELS,
  tarCreate,
  waitUntil,
} from "../engine/mod.ts";
import { readAsset, readAssetText } from "../lib/assets.ts";
import { FailureError } from "../lib/errors.ts";

/** The upstream's name on the egress network: the route's `upstream` and the git server. */
export const UPSTREAM_ALIAS = "demo-upstream.bot-bottle.test";

/** The `io.bot-bottle.service` label of the upstream container. */
export const UPSTREAM_SERVICE = "demo-upstream";

/** The bare repository the agent clones and pushes to. */
export const DEMO_REPO_PATH = "/srv/git/demo.git";

const IMAGE_DIR = "src/bottle/images";

/** The image name: `bot-bottle-demo-upstream:<version>`. */
export function upstreamImageName(version: string): string {
  return `bot-bottle-demo-upstream:${version}`;
}

/** Options of {@linkcode upstreamImageSpec}. */
export interface UpstreamImageSpecOptions {
  version: string;
  baseImages: Pick<BaseImages, "deno">;
  /** PEM of the extra CAs (`loadExtraCaCerts().pem`), if any. */
  extraCaPem?: string;
}

/**
 * The upstream's image: the Deno base image the sidecar uses plus OpenSSH and git, with the
 * HTTPS server and its start script.
 *
 * @throws {ConfigError} for unusable `extraCaPem`.
 */
export async function upstreamImageSpec(options: UpstreamImageSpecOptions): Promise<ImageSpec> {
  return {
    name: upstreamImageName(options.version),
    dockerfile: await readAssetText(`${IMAGE_DIR}/demo-upstream.Dockerfile`),
    files: [
      ...extraCaFiles(EXTRA_CA_DIR, options.extraCaPem),
      { path: "server.ts", data: await readAsset(`${IMAGE_DIR}/demo-upstream-server.ts`) },
      { path: "start.sh", data: await readAsset(`${IMAGE_DIR}/demo-upstream-start.sh`) },
    ],
    buildArgs: { DENO_IMAGE: options.baseImages.deno },
    labels: { [LABELS.version]: options.version },
  };
}

/** What the upstream needs for one run. */
export interface UpstreamSecrets {
  /** sshd's host key, OpenSSH private key PEM. */
  hostKeyPem: string;
  /** The public line of the key git-gate pushes with (user git's only authorized key). */
  clientPublicLine: string;
  /** The HTTPS certificate and key for `demo.bot-bottle.test`. */
  certPem: string;
  keyPem: string;
  /** The token the sidecar injects (`Authorization: Bearer …`). */
  token: string;
}

/** Options of {@linkcode startUpstream}. */
export interface StartUpstreamOptions {
  slug: string;
  version: string;
  /** The bottle's `io.bot-bottle.home`. */
  homeId: string;
  image: string;
  /** The bottle's egress network. */
  network: string;
  /** How long the servers may take to listen; default 30 s. */
  readyTimeoutMs?: number;
}

/** A started upstream. */
export interface Upstream {
  id: string;
  name: string;
  /** The upstream's HTTPS request log (JSON lines: method, path, authorized, bodyLength). */
  requestLog(): Promise<string>;
  /** The commit `branch` points at in the demo repository, or null when it does not exist. */
  branchCommit(branch: string): Promise<string | null>;
}

/**
 * Creates the upstream on `network` (alias {@linkcode UPSTREAM_ALIAS}), uploads its keys,
 * certificate and token, starts it and waits until both servers listen.
 *
 * @throws {EngineError} when the engine refuses; an `Error` when the servers do not come up.
 */
export async function startUpstream(
  client: EngineClient,
  secrets: UpstreamSecrets,
  options: StartUpstreamOptions,
): Promise<Upstream> {
  const name = `bot-bottle-demo-upstream-${options.slug}`;
  const { Id: id } = await containerCreate(client, name, {
    Image: options.image,
    Labels: {
      [LABELS.slug]: options.slug,
      [LABELS.service]: UPSTREAM_SERVICE,
      [LABELS.version]: options.version,
      [LABELS.home]: options.homeId,
    },
    HostConfig: {
      NetworkMode: options.network,
      Init: true,
      PidsLimit: 256,
      Memory: 512 * 1024 * 1024,
      SecurityOpt: ["no-new-privileges"],
    },
    NetworkingConfig: {
      EndpointsConfig: { [options.network]: { Aliases: [UPSTREAM_ALIAS] } },
    },
  });
  const root = { mode: 0o600, uid: 0, gid: 0 };
  await containerArchivePut(
    client,
    id,
    "/etc",
    tarCreate([
      { path: "ssh/ssh_host_ed25519_key", data: secrets.hostKeyPem, ...root },
      {
        path: "ssh/authorized_keys/git",
        data: `${secrets.clientPublicLine}\n`,
        ...root,
        mode: 0o644,
      },
      { path: "demo-upstream/cert.pem", data: secrets.certPem, ...root, mode: 0o644 },
      { path: "demo-upstream/key.pem", data: secrets.keyPem, ...root },
      { path: "demo-upstream/token", data: `${secrets.token}\n`, ...root },
    ]),
  );
  await containerStart(client, id);
  try {
    await waitUntil(`the demo upstream "${name}" to listen`, async () => {
      const ready = await execRun(client, id, ["test", "-e", "/tmp/demo-upstream/ready"]);
      return ready.exitCode === 0 ? true : undefined;
    }, { timeoutMs: options.readyTimeoutMs ?? 30_000 });
  } catch (error) {
    const state = await containerInspect(client, id).then((i) => i.State.Status, () => "unknown");
    const logs = await containerLogs(client, id, { tail: 5 }).catch(() => undefined);
    const text = logs ? new TextDecoder().decode(logs.stderr).trim().split("\n").join(" | ") : "";
    throw new FailureError(
      `Cannot start the demo upstream "${name}" (container ${state})${text ? `: ${text}` : ""}`,
      {
        cause: error,
        hint: "Run the demo again with --verbose; if it persists, remove the image " +
          `${options.image} so the next run rebuilds it`,
      },
    );
  }
  return {
    id,
    name,
    async requestLog() {
      const r = await execRun(client, id, ["cat", "/tmp/demo-upstream/requests.jsonl"]);
      return r.exitCode === 0 ? r.stdoutText : "";
    },
    async branchCommit(branch) {
      const r = await execRun(client, id, [
        "git",
        "-C",
        DEMO_REPO_PATH,
        "rev-parse",
        "--verify",
        "--quiet",
        `refs/heads/${branch}^{commit}`,
      ], { user: "git" });
      return r.exitCode === 0 ? r.stdoutText.trim() : null;
    },
  };
}
