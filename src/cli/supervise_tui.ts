/**
 * The terminal UI of `bot-bottle supervise` (SPEC §9.4). Two parts, dax-style:
 *
 * - {@linkcode onKey}, pure: a key in, the next state and at most one effect out (decide, edit
 *   in `$EDITOR`, quit). Tested as tables.
 * - {@linkcode runSuperviseTui}, the thin terminal shell: an `@inquirer/core` prompt (raw mode,
 *   key decoding, redraws that erase only what the last one drew, Ctrl-C) that polls the
 *   database every {@linkcode POLL_MS}, draws {@linkcode renderScreen} and carries out the
 *   effects. The prompt ends only to hand the terminal to the editor or to quit (decision 0005).
 *
 * @module
 */
import { cursorHide } from "@inquirer/ansi";
import {
  createPrompt,
  ExitPromptError,
  isEnterKey,
  useEffect,
  useKeypress,
  useState,
} from "@inquirer/core";
import type { DecisionRequest } from "../bottle/supervise.ts";
import type { ProposalRecord } from "../store/mod.ts";
import {
  type Paint,
  renderScreen,
  type ScreenSize,
  scrolled,
  selectedIndex,
  type TuiState,
  unseenLines,
} from "./supervise_view.ts";

/** How often the UI reloads pending proposals. */
export const POLL_MS = 500;

/** The terminal size {@linkcode onKey} lays out for when it is not told. */
const DEFAULT_SIZE: ScreenSize = { columns: 80, rows: 24 };

/** A decoded key (readline's keypress event). */
export interface Key {
  name?: string;
  ctrl?: boolean;
  shift?: boolean;
}

/** What a key asks the shell to do. */
export type TuiEffect =
  | { kind: "decide"; id: number; request: DecisionRequest }
  | { kind: "edit"; id: number }
  | { kind: "quit" };

/** The result of {@linkcode onKey}. */
export interface KeyResult {
  state: TuiState;
  effect?: TuiEffect;
}

/** The state the UI starts in. */
export function initialState(rows: readonly ProposalRecord[] = []): TuiState {
  return { rows, selectedId: rows[0]?.id ?? null, mode: { kind: "list" }, message: null };
}

/** Replaces the rows (a refresh), keeping the selection on the same proposal when it is still there. */
export function withRows(state: TuiState, rows: readonly ProposalRecord[]): TuiState {
  const index = selectedIndex(state);
  const keep = rows.some((r) => r.id === state.selectedId);
  const selectedId = keep ? state.selectedId : rows[Math.min(index, rows.length - 1)]?.id ?? null;
  // A proposal decided elsewhere (or expired) while a reason was typed for it: stop typing.
  const mode =
    state.mode.kind === "reason" && !rows.some((r) => r.id === (state.mode as { id: number }).id)
      ? { kind: "list" as const }
      : state.mode;
  const message = mode !== state.mode
    ? { text: `proposal ${(state.mode as { id: number }).id} is not pending any more`, error: true }
    : state.message;
  return { ...state, rows, selectedId, mode, message };
}

const say = (state: TuiState, text: string, error = false): KeyResult => ({
  state: { ...state, message: { text, error } },
});

/**
 * Handles one key (pure). `line` is what the terminal's line editor holds: the reason being
 * typed in reason mode; `size` is the terminal's, for scrolling.
 *
 * List mode: `↑`/`k` and `↓`/`j` move; PgDn (or Space) and PgUp scroll the findings of a held
 * request when they do not fit; `a` approves (asking for a reason first for
 * `egress-token-allow` and `gitleaks-allow`, SPEC §9.3); `o` approves a token finding for this
 * request only; `m` edits an `egress-route` in `$EDITOR`; `r` asks for a reason and rejects;
 * `q` quits. `a` and `o` refuse while findings of the request were never on the screen: the
 * reviewer approves what was shown. Reason mode: Enter decides (a reason is required), Esc
 * goes back.
 */
export function onKey(
  state: TuiState,
  key: Key,
  line: string,
  size: ScreenSize = DEFAULT_SIZE,
): KeyResult {
  const mode = state.mode;
  if (mode.kind === "reason") {
    if (isEnterKey({ name: key.name ?? "", ctrl: false, shift: false })) {
      const reason = mode.text.trim();
      if (reason === "") return say(state, "A reason is needed (Esc to go back)", true);
      const request: DecisionRequest = mode.action === "reject"
        ? { action: "reject", reason }
        : { action: "approve", reason, scope: mode.action === "approve-once" ? "once" : undefined };
      return {
        state: { ...state, mode: { kind: "list" }, message: null },
        effect: { kind: "decide", id: mode.id, request },
      };
    }
    if (key.name === "escape") {
      return {
        state: {
          ...state,
          mode: { kind: "list" },
          message: { text: "nothing decided", error: false },
        },
      };
    }
    return { state: { ...state, mode: { ...mode, text: line } } };
  }
  const rows = state.rows;
  const index = selectedIndex(state);
  const selected: ProposalRecord | undefined = rows[index];
  const move = (to: number): KeyResult => ({
    state: { ...state, selectedId: rows[Math.max(0, Math.min(rows.length - 1, to))]?.id ?? null },
  });
  switch (key.name) {
    case "q":
      return { state, effect: { kind: "quit" } };
    case "up":
    case "k":
      return move(index - 1);
    case "down":
    case "j":
      return move(index + 1);
    case "pagedown":
    case "space":
      return { state: scrolled(state, size, 1) };
    case "pageup":
      return { state: scrolled(state, size, -1) };
  }
  if (!["a", "o", "m", "r"].includes(key.name ?? "")) return { state };
  if (selected === undefined) return say(state, "No proposal to decide");
  const reasonMode = (action: "approve" | "approve-once" | "reject"): KeyResult => ({
    state: { ...state, mode: { kind: "reason", id: selected.id, action, text: "" }, message: null },
  });
  const needsReason = selected.kind === "egress-token-allow" || selected.kind === "gitleaks-allow";
  if (key.name === "a" || key.name === "o") {
    const unseen = unseenLines(state, size);
    if (unseen > 0) {
      return say(
        state,
        `Not approved: ${unseen} lines of findings were not on the screen yet (PgDn shows them)`,
        true,
      );
    }
  }
  switch (key.name) {
    case "a":
      if (needsReason) return reasonMode("approve");
      return {
        state: { ...state, message: null },
        effect: { kind: "decide", id: selected.id, request: { action: "approve", reason: null } },
      };
    case "o":
      if (selected.kind !== "egress-token-allow") {
        return say(state, "o (approve once) is for egress-token-allow proposals", true);
      }
      return reasonMode("approve-once");
    case "m":
      if (selected.kind !== "egress-route") {
        return say(
          state,
          `Only egress-route proposals can be modified, not ${selected.kind}`,
          true,
        );
      }
      return { state: { ...state, message: null }, effect: { kind: "edit", id: selected.id } };
    default:
      return reasonMode("reject");
  }
}

/** What the shell needs from `supervise`. */
export interface TuiActions {
  /** Pending proposals, oldest first (after expiring stale ones). */
  load(): ProposalRecord[];
  /** Records a decision; returns the line to show. Throws a BottleError to show as an error. */
  decide(id: number, request: DecisionRequest): string;
  /** Edits a route in `$EDITOR` (the prompt is closed meanwhile); returns the line to show. */
  edit(id: number): Promise<{ text: string; error: boolean }>;
  size(): ScreenSize;
  now(): number;
  paint: Paint;
}

interface PromptConfig {
  initial: TuiState;
  actions: TuiActions;
}

interface PromptResult {
  state: TuiState;
  effect: TuiEffect;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const screenPrompt = createPrompt<PromptResult, PromptConfig>((config, done) => {
  const { actions } = config;
  const [state, setState] = useState<TuiState>(config.initial);
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => {
      try {
        const rows = actions.load();
        setState((s: TuiState) => withRows(s, rows));
      } catch (error) {
        setState((s: TuiState) => ({ ...s, message: { text: errorText(error), error: true } }));
      }
      setTick((t: number) => t + 1); // ages and deadlines move on
    }, POLL_MS);
    return () => clearInterval(timer);
  }, []);
  useKeypress((key, rl) => {
    const result = onKey(state, key, rl.line, actions.size());
    let next = result.state;
    // Outside reason mode, keys are commands: never let them pile up in the line editor.
    if (next.mode.kind === "list" || state.mode.kind === "list") rl.clearLine(0);
    const effect = result.effect;
    if (effect?.kind === "decide") {
      let message;
      try {
        message = { text: actions.decide(effect.id, effect.request), error: false };
      } catch (error) {
        message = { text: errorText(error), error: true };
      }
      next = withRows({ ...next, message }, actions.load());
    } else if (effect !== undefined) {
      done({ state: next, effect });
      return;
    }
    setState(next);
  });
  const screen = renderScreen(state, actions.size(), actions.now(), actions.paint);
  return screen.lines.join("\n") + (state.mode.kind === "list" ? cursorHide : "");
});

/** Options of {@linkcode runSuperviseTui}. */
export interface TuiOptions {
  /** Streams (tests); default the process's stdin and stdout. */
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

/**
 * Runs the UI until `q`.
 *
 * @returns `quit`, or `interrupted` for Ctrl-C.
 */
export async function runSuperviseTui(
  actions: TuiActions,
  options: TuiOptions = {},
): Promise<"quit" | "interrupted"> {
  let state = initialState(actions.load());
  while (true) {
    let result: PromptResult;
    try {
      result = await screenPrompt({ initial: state, actions }, {
        input: options.input,
        output: options.output,
        clearPromptOnDone: true,
      });
    } catch (error) {
      if (error instanceof ExitPromptError) return "interrupted";
      throw error;
    }
    state = result.state;
    if (result.effect.kind === "quit") return "quit";
    if (result.effect.kind === "edit") {
      let message;
      try {
        message = await actions.edit(result.effect.id);
      } catch (error) {
        message = { text: errorText(error), error: true };
      }
      state = withRows({ ...state, message }, actions.load());
    }
  }
}
