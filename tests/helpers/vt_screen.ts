/**
 * A small terminal screen for tests of full-screen output: feeds it the bytes a program wrote to
 * its pseudo-terminal and reads back what a person would see. It knows what line-oriented TUIs
 * use (printable text with auto-wrap, CR, LF with scrolling, backspace, cursor up/down/left/right
 * and column, erase in line and display, SGR and private modes, which it ignores) and counts the
 * times text ran past the right edge, so a test can assert that nothing wrapped.
 *
 * @module
 */

/** A terminal screen of fixed size. */
export class VtScreen {
  readonly columns: number;
  readonly rows: number;
  #grid: string[][];
  #row = 0;
  #col = 0;
  #pending = "";
  /** How many times text was written past the last column (and wrapped). */
  wraps = 0;

  constructor(columns = 80, rows = 24) {
    this.columns = columns;
    this.rows = rows;
    this.#grid = Array.from({ length: rows }, () => this.#blank());
  }

  #blank(): string[] {
    return Array.from({ length: this.columns }, () => " ");
  }

  #lineFeed(): void {
    if (this.#row === this.rows - 1) {
      this.#grid.shift();
      this.#grid.push(this.#blank());
    } else this.#row++;
  }

  /** Feeds output text (escape sequences may be split across calls). */
  write(text: string): void {
    const data = this.#pending + text;
    this.#pending = "";
    let i = 0;
    while (i < data.length) {
      const ch = data[i];
      if (ch === "\u001b") {
        // deno-lint-ignore no-control-regex
        const csi = /^\u001b\[([?0-9;]*)([@-~])/.exec(data.slice(i));
        // deno-lint-ignore no-control-regex
        const osc = /^\u001b\][^\u0007]*\u0007/.exec(data.slice(i));
        if (csi) {
          this.#csi(csi[1], csi[2]);
          i += csi[0].length;
        } else if (osc) i += osc[0].length;
        else if (data.length - i < 16) {
          this.#pending = data.slice(i);
          return;
        } else i += 2; // an escape we do not know: skip ESC and the next character
        continue;
      }
      if (ch === "\r") this.#col = 0;
      else if (ch === "\n") this.#lineFeed();
      else if (ch === "\b") this.#col = Math.max(0, this.#col - 1);
      else if (ch >= " ") {
        if (this.#col >= this.columns) {
          this.wraps++;
          this.#col = 0;
          this.#lineFeed();
        }
        this.#grid[this.#row][this.#col++] = ch;
      }
      i += ch.length;
    }
  }

  #csi(params: string, final: string): void {
    if (params.startsWith("?")) return; // private modes (cursor visibility)
    const args = params === "" ? [] : params.split(";").map(Number);
    const n = args[0] || 1;
    switch (final) {
      case "A":
        this.#row = Math.max(0, this.#row - n);
        break;
      case "B":
        this.#row = Math.min(this.rows - 1, this.#row + n);
        break;
      case "C":
        this.#col = Math.min(this.columns - 1, this.#col + n);
        break;
      case "D":
        this.#col = Math.max(0, this.#col - n);
        break;
      case "G":
        this.#col = Math.min(this.columns - 1, n - 1);
        break;
      case "H":
        this.#row = Math.min(this.rows - 1, (args[0] || 1) - 1);
        this.#col = Math.min(this.columns - 1, (args[1] || 1) - 1);
        break;
      case "K": {
        const mode = args[0] ?? 0;
        const line = this.#grid[this.#row];
        const [from, to] = mode === 0
          ? [this.#col, this.columns]
          : mode === 1
          ? [0, this.#col + 1]
          : [0, this.columns];
        for (let c = from; c < to; c++) line[c] = " ";
        break;
      }
      case "J": {
        const mode = args[0] ?? 0;
        if (mode === 2 || mode === 3) this.#grid = this.#grid.map(() => this.#blank());
        else if (mode === 0) {
          this.#csi("0", "K");
          for (let r = this.#row + 1; r < this.rows; r++) this.#grid[r] = this.#blank();
        }
        break;
      }
        // "m" (colours) and anything else: no effect on the text
    }
  }

  /** The screen's lines, trailing spaces removed. */
  lines(): string[] {
    return this.#grid.map((l) => l.join("").trimEnd());
  }

  /** The screen as text, trailing empty lines removed. */
  text(): string {
    return this.lines().join("\n").trimEnd();
  }
}
