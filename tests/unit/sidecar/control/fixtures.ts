/** Configs for the control tests: one with every field set, secrets easy to search for. */
import type { SidecarConfig } from "../../../../src/sidecar/control/protocol.ts";
import { CA_CERT_PEM, SECRETS } from "../../../helpers/sidecar_secrets.ts";

export { assertNoSecret, CA_CERT_PEM, SECRETS } from "../../../helpers/sidecar_secrets.ts";

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
        matches: [{ paths: [{ type: "prefix", value: "/api/v1/repos" }] }],
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
    gitGate: [],
  };
}
