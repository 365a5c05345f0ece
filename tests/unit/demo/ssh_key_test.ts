import assert from "node:assert/strict";
import { generateSshKey, openSshKeyPair } from "../../../src/demo/ssh_key.ts";

const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));

// RFC 8032, section 7.1, test 1.
const SEED = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const PUBLIC = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

/** Reads an unencrypted openssh-key-v1 PEM back into its fields. */
function parsePrivate(pem: string) {
  const match =
    /^-----BEGIN OPENSSH PRIVATE KEY-----\n([A-Za-z0-9+/=\n]+)-----END OPENSSH PRIVATE KEY-----\n$/
      .exec(pem);
  assert.ok(match, "PEM armour");
  for (const line of match[1].trimEnd().split("\n")) assert.ok(line.length <= 70, "wrapped at 70");
  const bytes = Uint8Array.from(atob(match[1].replaceAll("\n", "")), (c) => c.charCodeAt(0));
  let at = 0;
  const u32 = () => {
    const n = new DataView(bytes.buffer, at, 4).getUint32(0);
    at += 4;
    return n;
  };
  const str = () => {
    const n = u32();
    const out = bytes.slice(at, at + n);
    at += n;
    return out;
  };
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const magic = text(bytes.slice(0, 15));
  at = 15;
  const cipher = text(str());
  const kdf = text(str());
  const kdfOptions = str();
  const count = u32();
  const publicBlob = str();
  const section = str();
  assert.equal(at, bytes.length, "nothing after the private section");
  const all = bytes;
  const sectionStart = all.length - section.length;
  at = sectionStart;
  const check1 = u32();
  const check2 = u32();
  const type = text(str());
  const pub = str();
  const secret = str();
  const comment = text(str());
  const padding = all.slice(at);
  return {
    magic,
    cipher,
    kdf,
    kdfOptions,
    count,
    publicBlob,
    section,
    check1,
    check2,
    type,
    pub,
    secret,
    comment,
    padding,
  };
}

Deno.test("openSshKeyPair encodes RFC 8032's test key as OpenSSH writes it", () => {
  const key = openSshKeyPair(SEED, PUBLIC, 0x0badf00d, "demo");
  assert.equal(
    key.publicLine,
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea",
  );
  const p = parsePrivate(key.privatePem);
  assert.equal(p.magic, "openssh-key-v1\0");
  assert.deepEqual([p.cipher, p.kdf, p.kdfOptions.length, p.count], ["none", "none", 0, 1]);
  assert.equal(`ssh-ed25519 ${btoa(String.fromCharCode(...p.publicBlob))}`, key.publicLine);
  assert.equal(p.section.length % 8, 0, "padded to the block size");
  assert.deepEqual([p.check1, p.check2], [0x0badf00d, 0x0badf00d]);
  assert.equal(p.type, "ssh-ed25519");
  assert.deepEqual(p.pub, PUBLIC);
  assert.deepEqual(p.secret, new Uint8Array([...SEED, ...PUBLIC]), "secret = seed || public");
  assert.equal(p.comment, "demo");
  assert.deepEqual([...p.padding], Array.from({ length: p.padding.length }, (_, i) => i + 1));
});

Deno.test("openSshKeyPair refuses keys of the wrong size", () => {
  assert.throws(() => openSshKeyPair(SEED.slice(1), PUBLIC, 1), /32-byte/);
  assert.throws(() => openSshKeyPair(SEED, new Uint8Array(33), 1), /32-byte/);
});

Deno.test("generateSshKey draws a new key each time, whose public half matches the PEM", async () => {
  const a = await generateSshKey("x");
  const b = await generateSshKey("x");
  assert.notEqual(a.publicLine, b.publicLine);
  const p = parsePrivate(a.privatePem);
  assert.equal(`ssh-ed25519 ${btoa(String.fromCharCode(...p.publicBlob))}`, a.publicLine);
  assert.deepEqual(p.secret.slice(32), p.pub);
  assert.equal(p.check1, p.check2);
  // The seed signs what the public key verifies: the pair is one key, not two halves.
  const pkcs8 = new Uint8Array([
    ...hex("302e020100300506032b657004220420"),
    ...p.secret.slice(0, 32),
  ]);
  const priv = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  const pub = await crypto.subtle.importKey("raw", p.pub, { name: "Ed25519" }, false, ["verify"]);
  const message = new TextEncoder().encode("bot-bottle demo");
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, priv, message);
  assert.ok(await crypto.subtle.verify({ name: "Ed25519" }, pub, signature, message));
});
