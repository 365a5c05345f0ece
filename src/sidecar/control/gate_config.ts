/**
 * Checks of the `gitGate` part of the host's `config` (SPEC §8), pure. Every entry is rebuilt
 * from its known fields; errors name the field and the rule, never a value (a static key is a
 * secret).
 *
 * @module
 */

import { EXIT_FAILURE, SidecarError } from "../errors.ts";
import { type GateRepoConfig, type GateUpstream, isRecord } from "./protocol.ts";

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/**
 * A `known_hosts` key: type and blob, one line. The blob is any printable run, as the manifest
 * accepts it (SPEC §4.6 writes `AAAAC3Nza...`): a key that is not the server's fails the push's
 * host key check with ssh's own message, where it can be read, not the bottle's start.
 */
const HOST_KEY =
  /^(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-\S+) [\x21-\x7e]+$/;
const PATTERN = /^[A-Za-z0-9._\/*-]{1,200}$/;

function invalid(path: string, rule: string): SidecarError {
  return new SidecarError(`Cannot apply config: "${path}" ${rule}`, EXIT_FAILURE);
}

function patterns(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || !value.every((p) => typeof p === "string" && PATTERN.test(p))) {
    throw invalid(path, "must be an array of branch patterns");
  }
  return [...value];
}

function upstream(value: unknown, path: string): GateUpstream {
  if (!isRecord(value)) throw invalid(path, "must be an object");
  if (value.kind === "ssh") {
    if (typeof value.url !== "string" || value.url === "" || /[\s\0]/.test(value.url)) {
      throw invalid(`${path}.url`, "must be a URL without spaces");
    }
    if (value.url.startsWith("-")) throw invalid(`${path}.url`, "must not start with '-'");
    if (typeof value.hostKey !== "string" || !HOST_KEY.test(value.hostKey)) {
      throw invalid(`${path}.hostKey`, 'must be "<key type> <key>" on one line');
    }
    const key = value.key;
    if (isRecord(key) && key.provider === "static") {
      if (typeof key.privateKey !== "string" || !key.privateKey.includes("PRIVATE KEY")) {
        throw invalid(`${path}.key.privateKey`, "must be a private key file's text");
      }
      return {
        kind: "ssh",
        url: value.url,
        hostKey: value.hostKey,
        key: { provider: "static", privateKey: key.privateKey },
      };
    }
    if (isRecord(key) && key.provider === "gitea") {
      return { kind: "ssh", url: value.url, hostKey: value.hostKey, key: { provider: "gitea" } };
    }
    throw invalid(`${path}.key`, 'must be {provider: "static", privateKey} or {provider: "gitea"}');
  }
  if (value.kind === "local") {
    if (
      value.bundle !== null &&
      (typeof value.bundle !== "string" || !value.bundle.startsWith("/") ||
        value.bundle.includes(".."))
    ) {
      throw invalid(`${path}.bundle`, "must be null or an absolute path");
    }
    if (
      value.defaultBranch !== null &&
      (typeof value.defaultBranch !== "string" || !PATTERN.test(value.defaultBranch))
    ) {
      throw invalid(`${path}.defaultBranch`, "must be null or a branch name");
    }
    return {
      kind: "local",
      bundle: value.bundle as string | null,
      defaultBranch: value.defaultBranch as string | null,
    };
  }
  throw invalid(`${path}.kind`, 'must be "ssh" or "local"');
}

/**
 * Checks the `gitGate` list of a config (absent means none).
 *
 * @throws {SidecarError} naming the first invalid field.
 */
export function parseGateRepos(value: unknown): GateRepoConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid("gitGate", "must be an array");
  const names = new Set<string>();
  return value.map((repo, i) => {
    const path = `gitGate[${i}]`;
    if (!isRecord(repo)) throw invalid(path, "must be an object");
    if (typeof repo.name !== "string" || !NAME.test(repo.name) || repo.name.endsWith(".git")) {
      throw invalid(`${path}.name`, "must be a repository name");
    }
    if (names.has(repo.name)) throw invalid(`${path}.name`, "is used twice");
    names.add(repo.name);
    if (!isRecord(repo.refs)) throw invalid(`${path}.refs`, "must be an object");
    return {
      name: repo.name,
      upstream: upstream(repo.upstream, `${path}.upstream`),
      refs: {
        protected: patterns(repo.refs.protected, `${path}.refs.protected`),
        allow: patterns(repo.refs.allow, `${path}.refs.allow`),
      },
    };
  });
}
