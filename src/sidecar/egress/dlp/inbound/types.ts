/**
 * The value types of the inbound scan (SPEC §7.5 as revised by issue 16): the evidence a verdict
 * lists, the hidden channels a response can carry text in, the edits that take such text out,
 * and the report of one scan. Evidence names signals and channels, never quotes the text: a
 * block answer that quoted the injection would hand it to the agent after all.
 *
 * @module
 */

/** What a signal says about the text around it. */
export type EvidenceClass =
  /** "ignore all previous instructions", "your new task is", "you are now in developer mode". */
  | "override"
  /** `[SYSTEM]`, "SYSTEM ADMINISTRATOR NOTICE", "new priority directive", "elevated privileges". */
  | "authority"
  /** The reader named as an AI: "note to AI agents", "if you are an LLM", "AI agents reading this". */
  | "addressee"
  /** A directive to the reader: "you must", an imperative at a sentence start (weak alone). */
  | "directive"
  /** Run a command: `curl … | bash`, "decode this base64 and execute it", `eval(atob(…))`. */
  | "execute"
  /** Call a named tool or function of the agent. */
  | "tool_call"
  /** Output the system prompt, tool definitions, conversation history. */
  | "disclose_prompt"
  /** Read or print secrets: `/etc/passwd`, `~/.ssh`, `.env`, API keys, credentials. */
  | "read_secrets"
  /** Send data elsewhere: "post it to https://…", a markdown image whose URL is to be filled in. */
  | "exfiltrate"
  /** Keep it from the user: "do not tell the user", "silently". */
  | "conceal"
  /** Fetch or open another URL (weak alone). */
  | "navigate"
  /** The text discusses prompt injection or gives an example (lowers a quoted instruction). */
  | "discussion";

/** Where text hides from a person who reads the page. */
export type HiddenChannel =
  | "html-comment"
  | "hidden-element"
  | "hidden-iframe"
  | "invisible-text"
  | "html-attribute"
  | "meta"
  | "script"
  | "markdown-comment"
  | "markdown-alt"
  | "invisible-characters"
  | "tag-characters"
  | "bidi-override";

/** One piece of evidence: the signal, its class and where it was found. */
export interface Evidence {
  class: EvidenceClass;
  /** The signal's name, e.g. `ignore previous instructions` (never text from the response). */
  signal: string;
  /** Where: `body (visible text)`, `body $.items[0].description`, `html comment`, `sse event`. */
  location: string;
}

/** A change of the scanned text: `[start, end)` replaced by `replacement` (UTF-16 offsets). */
export interface Edit {
  start: number;
  end: number;
  replacement: string;
  /**
   * For an edit inside a JSON string: the offsets are in the string's decoded `value`, and the
   * token `[start, end)` of the text is rewritten as the edited value, JSON-encoded.
   */
  within?: { start: number; end: number; value: string };
}

/** Text in a hidden channel that reads as an instruction, and the edits that remove it. */
export interface HiddenFinding {
  channel: HiddenChannel;
  location: string;
  evidence: Evidence[];
  edits: Edit[];
}

/** The verdict of the inbound scan on visible text. */
export type InboundLevel = "none" | "medium" | "high";

/** What {@linkcode inspectInbound} found in one text. */
export interface InboundReport {
  /** The verdict on what a person would see (visible text, JSON and XML fields). */
  level: InboundLevel;
  /** The evidence behind `level` (empty when it is `none`). */
  evidence: Evidence[];
  /** Hidden channels that carry instruction-like text. */
  hidden: HiddenFinding[];
  /**
   * Zero-width characters inside words: removed along with the hidden findings (they only
   * serve to split words a filter would read).
   */
  obfuscation: Edit[];
  /** Whether the text was longer than the cap and only its start was scanned. */
  truncated: boolean;
}

/** A piece of text the scorer reads as one channel. */
export interface Unit {
  /** The text; may hold the markers of `signals.ts` (quotes, sinks, field names). */
  text: string;
  /** Null for what a person sees; else the hidden channel. */
  hidden: HiddenChannel | null;
  location: string;
  /** For hidden units: what removes the text from the response. */
  edits?: Edit[];
}
