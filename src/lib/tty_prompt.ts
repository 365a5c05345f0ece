/**
 * Hidden input on the terminal (for `env: {X: "?"}` entries, SPEC §4.2): raw mode, no echo.
 * The key handling is a pure state machine ({@linkcode hiddenInputStep}) inside a thin TTY shell
 * ({@linkcode ttyPrompter}), so it is tested without a terminal.
 *
 * @module
 */

/** Asks for a secret without echoing it. */
export interface HiddenPrompter {
  /** Shows `question`, reads one line without echo; `null` at end of input (Ctrl-D). */
  promptHidden(question: string): Promise<string | null>;
}

/** State of a hidden-input read. */
export interface HiddenInputState {
  /** UTF-8 bytes typed so far. */
  bytes: number[];
  /** Inside an escape sequence (arrow keys etc.), which is ignored. */
  escape: "none" | "esc" | "csi";
}

/** What a step decided. */
export type HiddenInputOutcome =
  | { kind: "more"; state: HiddenInputState }
  | { kind: "done"; value: string }
  | { kind: "eof" }
  | { kind: "interrupt" };

/** The empty state. */
export function hiddenInputStart(): HiddenInputState {
  return { bytes: [], escape: "none" };
}

/**
 * Feeds bytes read in raw mode: Enter ends the line, Backspace deletes one character,
 * Ctrl-U clears, Ctrl-C interrupts, Ctrl-D on an empty line is end of input; escape sequences
 * and other control bytes are dropped.
 */
export function hiddenInputStep(state: HiddenInputState, input: Uint8Array): HiddenInputOutcome {
  const bytes = [...state.bytes];
  let escape = state.escape;
  for (const b of input) {
    if (escape === "esc") {
      escape = b === 0x5b || b === 0x4f ? "csi" : "none";
      continue;
    }
    if (escape === "csi") {
      if (b >= 0x40 && b <= 0x7e) escape = "none";
      continue;
    }
    if (b === 0x0d || b === 0x0a) {
      return { kind: "done", value: new TextDecoder().decode(new Uint8Array(bytes)) };
    }
    if (b === 0x03) return { kind: "interrupt" };
    if (b === 0x04) {
      if (bytes.length === 0) return { kind: "eof" };
      continue;
    }
    if (b === 0x7f || b === 0x08) {
      // Drop one UTF-8 character: continuation bytes, then the lead byte.
      while (bytes.length > 0 && (bytes[bytes.length - 1] & 0xc0) === 0x80) bytes.pop();
      bytes.pop();
      continue;
    }
    if (b === 0x15) {
      bytes.length = 0;
      continue;
    }
    if (b === 0x1b) {
      escape = "esc";
      continue;
    }
    if (b < 0x20) continue;
    bytes.push(b);
  }
  return { kind: "more", state: { bytes, escape } };
}

/**
 * The real prompter: the question on stderr, stdin in raw mode (no echo) until Enter.
 *
 * @throws {Deno.errors.Interrupted} on Ctrl-C.
 */
export function ttyPrompter(): HiddenPrompter {
  return {
    async promptHidden(question: string): Promise<string | null> {
      const encoder = new TextEncoder();
      await Deno.stderr.write(encoder.encode(question));
      Deno.stdin.setRaw(true);
      let state = hiddenInputStart();
      const buffer = new Uint8Array(256);
      try {
        while (true) {
          const n = await Deno.stdin.read(buffer);
          if (n === null) return null;
          const outcome = hiddenInputStep(state, buffer.subarray(0, n));
          if (outcome.kind === "more") state = outcome.state;
          else if (outcome.kind === "done") return outcome.value;
          else if (outcome.kind === "eof") return null;
          else throw new Deno.errors.Interrupted("Interrupted at a prompt");
        }
      } finally {
        Deno.stdin.setRaw(false);
        buffer.fill(0);
        await Deno.stderr.write(encoder.encode("\n"));
      }
    },
  };
}
