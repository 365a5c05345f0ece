import assert from "node:assert/strict";
import {
  EngineNotFoundError,
  volumeCreate,
  volumeInspect,
  volumeList,
  volumeRemove,
} from "../../../src/engine/mod.ts";
import { engineFixture, engineTest, TEST_SESSION_LABEL } from "../../helpers/engine.ts";

engineTest("volumeCreate labels a volume; inspect, list by label and remove work", async () => {
  await using fx = await engineFixture();
  const name = fx.name("vol");
  const created = await volumeCreate(fx.client, name, {
    labels: { ...fx.labels, "io.bot-bottle.service": "home" },
  });
  assert.equal(created.Name, name);
  const inspected = await volumeInspect(fx.client, name);
  assert.equal(inspected.Driver, "local");
  assert.equal(inspected.Labels?.[TEST_SESSION_LABEL], fx.sessionId);
  assert.equal(inspected.Labels?.["io.bot-bottle.service"], "home");
  const listed = await volumeList(fx.client, {
    labels: { ...fx.labels, "io.bot-bottle.service": "home" },
  });
  assert.deepEqual(listed.map((v) => v.Name), [name]);
  assert.deepEqual(await volumeList(fx.client, { labels: { [TEST_SESSION_LABEL]: "nobody" } }), []);
  await volumeRemove(fx.client, name);
  await assert.rejects(volumeInspect(fx.client, name), (e: unknown) => {
    assert.ok(e instanceof EngineNotFoundError);
    assert.ok(e.message.startsWith(`Cannot inspect volume "${name}": `));
    return true;
  });
});
