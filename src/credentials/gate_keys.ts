/**
 * git-gate's upstream credentials on the host (SPEC §8): `static` keys are read from their files
 * (sent only to the sidecar, over the control channel), `gitea` provisioner tokens must be set
 * (the host uses them for the deploy-key API). Errors are exit 5 and name the file or variable,
 * never a value.
 *
 * @module
 */
import { CredentialsError } from "../lib/errors.ts";
import type { EnvReader } from "../lib/home.ts";
import type { ResolvedAgent } from "../manifest/mod.ts";

/** Expands `~/` in a key path; other paths must be absolute. */
export function keyPath(path: string, env: EnvReader, repo: string): string {
  if (path.startsWith("~/")) {
    const home = env("HOME");
    if (!home) {
      throw new CredentialsError(`Cannot read the key of git-gate repo "${repo}": HOME is not set`);
    }
    return `${home.replace(/\/$/, "")}/${path.slice(2)}`;
  }
  if (!path.startsWith("/")) {
    throw new CredentialsError(
      `Cannot read the key of git-gate repo "${repo}": "${path}" is not an absolute path`,
      { hint: 'Write key.path as an absolute path or one starting with "~/"' },
    );
  }
  return path;
}

/**
 * Reads every `static` key and checks every `gitea` provisioner token is set.
 *
 * @returns repo name → private key text (secret).
 * @throws {CredentialsError} naming the file or the variable.
 */
export async function readGateKeys(
  gitGate: ResolvedAgent["gitGate"],
  env: EnvReader,
): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const repo of gitGate) {
    if (repo.key.provider === "gitea") {
      const name = repo.key.provisionerToken;
      if (!env(name)) {
        throw new CredentialsError(
          `Cannot use git-gate repo "${repo.name}": ${name} is not set`,
          {
            hint: `Export ${name} with a Gitea token that may manage the repository's deploy keys`,
          },
        );
      }
      continue;
    }
    const path = keyPath(repo.key.path, env, repo.name);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? "it does not exist"
        : "it cannot be read";
      throw new CredentialsError(
        `Cannot read the key of git-gate repo "${repo.name}" at "${path}": ${reason}`,
        {
          hint: `Create one with \`ssh-keygen -t ed25519 -N "" -f ${path}\` and add ${path}.pub ` +
            "to the repository as a deploy key with write access",
        },
      );
    }
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
      throw new CredentialsError(
        `Cannot use the key of git-gate repo "${repo.name}" at "${path}": not a private key file`,
        { hint: "key.path names the private key (without .pub), unencrypted" },
      );
    }
    if (/ENCRYPTED|Proc-Type: 4,ENCRYPTED/.test(text) || isEncryptedOpenSsh(text)) {
      throw new CredentialsError(
        `Cannot use the key of git-gate repo "${repo.name}" at "${path}": it has a passphrase`,
        { hint: "The gate cannot ask for passphrases; use a dedicated deploy key without one" },
      );
    }
    keys.set(repo.name, text);
  }
  return keys;
}

/** Whether an OpenSSH private key file is encrypted (its cipher name is not `none`). */
function isEncryptedOpenSsh(text: string): boolean {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END/.exec(text);
  if (!m) return false;
  try {
    const raw = atob(m[1].replace(/\s+/g, ""));
    // "openssh-key-v1\0", then a string: uint32 length + cipher name.
    const at = "openssh-key-v1\0".length;
    const len = (raw.charCodeAt(at) << 24) | (raw.charCodeAt(at + 1) << 16) |
      (raw.charCodeAt(at + 2) << 8) | raw.charCodeAt(at + 3);
    return raw.slice(at + 4, at + 4 + len) !== "none";
  } catch {
    return false;
  }
}
