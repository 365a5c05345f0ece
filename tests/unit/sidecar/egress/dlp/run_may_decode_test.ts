/**
 * `runMayDecode` (the quick path's check of a base64-char run, read from bytes) against
 * `decodeRun` (the full scan's decoding): it may say yes where no view comes out, never no where
 * one does. Runs are built around the head rule's edge: hex and base64 of text with a few bytes
 * that are not printable, at every count near a fifth.
 */
import assert from "node:assert/strict";
import {
  decodeRun,
  RUN_ANY,
  RUN_HEX,
  runKind,
} from "../../../../../src/sidecar/egress/dlp/encoded.ts";
import { runMayDecode } from "../../../../../src/sidecar/egress/dlp/run_heads.ts";
import { hex, latin1 } from "../../../../../src/sidecar/egress/dlp/bytes.ts";
import { seededRandom } from "./corpus.ts";

/** Bytes of printable text with `bad` of them (at random places) replaced by awkward bytes. */
function decodedBytes(next: () => number, length: number, bad: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = 0x61 + Math.floor(next() * 26);
  // Control chars, lone continuation bytes, a lead byte, bytes that are never UTF-8.
  const awkward = [0x00, 0x07, 0x1f, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xff];
  for (let k = 0; k < bad; k++) {
    const at = Math.floor(next() * length);
    out[at] = awkward[Math.floor(next() * awkward.length)];
    // Sometimes a whole UTF-8 sequence (good, but not ASCII).
    if (next() < 0.2 && at + 1 < length) [out[at], out[at + 1]] = [0xc3, 0xa9];
  }
  return out;
}

Deno.test("runMayDecode is never false where decodeRun decodes a run", () => {
  const next = seededRandom(13);
  let decoded = 0;
  for (let round = 0; round < 4000; round++) {
    const length = 12 + Math.floor(next() * 40);
    const bytes = decodedBytes(next, length, Math.floor(next() * (length / 3)));
    const base64 = next() < 0.5;
    let run = base64 ? btoa(latin1(bytes)).replace(/=+$/, "") : hex(bytes);
    // An odd hex run is decoded from its second digit too; a prefix glued to a base64 run.
    if (!base64 && next() < 0.3) run = "0123456789abcdef"[Math.floor(next() * 16)] + run;
    if (base64 && next() < 0.3) run = "key_" + run;
    const kind = runKind(run, 0, run.length);
    if (kind !== RUN_HEX && kind !== RUN_ANY) continue;
    const view = decodeRun(run, 0, run.length, kind, { url: 0, token: 0 });
    if (view !== null) decoded++;
    const may = runMayDecode(new TextEncoder().encode(run), 0, run.length, kind);
    assert.ok(may || view === null, `round ${round}: ${run} decodes but runMayDecode says no`);
  }
  // The rounds reach both sides of the rule.
  assert.ok(decoded > 500 && decoded < 3500, `${decoded} decoded`);
});
