import assert from "node:assert/strict";
import {
  parsePaxRecords,
  paxRecords,
  splitUstarPath,
  tarCreate,
  tarRead,
} from "../../../src/engine/tar.ts";
import { EngineApiError } from "../../../src/engine/errors.ts";
import { dec, enc } from "../../helpers/bytes.ts";

const field = (block: Uint8Array, offset: number, length: number) =>
  dec(block.subarray(offset, offset + length)).replace(/\0.*$/s, "");

Deno.test("tarCreate writes a ustar header with octal fields and a valid checksum", () => {
  const tar = tarCreate([{
    path: "hello.txt",
    data: "hi\n",
    mode: 0o640,
    uid: 1000,
    gid: 1000,
    mtime: 1_700_000_000,
  }]);
  const h = tar.subarray(0, 512);
  assert.equal(field(h, 0, 100), "hello.txt");
  assert.equal(field(h, 100, 8), "0000640");
  assert.equal(field(h, 108, 8), "0001750");
  assert.equal(field(h, 124, 12), "00000000003");
  assert.equal(field(h, 136, 12), (1_700_000_000).toString(8).padStart(11, "0"));
  assert.equal(String.fromCharCode(h[156]), "0");
  assert.equal(dec(h.subarray(257, 263)), "ustar\0");
  assert.equal(dec(h.subarray(263, 265)), "00");
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  assert.equal(parseInt(field(h, 148, 7), 8), sum);
});

Deno.test("tarCreate pads data to 512 bytes and ends with two zero blocks", () => {
  const tar = tarCreate([{ path: "a", data: "x".repeat(513) }]);
  assert.equal(tar.length, 512 + 1024 + 1024);
  assert.ok(tar.subarray(512 + 513).every((b) => b === 0));
  assert.equal(tarCreate([]).length, 1024);
});

Deno.test("tarCreate marks directories and symlinks with their type flags", () => {
  const entries = tarRead(tarCreate([
    { path: "dir", type: "dir" },
    { path: "dir/link", type: "symlink", linkname: "../target" },
  ]));
  assert.deepEqual(entries.map((e) => [e.path, e.type, e.typeflag, e.linkname, e.mode]), [
    ["dir/", "dir", "5", "", 0o755],
    ["dir/link", "symlink", "2", "../target", 0o777],
  ]);
});

Deno.test("tarRead round-trips content, mode, owner and mtime", () => {
  const data = new Uint8Array(1500).map((_, i) => i % 251);
  const [entry] = tarRead(tarCreate([{
    path: "bin/tool",
    data,
    mode: 0o755,
    uid: 1000,
    gid: 1001,
    uname: "node",
    gname: "staff",
    mtime: new Date("2024-01-02T03:04:05Z"),
  }]));
  assert.equal(entry.path, "bin/tool");
  assert.deepEqual(entry.data, data);
  assert.equal(entry.size, 1500);
  assert.equal(entry.mode, 0o755);
  assert.equal(entry.uid, 1000);
  assert.equal(entry.gid, 1001);
  assert.equal(entry.uname, "node");
  assert.equal(entry.gname, "staff");
  assert.equal(entry.mtime, Date.parse("2024-01-02T03:04:05Z") / 1000);
});

Deno.test("splitUstarPath splits at a slash so prefix ≤ 155 and name ≤ 100", () => {
  const path = enc(`${"d".repeat(120)}/${"f".repeat(90)}`);
  const split = splitUstarPath(path)!;
  assert.equal(split.prefix.length, 120);
  assert.equal(split.name.length, 90);
  assert.equal(splitUstarPath(enc("short"))!.prefix.length, 0);
  assert.equal(splitUstarPath(enc("x".repeat(101))), undefined);
  assert.equal(splitUstarPath(enc(`${"d".repeat(10)}/${"f".repeat(101)}`)), undefined);
});

Deno.test("tarCreate stores a 200-character path in the ustar prefix field", () => {
  const path = `${"a".repeat(99)}/${"b".repeat(100)}`;
  const tar = tarCreate([{ path, data: "x" }]);
  assert.notEqual(String.fromCharCode(tar[156]), "x", "no PAX header needed");
  assert.equal(field(tar, 345, 155), "a".repeat(99));
  assert.equal(tarRead(tar)[0].path, path);
});

Deno.test("tarCreate falls back to a PAX header for a path ustar cannot hold", () => {
  const path = `deep/${"n".repeat(150)}.txt`;
  const tar = tarCreate([{ path, data: "pax" }]);
  assert.equal(String.fromCharCode(tar[156]), "x");
  const entries = tarRead(tar);
  assert.equal(entries.length, 1);
  assert.equal(entries[0].path, path);
  assert.equal(dec(entries[0].data), "pax");
});

Deno.test("tarCreate uses a PAX linkpath for a long symlink target", () => {
  const target = `/${"t".repeat(140)}`;
  const [entry] = tarRead(tarCreate([{ path: "l", type: "symlink", linkname: target }]));
  assert.equal(entry.linkname, target);
});

Deno.test("paxRecords counts the record length including its own digits", () => {
  const records = paxRecords({ path: "a".repeat(91) });
  const text = dec(records);
  const length = Number(text.split(" ")[0]);
  assert.equal(length, records.length);
  assert.equal(length, 101, "98 bytes + 2 digits = 100 needs 3 digits, so 101");
  assert.deepEqual(parsePaxRecords(records), { path: "a".repeat(91) });
  assert.equal(dec(paxRecords({ path: "a".repeat(90) })).split(" ")[0], "99");
});

Deno.test("tarRead keeps UTF-8 names", () => {
  const [entry] = tarRead(tarCreate([{ path: "répertoire/naïve.txt", data: "é" }]));
  assert.equal(entry.path, "répertoire/naïve.txt");
  assert.equal(dec(entry.data), "é");
});

Deno.test("tarRead reads GNU long names and base-256 numbers", () => {
  const longName = `${"g".repeat(120)}.txt`;
  const tar = tarCreate([
    { path: "././@LongLink", data: `${longName}\0` },
    { path: "placeholder", data: "gnu", uid: 5 },
  ]);
  tar[156] = "L".charCodeAt(0);
  const second = tar.subarray(1024, 1536);
  second.fill(0, 108, 116);
  second[108] = 0x80;
  second[115] = 0x2a;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : second[i];
  second.set(enc(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
  const firstHeader = tar.subarray(0, 512);
  sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : firstHeader[i];
  firstHeader.set(enc(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
  const entries = tarRead(tar);
  assert.equal(entries.length, 1);
  assert.equal(entries[0].path, longName);
  assert.equal(entries[0].uid, 42);
});

Deno.test("tarRead rejects a corrupted header checksum", () => {
  const tar = tarCreate([{ path: "f", data: "x" }]);
  tar[0] = "g".charCodeAt(0);
  assert.throws(
    () => tarRead(tar),
    (e: unknown) => e instanceof EngineApiError && /checksum/.test(e.message),
  );
});

Deno.test("tarRead rejects an archive cut inside an entry's data", () => {
  const tar = tarCreate([{ path: "f", data: "x".repeat(2000) }]).subarray(0, 1024);
  assert.throws(() => tarRead(tar), /truncated/);
});
