import assert from "node:assert/strict";
import { type HomeFacts, judgeHome } from "../../../src/doctor/home.ts";

const home = (entries: HomeFacts["entries"]): HomeFacts => ({ root: "/h", exists: true, entries });

Deno.test("judgeHome: 0700 directories and 0600 secrets owned by the user are one ok line", () => {
  const checks = judgeHome(
    home([
      { path: "/h", role: "dir", mode: 0o700, uid: 1000 },
      { path: "/h/state", role: "dir", mode: 0o500, uid: 1000 },
      { path: "/h/bot-bottle.db", role: "secret", mode: 0o600, uid: 1000 },
      { path: "/h/state/x/ca/ca.key", role: "secret", mode: 0o400, uid: 1000 },
    ]),
    1000,
  );
  assert.deepEqual(checks, [{
    status: "ok",
    name: "home",
    detail: "/h: 2 directories 0700, 2 database and key files 0600",
  }]);
});

Deno.test("judgeHome fails each path open to group or others, with its chmod", () => {
  const checks = judgeHome(
    home([
      { path: "/h/state", role: "dir", mode: 0o755, uid: 1000 },
      { path: "/h/bot-bottle.db", role: "secret", mode: 0o640, uid: 1000 },
      { path: "/h/state/my slug/ca/ca.key", role: "secret", mode: 0o604, uid: 1000 },
      { path: "/h/agents", role: "dir", mode: 0o700, uid: 1000 },
    ]),
    1000,
  );
  assert.deepEqual(checks.map((c) => [c.status, c.detail, c.fix]), [
    ["fail", "/h/state is 0755; a directory must be 0700", "chmod 700 /h/state"],
    [
      "fail",
      "/h/bot-bottle.db is 0640; a database or key file must be 0600",
      "chmod 600 /h/bot-bottle.db",
    ],
    [
      "fail",
      "/h/state/my slug/ca/ca.key is 0604; a database or key file must be 0600",
      "chmod 600 '/h/state/my slug/ca/ca.key'",
    ],
  ]);
});

Deno.test("judgeHome fails a path owned by someone else, and says when there is no home", () => {
  const [owned] = judgeHome(home([{ path: "/h", role: "dir", mode: 0o700, uid: 0 }]), 1000);
  assert.equal(owned.status, "fail");
  assert.equal(owned.detail, "/h is owned by uid 0, not by you (uid 1000)");
  assert.equal(owned.fix, "chown 1000 /h");
  assert.equal(
    judgeHome(home([{ path: "/h", role: "dir", mode: 0o700, uid: 0 }]), null)[0].status,
    "ok",
  );
  const [missing] = judgeHome({ root: "/h", exists: false, entries: [] }, 1000);
  assert.equal(missing.status, "warn");
  assert.match(missing.fix!, /bot-bottle init/);
});
