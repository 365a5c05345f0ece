import assert from "node:assert/strict";
import {
  type BaseImageFacts,
  type ImageFacts,
  judgeBaseImages,
  judgeImages,
} from "../../../src/doctor/images.ts";

const image = (role: string, state: ImageFacts["state"]): ImageFacts => ({
  name: `bot-bottle-${role}:0.1.0`,
  role,
  bases: role === "sidecar" ? ["deno", "gitleaks"] : ["agent"],
  state,
});
const bases = (present: Partial<Record<BaseImageFacts["role"], boolean>>): BaseImageFacts[] =>
  (["agent", "deno", "gitleaks"] as const).map((role) => ({
    role,
    name: `${role}:base`,
    present: present[role] ?? true,
  }));

Deno.test("judgeImages: built, stale and missing images are fine; a missing prebuilt sidecar fails", () => {
  const checks = judgeImages([
    image("sidecar", "current"),
    image("shell", "stale"),
    image("claude", "missing"),
    { name: "mirror/sidecar:1", role: "sidecar", bases: [], state: "prebuilt-missing" },
  ]);
  assert.deepEqual(checks.map((c) => c.status), ["ok", "ok", "ok", "fail"]);
  assert.match(checks[0].detail, /bot-bottle-sidecar:0\.1\.0 is built and up to date/);
  assert.match(checks[1].detail, /out of date.*next start of a shell bottle rebuilds it/);
  assert.match(checks[2].detail, /not built yet; the first start of a claude bottle builds it/);
  assert.match(checks[3].detail, /mirror\/sidecar:1, named by BOT_BOTTLE_SIDECAR_IMAGE/);
  assert.match(checks[3].fix!, /unset BOT_BOTTLE_SIDECAR_IMAGE/);
});

Deno.test("judgeBaseImages warns only about a missing base a pending build needs", () => {
  const allBuilt = [image("sidecar", "current"), image("shell", "current")];
  assert.deepEqual(
    judgeBaseImages(bases({ deno: false }), allBuilt).map((c) => [c.status, c.detail]),
    [["ok", "agent:base, gitleaks:base present; deno:base not present (no build needs it now)"]],
  );
  const pending = [image("sidecar", "stale"), image("shell", "current")];
  const checks = judgeBaseImages(bases({ deno: false }), pending);
  assert.deepEqual(checks.map((c) => c.status), ["ok", "warn"]);
  assert.match(checks[1].detail, /deno:base is not in the engine; building bot-bottle-sidecar/);
  assert.match(checks[1].fix!, /BOT_BOTTLE_DENO_IMAGE/);
  assert.deepEqual(
    judgeBaseImages(bases({}), pending).map((c) => c.status),
    ["ok"],
  );
});
