import assert from "node:assert/strict";
import { formatLogLine, SidecarLog } from "../../../src/sidecar/log.ts";

Deno.test("formatLogLine writes ts, daemon and event first, then the fields", () => {
  const line = formatLogLine(new Date(0), "control", "config-applied", { routes: 2 });
  assert.equal(
    line,
    '{"ts":"1970-01-01T00:00:00.000Z","daemon":"control","event":"config-applied","routes":2}\n',
  );
});

Deno.test("formatLogLine never lets a field overwrite ts, daemon or event", () => {
  const line = JSON.parse(formatLogLine(new Date(0), "dns", "refused", { daemon: "x", ts: 1 }));
  assert.equal(line.daemon, "dns");
  assert.equal(line.ts, "1970-01-01T00:00:00.000Z");
});

Deno.test("SidecarLog drops lines above its level; level 1 until a config says", () => {
  const lines: string[] = [];
  const log = new SidecarLog({ write: (l) => lines.push(l), now: () => new Date(0) });
  assert.equal(log.level, 1);
  log.info(0, "init", "starting");
  log.info(1, "egress", "blocked");
  log.info(2, "egress", "request");
  assert.deepEqual(lines.map((l) => JSON.parse(l).event), ["starting", "blocked"]);
  log.level = 0;
  log.info(1, "egress", "blocked");
  log.level = 2;
  log.info(2, "dns", "refused");
  assert.deepEqual(lines.map((l) => JSON.parse(l).event), ["starting", "blocked", "refused"]);
});
