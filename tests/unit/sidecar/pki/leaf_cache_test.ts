import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { SidecarError } from "../../../../src/sidecar/errors.ts";
import { LeafCache, RENEW_BEFORE_MS } from "../../../../src/sidecar/pki/leaf_cache.ts";
import { importCa } from "../../../../src/sidecar/pki/ca.ts";
import { LEAF_LIFETIME_MS, mintLeaf } from "../../../../src/sidecar/pki/leaf.ts";
import { NOW, testCa } from "./fixture.ts";

/** A LeafCache around the real mintLeaf, counting mints per host, with a settable clock. */
async function countingCache(maxEntries?: number) {
  const pem = await testCa();
  const ca = await importCa(pem.certPem, pem.keyPem);
  const mints: string[] = [];
  const clock = { now: NOW };
  const cache = new LeafCache(ca, {
    maxEntries,
    now: () => clock.now,
    mint: (ca, host, options) => {
      mints.push(host);
      return mintLeaf(ca, host, options);
    },
  });
  return { cache, mints, clock };
}

Deno.test("LeafCache mints once for concurrent requests of the same host, any case", async () => {
  const { cache, mints } = await countingCache();
  const leaves = await Promise.all([
    cache.get("api.example.test"),
    cache.get("API.example.test"),
    cache.get("api.EXAMPLE.test"),
    cache.secureContextFor("api.example.test"),
  ]);
  assert.deepEqual(mints, ["api.example.test"]);
  const [first, ...rest] = leaves.slice(0, 3) as Awaited<ReturnType<LeafCache["get"]>>[];
  for (const leaf of rest) assert.equal(leaf, first);
  assert.equal(leaves[3], first.secureContext);
  assert.equal(first.host, "api.example.test");
  assert.equal(
    new X509Certificate(first.certPem).checkHost("api.example.test"),
    "api.example.test",
  );
  await cache.get("api.example.test");
  assert.equal(mints.length, 1, "cached afterwards");
  assert.equal(cache.size, 1);
});

Deno.test("LeafCache re-mints an hour before notAfter", async () => {
  const { cache, mints, clock } = await countingCache();
  const first = await cache.get("api.example.test");
  clock.now = new Date(first.notAfter.getTime() - RENEW_BEFORE_MS - 1);
  assert.equal(await cache.get("api.example.test"), first);
  clock.now = new Date(first.notAfter.getTime() - RENEW_BEFORE_MS);
  assert.equal(cache.has("api.example.test"), false);
  const second = await cache.get("api.example.test");
  assert.notEqual(second, first);
  assert.equal(second.notAfter.getTime(), clock.now.getTime() + LEAF_LIFETIME_MS);
  assert.deepEqual(mints, ["api.example.test", "api.example.test"]);
});

Deno.test("LeafCache evicts the least recently used host beyond its bound", async () => {
  const { cache, mints } = await countingCache(2);
  await cache.get("a.example.test");
  await cache.get("b.example.test");
  await cache.get("a.example.test"); // a is now the most recent
  await cache.get("c.example.test"); // evicts b
  assert.equal(cache.size, 2);
  assert.equal(cache.has("a.example.test"), true);
  assert.equal(cache.has("b.example.test"), false);
  assert.equal(cache.has("c.example.test"), true);
  await cache.get("b.example.test");
  assert.deepEqual(mints, ["a.example.test", "b.example.test", "c.example.test", "b.example.test"]);
  assert.throws(() => new LeafCache({} as never, { maxEntries: 0 }), RangeError);
});

Deno.test("LeafCache rejects an invalid host and does not cache a failed mint", async () => {
  const pem = await testCa();
  const ca = await importCa(pem.certPem, pem.keyPem);
  let calls = 0;
  const cache = new LeafCache(ca, {
    now: () => NOW,
    mint: (ca, host, options) => {
      calls++;
      return calls === 1 ? Promise.reject(new Error("boom")) : mintLeaf(ca, host, options);
    },
  });
  await assert.rejects(() => cache.get("*.example.test"), SidecarError);
  assert.equal(calls, 0, "an invalid host never reaches the mint");
  await assert.rejects(() => cache.get("api.example.test"), /boom/);
  assert.equal(cache.size, 0);
  const leaf = await cache.get("api.example.test");
  assert.equal(calls, 2);
  assert.ok(leaf.certPem.startsWith("-----BEGIN CERTIFICATE-----"));
});
