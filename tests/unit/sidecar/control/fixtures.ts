/** Configs for the control tests: one with every field set, secrets easy to search for. */
import type { SidecarConfig } from "../../../../src/sidecar/control/protocol.ts";

/** Values that must never appear in a file, a log line or an error message. */
export const SECRETS = {
  slot: "ghp_FAKESECRETVALUE0123456789abcdefABCD",
  canary: "bbcanaryDEADBEEFCAFE1234",
  known: "hunter2-known-secret-value",
  caKey: "-----BEGIN PRIVATE KEY-----\nFAKEKEYMATERIAL\n-----END PRIVATE KEY-----\n",
};

/** A certificate-shaped PEM (content is not parsed). */
export const CA_CERT_PEM = "-----BEGIN CERTIFICATE-----\nRkFLRUNFUlQ=\n-----END CERTIFICATE-----\n";

/** A valid config with two routes, a CA and every secret field filled. */
export function sampleConfig(): SidecarConfig {
  return {
    slug: "demo",
    egressLog: 1,
    routes: [
      {
        host: "gitea.example.test",
        ports: [443],
        origin: "manifest bottles/demo.md",
        auth: { scheme: "token", slot: "EGRESS_TOKEN_1" },
        matches: [{ prefix: "/api/v1/repos" }],
        dlp: {
          outboundDetectors: ["token_patterns", "known_secrets"],
          inboundDetectors: false,
          onMatch: "supervise",
        },
        upstream: null,
        maxBodyBytes: 1048576,
      },
      {
        host: "api.example.test",
        ports: [443, 8443],
        origin: "provider claude",
        auth: null,
        matches: null,
        dlp: {
          outboundDetectors: false,
          inboundDetectors: ["naive_injection_detection"],
          onMatch: "redact",
        },
        upstream: "https://upstream.example.test:8443",
        maxBodyBytes: 0,
      },
    ],
    slots: { EGRESS_TOKEN_1: SECRETS.slot },
    canary: SECRETS.canary,
    knownSecrets: [SECRETS.known],
    ca: { certPem: CA_CERT_PEM, keyPem: SECRETS.caKey },
    extraCaPem: null,
  };
}

/** Fails when any secret value occurs in `text`. */
export function assertNoSecret(text: string, where: string): void {
  for (const [name, value] of Object.entries(SECRETS)) {
    const probe = name === "caKey" ? "FAKEKEYMATERIAL" : value;
    if (text.includes(probe)) throw new Error(`${where} contains the ${name} secret`);
  }
}
