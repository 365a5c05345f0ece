import assert from "node:assert/strict";
import { VtScreen } from "../../helpers/vt_screen.ts";

Deno.test("VtScreen draws text, CR/LF and redraws over erased lines", () => {
  const s = new VtScreen(10, 4);
  s.write("one\r\ntwo\r\nthree");
  assert.equal(s.text(), "one\ntwo\nthree");
  // inquirer's redraw: erase the last three lines (cursor up between), column 1, new text
  s.write("\u001b[2K\u001b[1A\u001b[2K\u001b[1A\u001b[2K\u001b[Gnew\r\nlines");
  assert.equal(s.text(), "new\nlines");
  assert.equal(s.wraps, 0);
});

Deno.test("VtScreen counts text written past the last column and scrolls at the bottom", () => {
  const s = new VtScreen(5, 2);
  s.write("abcdefg");
  assert.equal(s.wraps, 1);
  assert.deepEqual(s.lines(), ["abcde", "fg"]);
  s.write("\r\nz");
  assert.deepEqual(s.lines(), ["fg", "z"]);
});

Deno.test("VtScreen ignores colours and cursor visibility, and escapes split across writes", () => {
  const s = new VtScreen(20, 2);
  s.write("\u001b[?25l\u001b[7mhi\u001b[2");
  s.write("7m there\u001b[3G!");
  assert.equal(s.text(), "hi!there");
});
