/**
 * The base images bot-bottle builds its own images on, and their overrides (SPEC §3, §6.6).
 * Defaults are the official images; each can be replaced by an environment variable (for a
 * mirror, a pinned digest, or an image built offline by `scripts/images.ts`).
 *
 * @module
 */
import type { EnvReader } from "../lib/home.ts";
import { processEnv } from "../lib/home.ts";

/** The pinned gitleaks release the sidecar ships. */
export const GITLEAKS_VERSION = "v8.30.1";

/** The Deno release the sidecar runs on. */
export const SIDECAR_DENO_VERSION = "2.9.6";

/** The base images, by role. */
export interface BaseImages {
  /** Debian base of the others (the `FROM` of the offline stand-ins). */
  debian: string;
  /** Base of agent images (`BASE_IMAGE` build arg): must have user `node` (uid 1000). */
  agent: string;
  /** Runtime stage of the sidecar (`DENO_IMAGE`). */
  deno: string;
  /** The stage that supplies `/usr/bin/gitleaks` to the sidecar (`GITLEAKS_IMAGE`). */
  gitleaks: string;
}

/** The official images, used when no override is set. */
export const DEFAULT_BASE_IMAGES: Readonly<BaseImages> = {
  debian: "debian:bookworm-slim",
  agent: "node:22-slim",
  deno: `denoland/deno:debian-${SIDECAR_DENO_VERSION}`,
  gitleaks: `zricethezav/gitleaks:${GITLEAKS_VERSION}`,
};

/** The environment variable that overrides each base image. */
export const BASE_IMAGE_VARIABLES: Readonly<Record<keyof BaseImages, string>> = {
  debian: "BOT_BOTTLE_DEBIAN_IMAGE",
  agent: "BOT_BOTTLE_AGENT_BASE_IMAGE",
  deno: "BOT_BOTTLE_DENO_IMAGE",
  gitleaks: "BOT_BOTTLE_GITLEAKS_IMAGE",
};

/**
 * The base images in force: each override variable if set and non-empty, else the default.
 *
 * @example
 * ```ts
 * baseImages((n) => n === "BOT_BOTTLE_AGENT_BASE_IMAGE" ? "mirror/node:22" : undefined).agent;
 * // "mirror/node:22"
 * ```
 */
export function baseImages(env: EnvReader = processEnv): BaseImages {
  const pick = (role: keyof BaseImages) =>
    env(BASE_IMAGE_VARIABLES[role])?.trim() || DEFAULT_BASE_IMAGES[role];
  return {
    debian: pick("debian"),
    agent: pick("agent"),
    deno: pick("deno"),
    gitleaks: pick("gitleaks"),
  };
}
