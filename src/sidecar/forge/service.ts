/**
 * The forge MCP server (SPEC §13.6): tool calls checked by {@linkcode ScopedForge}, write texts
 * through the outbound DLP, the Gitea API called, read results through the inbound scan, and
 * every call of a tool recorded.
 *
 * - Before a config arrives, every call answers `not_configured`; a config without `forge` means
 *   the bottle is not an orchestrated run, and every call says so. Neither is recorded (there is
 *   no run to record it for).
 * - Every call of a tool in an orchestrated run queues exactly one `oplog` message (ok or refused,
 *   a scope refusal, a DLP refusal or a forge error alike), its target and detail masked of every
 *   secret the sidecar holds; `signal_done` then queues a `done` message with the run's PR set.
 *   The host acks sequenced messages, so each is delivered once.
 * - A scope refusal is JSON-RPC error `-32001` (`forge_scope: …`), invalid arguments `-32602`; a
 *   DLP finding or a forge error is a tool result with `isError`.
 * - The scope (and its PR set) lives as long as the config's `forge` object: a route added to the
 *   config keeps it; a new `forge` for the same run keeps the PRs opened meanwhile.
 *
 * @module
 */
import type { DoneBody, ForgeConfig, ForgeTool, OplogBody } from "../control/forge_protocol.ts";
import { FORGE_TOOLS } from "../control/forge_protocol.ts";
import type { SidecarConfig } from "../control/protocol.ts";
import type { Finding } from "../egress/dlp/mod.ts";
import { errorMessage } from "../errors.ts";
import type { SidecarLog } from "../log.ts";
import { type McpServer, type ToolAnswer, toolText } from "../mcp/rpc.ts";
import {
  type ContentFilter,
  contentFilter,
  dlpRefusal,
  type InboundNote,
  MAX_TEXT_CHARS,
} from "./content.ts";
import {
  commentView,
  issueView,
  noteDetail,
  numberField,
  pullView,
  stringField,
  withNotes,
} from "./views.ts";
import type { ForgeApi } from "./gitea_client.ts";
import { callTarget, type ForgeCall, MAX_SUMMARY_CHARS, ScopedForge } from "./scope.ts";
import { FORGE_TOOL_LIST } from "./tool_list.ts";

/** Control characters, replaced in text that goes into a one-line message. */
// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]+/g;

/** The server's name in `initialize`. */
export const FORGE_SERVER_NAME = "bot-bottle-forge";

/** The version in `serverInfo`: of the tools' interface, bumped when a tool changes. */
export const FORGE_SERVER_VERSION = "1.0.0";

/** Most comments `list_comments` returns (the newest). */
export const MAX_COMMENTS = 100;

/** Most body characters `list_comments` returns in all; older comments beyond it are omitted. */
export const MAX_COMMENT_CHARS = 256 * 1024;

/** Longest OpLog detail (characters). */
export const MAX_DETAIL_CHARS = 500;

/** Options of {@linkcode ForgeService}. */
export interface ForgeServiceOptions {
  /** The applied config (null before one). */
  config: () => SidecarConfig | null;
  /** Queues a message for the host (the control session's outbox). */
  queue: (type: "oplog" | "done", body: Record<string, unknown>) => void;
  /** The Gitea API of a config. */
  api: (config: SidecarConfig & { forge: ForgeConfig }) => ForgeApi & { close?(): void };
  log?: SidecarLog;
  now?: () => Date;
}

interface RunState {
  config: SidecarConfig;
  forge: ForgeConfig;
  scope: ScopedForge;
  filter: ContentFilter;
  api: ForgeApi & { close?(): void };
}

/** What a call did, for its OpLog row. */
interface Outcome {
  answer: ToolAnswer;
  ok: boolean;
  detail: string;
  target: string;
  /** Runs once its OpLog row is queued (`signal_done` queues `done` after it). */
  after?: () => void;
}

/**
 * The forge tools of one sidecar.
 *
 * @example
 * ```ts
 * const service = new ForgeService({ config: () => session.config, queue, api });
 * startMcpDaemon({ name: "forge", server: service.server(), … });
 * ```
 */
export class ForgeService {
  readonly #options: ForgeServiceOptions;
  #state: RunState | null = null;
  #now: () => Date;

  constructor(options: ForgeServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
  }

  /** The MCP server over these tools. */
  server(): McpServer {
    return {
      name: FORGE_SERVER_NAME,
      version: FORGE_SERVER_VERSION,
      instructions:
        "Tools for the forge issue this run works on: read it and its comments, comment on it, open a pull request from a branch you pushed, and call signal_done when you finish or need an answer.",
      tools: FORGE_TOOL_LIST,
      call: (name, args) => this.call(name as ForgeTool, args),
    };
  }

  /** The PRs in scope now (empty outside an orchestrated run). */
  get prNumbers(): number[] {
    return this.#state?.scope.prNumbers ?? [];
  }

  /** Calls one tool. */
  async call(tool: ForgeTool, args: unknown): Promise<ToolAnswer> {
    if (!(FORGE_TOOLS as readonly string[]).includes(tool)) {
      return { error: { code: -32602, message: `Unknown tool: ${String(tool).slice(0, 60)}` } };
    }
    const config = this.#options.config();
    if (config === null) {
      return {
        result: toolText({
          error: "not_configured",
          message:
            "The forge tools are not configured yet (the sidecar has not received its configuration); try again in a moment.",
        }, true),
      };
    }
    if (config.forge === undefined) {
      return {
        result: toolText({
          error: "not_orchestrated",
          message:
            "This bottle is not an orchestrated run: there is no forge issue to work on, so the forge tools do nothing here.",
        }, true),
      };
    }
    const state = this.#stateOf(config, config.forge);
    const outcome = await this.#run(state, tool, args);
    const body: OplogBody = {
      time: this.#now().toISOString(),
      tool,
      target: state.filter.mask(outcome.target).slice(0, 300),
      ok: outcome.ok,
      detail: state.filter.mask(outcome.detail).replace(CONTROL_CHARS, " ").slice(
        0,
        MAX_DETAIL_CHARS,
      ),
    };
    this.#options.queue("oplog", body as unknown as Record<string, unknown>);
    outcome.after?.();
    this.#options.log?.info(outcome.ok ? 2 : 1, "forge", "call", { ...body });
    return outcome.answer;
  }

  /** Releases the API client. */
  close(): void {
    this.#state?.api.close?.();
    this.#state = null;
  }

  #stateOf(config: SidecarConfig, forge: ForgeConfig): RunState {
    const old = this.#state;
    if (old !== null && old.forge === forge) {
      if (old.config !== config) {
        // A route was added (same forge): keep the scope, refresh the secrets.
        old.config = config;
        old.filter = contentFilter(config);
      }
      return old;
    }
    const sameRun = old !== null && old.forge.owner.toLowerCase() === forge.owner.toLowerCase() &&
      old.forge.repo.toLowerCase() === forge.repo.toLowerCase() && old.forge.issue === forge.issue;
    const scope = new ScopedForge({
      ...forge,
      prNumbers: sameRun ? [...forge.prNumbers, ...old!.scope.prNumbers] : forge.prNumbers,
    });
    old?.api.close?.();
    this.#state = {
      config,
      forge,
      scope,
      filter: contentFilter(config),
      api: this.#options.api({ ...config, forge }),
    };
    return this.#state;
  }

  async #run(state: RunState, tool: ForgeTool, args: unknown): Promise<Outcome> {
    const decision = state.scope.check(tool, args);
    if (!decision.ok) {
      const { code, message, target } = decision.refusal;
      return { answer: { error: { code, message } }, ok: false, detail: message, target };
    }
    const call = decision.call;
    const target = callTarget(call, state.scope.issue);
    let finding: Finding | null;
    try {
      finding = state.filter.outbound(outboundTexts(call));
    } catch (error) {
      // The scan could not run: fail closed, nothing is sent.
      const message = `the outbound DLP could not scan the call: ${errorMessage(error)}`;
      return {
        answer: { result: toolText({ error: "dlp_unavailable", message }, true) },
        ok: false,
        detail: `dlp: ${message}`,
        target,
      };
    }
    if (finding !== null) {
      return {
        answer: { result: toolText(dlpRefusal(finding), true) },
        ok: false,
        detail: `dlp: blocked ${finding.detector} (${finding.rule}) in ${finding.location}`,
        target,
      };
    }
    try {
      return await this.#act(state, call, target);
    } catch (error) {
      const message = state.filter.mask(errorMessage(error));
      return {
        answer: { result: toolText({ error: "forge_error", message }, true) },
        ok: false,
        detail: `forge error: ${message}`,
        target,
      };
    }
  }

  async #act(state: RunState, call: ForgeCall, target: string): Promise<Outcome> {
    const { api, filter, scope } = state;
    const ok = (value: unknown, detail: string, t = target): Outcome => ({
      answer: { result: toolText(value) },
      ok: true,
      detail,
      target: t,
    });
    switch (call.tool) {
      case "read_issue": {
        const notes: InboundNote[] = [];
        const issue = issueView(await api.issue(call.owner, call.repo, call.number), filter, notes);
        return ok(withNotes(issue, notes), `issue read${noteDetail(notes)}`);
      }
      case "read_pr": {
        const notes: InboundNote[] = [];
        const pr = pullView(await api.pull(call.owner, call.repo, call.number), filter, notes);
        return ok(withNotes(pr, notes), `pr read${noteDetail(notes)}`);
      }
      case "list_comments": {
        const notes: InboundNote[] = [];
        const all = await api.comments(call.owner, call.repo, call.number);
        const shown = newestWithin(all).map((c, i) =>
          commentView(c, filter, notes, `comments[${i}].body`)
        );
        const value = {
          number: call.number,
          total: all.length,
          ...(all.length > shown.length ? { omitted: all.length - shown.length } : {}),
          comments: shown,
        };
        return ok(withNotes(value, notes), `${all.length} comments listed${noteDetail(notes)}`);
      }
      case "post_comment": {
        const posted = await api.postComment(call.owner, call.repo, call.number, call.body);
        const id = numberField(posted.id);
        return ok(
          { posted: true, id, url: stringField(posted.html_url) },
          `comment ${id ?? "?"} posted`,
        );
      }
      case "open_pr": {
        let base = call.base;
        if (base === null) {
          const repository = await api.repository(call.owner, call.repo);
          base = typeof repository.default_branch === "string" && repository.default_branch !== ""
            ? repository.default_branch
            : "main";
        }
        const pr = await api.createPull(call.owner, call.repo, {
          title: call.title,
          body: call.body,
          head: call.head,
          base,
        });
        const number = numberField(pr.number);
        if (number === null) throw new Error("Gitea did not say which number the new PR got");
        scope.prOpened(number);
        return ok(
          { opened: true, number, url: stringField(pr.html_url), head: call.head, base },
          `pr ${number} opened from ${call.head} into ${base}`,
          `${call.owner}/${call.repo}#${number}`,
        );
      }
      case "signal_done": {
        const done: DoneBody = {
          status: call.status,
          summary: call.summary.slice(0, MAX_SUMMARY_CHARS),
          prNumbers: scope.prNumbers,
        };
        return {
          ...ok(
            { recorded: true, status: done.status, prNumbers: done.prNumbers },
            `done: ${done.status}`,
          ),
          after: () => this.#options.queue("done", done as unknown as Record<string, unknown>),
        };
      }
    }
  }
}

/** The newest comments, at most {@linkcode MAX_COMMENTS} and {@linkcode MAX_COMMENT_CHARS}. */
function newestWithin(all: Record<string, unknown>[]): Record<string, unknown>[] {
  let chars = 0;
  let first = all.length;
  while (first > 0 && all.length - first < MAX_COMMENTS) {
    const body = all[first - 1].body;
    chars += typeof body === "string" ? Math.min(body.length, MAX_TEXT_CHARS) : 0;
    if (chars > MAX_COMMENT_CHARS && first < all.length) break;
    first--;
  }
  return all.slice(first);
}

function outboundTexts(call: ForgeCall): { field: string; text: string }[] {
  switch (call.tool) {
    case "post_comment":
      return [{ field: "post_comment.body", text: call.body }];
    case "open_pr":
      return [
        { field: "open_pr.title", text: call.title },
        { field: "open_pr.body", text: call.body },
        { field: "open_pr.head", text: call.head },
        ...(call.base === null ? [] : [{ field: "open_pr.base", text: call.base }]),
      ];
    case "signal_done":
      return [{ field: "signal_done.summary", text: call.summary }];
    default:
      return [];
  }
}
