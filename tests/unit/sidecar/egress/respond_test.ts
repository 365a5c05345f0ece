/**
 * What the responder logs (SPEC §7.7): known secrets masked wherever the agent could put them,
 * the method and header names included.
 */
import assert from "node:assert/strict";
import { compileRoutes } from "../../../../src/sidecar/egress/decide.ts";
import { Reflector } from "../../../../src/sidecar/egress/reflect.ts";
import { Responder } from "../../../../src/sidecar/egress/respond.ts";
import { SidecarLog } from "../../../../src/sidecar/log.ts";

const KNOWN = "known-env-secret-7Qz";

function responder(): { r: Responder; lines: string[] } {
  const lines: string[] = [];
  const log = new SidecarLog({ level: 2, write: (line) => lines.push(line) });
  const masker = new Reflector([KNOWN], "<secret>");
  return { r: new Responder(log, () => masker), lines };
}

Deno.test("logForward masks known secrets in the method and in header names", () => {
  const { r, lines } = responder();
  const [route] = compileRoutes([{
    host: "api.example.com",
    ports: [443],
    origin: "manifest bottles/test.md",
    auth: null,
    matches: null,
    dlp: { outboundDetectors: false, inboundDetectors: false, onMatch: "block" },
    upstream: null,
    maxBodyBytes: 1024,
  }]);
  r.logForward({ route, host: "api.example.com", port: 443, path: "/", query: "" }, {
    method: KNOWN,
    path: "/",
    headers: [[KNOWN, "1"], ["x-b", KNOWN]],
    bodyBytes: 0,
  });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes(KNOWN), lines[0]);
  assert.match(lines[0], /<secret>/);
});

Deno.test("logBlock masks known secrets in the method", () => {
  const { r, lines } = responder();
  r.logBlock({ block: "canary", message: "m", location: "method" }, {
    host: "api.example.com",
    method: KNOWN,
    path: "/",
  });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes(KNOWN), lines[0]);
});

Deno.test("logBlock masks a known secret in the host whatever its case (names reach DNS in any case)", () => {
  const { r, lines } = responder();
  r.logBlock({ block: "dlp_outbound", message: "m", location: "hostname" }, {
    host: `${KNOWN.toUpperCase()}.example.test`,
    method: "GET",
    path: "/",
  });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].toLowerCase().includes(KNOWN.toLowerCase()), lines[0]);
  assert.match(lines[0], /"host":"<secret>\.example\.test"/);
});
