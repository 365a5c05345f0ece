/**
 * Extra CA certificates (`BOT_BOTTLE_EXTRA_CA_CERTS`): trusted by image builds (so
 * `apt-get` and `npm` work behind a TLS-inspecting network) and by the sidecar's
 * upstream TLS (enterprise gateways, test upstreams). SPEC §3.
 *
 * The variable names one or more PEM files or directories, separated by `:`; a
 * directory contributes its `*.crt` and `*.pem` files in name order.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import type { EnvReader } from "./home.ts";
import { processEnv } from "./home.ts";

/** The extra CAs, ready to install. */
export interface ExtraCaCerts {
  /** Every certificate, PEM, each ending in a newline. */
  pem: string;
  /** How many certificates. */
  count: number;
  /** The files they came from. */
  sources: string[];
}

const CERT_RE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;

/**
 * Extracts the certificates of a PEM text.
 *
 * @throws {ConfigError} when the text holds no certificate, or a private key.
 */
export function parseCaPem(text: string, source: string): string[] {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new ConfigError(`Cannot use the extra CA file "${source}": it contains a private key`, {
      hint: "BOT_BOTTLE_EXTRA_CA_CERTS must name public certificates only",
    });
  }
  const certs = text.match(CERT_RE) ?? [];
  if (certs.length === 0) {
    throw new ConfigError(`Cannot use the extra CA file "${source}": no PEM certificate in it`, {
      hint: "Point BOT_BOTTLE_EXTRA_CA_CERTS at PEM files (-----BEGIN CERTIFICATE-----)",
    });
  }
  return certs.map((c) => c.replaceAll("\r\n", "\n") + "\n");
}

/**
 * Reads the extra CAs named by `BOT_BOTTLE_EXTRA_CA_CERTS`, or `undefined` when unset.
 *
 * @throws {ConfigError} when a named path is missing, unreadable or holds no certificate.
 */
export async function loadExtraCaCerts(
  env: EnvReader = processEnv,
): Promise<ExtraCaCerts | undefined> {
  const setting = env("BOT_BOTTLE_EXTRA_CA_CERTS");
  if (!setting) return undefined;
  const certs: string[] = [];
  const sources: string[] = [];
  for (const path of setting.split(":").filter((p) => p !== "")) {
    for (const file of await expand(path)) {
      let text: string;
      try {
        text = await Deno.readTextFile(file);
      } catch (error) {
        throw new ConfigError(`Cannot read the extra CA file "${file}": ${messageOf(error)}`, {
          cause: error,
          hint: "Fix or unset BOT_BOTTLE_EXTRA_CA_CERTS",
        });
      }
      certs.push(...parseCaPem(text, file));
      sources.push(file);
    }
  }
  if (certs.length === 0) {
    throw new ConfigError(
      `Cannot use BOT_BOTTLE_EXTRA_CA_CERTS "${setting}": no certificate found`,
      {
        hint: "Name PEM files, or directories holding *.crt or *.pem files",
      },
    );
  }
  return { pem: certs.join(""), count: certs.length, sources };
}

async function expand(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new ConfigError(`Cannot read the extra CA path "${path}": ${messageOf(error)}`, {
      cause: error,
      hint: "Fix or unset BOT_BOTTLE_EXTRA_CA_CERTS",
    });
  }
  if (!info.isDirectory) return [path];
  const files: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (!entry.isDirectory && /\.(crt|pem)$/.test(entry.name)) files.push(`${path}/${entry.name}`);
  }
  return files.sort();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A `fetch` that trusts the extra CA certificates besides the system roots (the host's own
 * HTTPS calls behind a TLS-inspecting network, e.g. the Gitea deploy-key API); plain `fetch`
 * when none are configured.
 */
export async function extraCaFetch(
  env: (name: string) => string | undefined,
): Promise<typeof fetch> {
  const extra = await loadExtraCaCerts(env);
  if (extra === null || extra === undefined) return fetch;
  const client = Deno.createHttpClient({ caCerts: [extra.pem] });
  return ((input: RequestInfo | URL, init?: RequestInit) =>
    fetch(input, { ...init, client })) as typeof fetch;
}
