import assert from "node:assert/strict";
import {
  type Check,
  DISK_FAIL_BYTES,
  DISK_WARN_BYTES,
  doctorExitCode,
  doctorJson,
  formatChecks,
  judgeDisk,
  judgeEngine,
  judgeRuntime,
  summaryLine,
} from "../../../src/doctor/checks.ts";

Deno.test("formatChecks prints SPEC §14.2's line, a fix line under it and a summary", () => {
  const checks: Check[] = [
    { status: "ok", name: "engine", detail: "Docker Engine 27.1.1, API 1.46 at unix:///x" },
    {
      status: "fail",
      name: "credentials",
      detail: "bottle claude: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN is not set",
      fix: "Export BOT_BOTTLE_CLAUDE_OAUTH_TOKEN",
    },
    { status: "warn", name: "disk", detail: "3.0 GiB free", fix: "Free space" },
  ];
  assert.equal(
    formatChecks(checks),
    [
      "ok   engine      Docker Engine 27.1.1, API 1.46 at unix:///x",
      "fail credentials bottle claude: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN is not set",
      "     fix: Export BOT_BOTTLE_CLAUDE_OAUTH_TOKEN",
      "warn disk        3.0 GiB free",
      "     fix: Free space",
      "doctor: 1 failure, 1 warning",
      "",
    ].join("\n"),
  );
  const painted = formatChecks(checks.slice(0, 1), { paint: (t, s) => `<${s}>${t}</>` });
  assert.ok(painted.startsWith("<ok>ok  </> engine "), painted);
});

Deno.test("summaryLine, doctorJson and doctorExitCode agree on the same checks", () => {
  const ok: Check = { status: "ok", name: "engine", detail: "x" };
  const warn: Check = { status: "warn", name: "disk", detail: "y", fix: "f" };
  const fail: Check = { status: "fail", name: "home", detail: "z", fix: "g" };
  assert.equal(summaryLine([ok, ok]), "doctor: all 2 checks ok");
  assert.equal(summaryLine([ok, warn, warn]), "doctor: 2 warnings");
  assert.equal(summaryLine([fail, fail, warn]), "doctor: 2 failures, 1 warning");
  assert.deepEqual(doctorJson([ok, warn, fail]), {
    ok: false,
    checks: [ok, warn, fail],
    summary: { ok: 1, warn: 1, fail: 1 },
  });
  assert.equal(doctorJson([ok, warn]).ok, true);
  assert.equal(doctorExitCode([ok, warn]), 0, "warnings do not fail doctor");
  assert.equal(doctorExitCode([ok, fail]), 1);
});

Deno.test("judgeEngine: unreachable fails with the engine's hint; old engines get the DNS notice", () => {
  const down = judgeEngine({
    reachable: false,
    message: "Cannot connect to the Docker engine at unix:///nope: no such socket",
    hint: "Start the engine",
  });
  assert.deepEqual(down.map((c) => [c.status, c.name, c.fix]), [
    ["fail", "engine", "Start the engine"],
    ["warn", "engine-dns", undefined],
  ]);
  assert.match(down[1].detail, /not checked: the engine is unreachable/);
  const at = (v: string) =>
    judgeEngine({ reachable: true, endpoint: "unix:///s", serverVersion: v, apiVersion: "1.41" });
  const old = at("20.10.24+dfsg1");
  assert.equal(old[0].detail, "Docker Engine 20.10.24+dfsg1, API 1.41 at unix:///s");
  assert.equal(old[0].status, "ok");
  assert.equal(old[1].status, "warn");
  assert.match(old[1].detail, /older than 25\.0\.5.*CVE-2024-29018/);
  assert.match(old[1].fix!, /Upgrade Docker Engine to 25\.0\.5/);
  assert.equal(at("25.0.5")[1].status, "ok");
  assert.equal(at("28.1.1")[1].status, "ok");
  assert.equal(at("25.0.4")[1].status, "warn");
  assert.equal(at("")[1].status, "warn", "an engine that does not say its version");
});

Deno.test("judgeRuntime fails only for a BOT_BOTTLE_RUNTIME the engine cannot honour", () => {
  const cases: [string[], string | undefined, Check["status"], RegExp][] = [
    [["runc"], undefined, "ok", /on runc; gVisor \(runsc\) is not installed \(optional\)/],
    [["runc", "runsc"], undefined, "ok", /on runc; gVisor \(runsc\) is available/],
    [["runc", "runsc"], "runsc", "ok", /on runsc/],
    [["runc"], "runsc", "fail", /BOT_BOTTLE_RUNTIME=runsc, but the engine has no runsc/],
    [["runc"], "kata", "fail", /"kata" is not runc or runsc/],
    [["runc"], "  ", "ok", /on runc/],
  ];
  for (const [runtimes, setting, status, detail] of cases) {
    const check = judgeRuntime(runtimes, setting);
    assert.equal(check.status, status, `${runtimes} ${setting}`);
    assert.match(check.detail, detail);
    if (status === "fail") assert.ok(check.fix);
  }
});

Deno.test("judgeDisk fails under 1 GiB, warns under 5 GiB and when it cannot read", () => {
  const checks = judgeDisk([
    { what: "the home", path: "/h", freeBytes: DISK_FAIL_BYTES - 1 },
    { what: "the home", path: "/h", freeBytes: DISK_WARN_BYTES - 1 },
    { what: "the home", path: "/h", freeBytes: DISK_WARN_BYTES },
    { what: "the engine", path: "/var/lib/docker", error: "no permission" },
  ]);
  assert.deepEqual(checks.map((c) => c.status), ["fail", "warn", "ok", "warn"]);
  assert.equal(checks[2].detail, "5.0 GiB free for the home (/h)");
  assert.match(checks[3].detail, /unknown: no permission/);
  assert.match(checks[3].fix!, /df -h \/var\/lib\/docker/);
  assert.ok(checks[0].fix);
});
