/**
 * A sidecar init running the forge daemon, for the forge integration tests: the init of
 * `sidecar_fixture.ts` with `forge` among its daemons on a free port, a {@linkcode Host} that
 * acks every sequenced message (as the host does) and keeps them, and JSON-RPC helpers.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { SidecarConfig } from "../../../src/sidecar/control/protocol.ts";
import { assertNoSecret, type Bridge, type Sidecar, startSidecar } from "./sidecar_fixture.ts";

/** A host that acks every sequenced message and keeps them. */
export class Host {
  readonly messages: Record<string, unknown>[] = [];
  readonly lines: string[] = [];
  readonly answers = new Map<string, Record<string, unknown>>();
  #reading: Promise<void>;

  constructor(readonly bridge: Bridge) {
    this.#reading = (async () => {
      for (;;) {
        let line: Record<string, unknown>;
        try {
          line = await bridge.next("a line", 600_000);
        } catch {
          return;
        }
        this.lines.push(JSON.stringify(line));
        if (typeof line.seq === "number") {
          this.messages.push(line);
          // The bridge may be closing under a late message (the test is done with it).
          const acked = await bridge.send({ type: "ack", seq: line.seq }).then(
            () => true,
            () => false,
          );
          if (!acked) return;
        }
        if (line.type === "applied") this.answers.set(String(line.id), line);
      }
    })();
  }

  of(type: string): Record<string, unknown>[] {
    return this.messages.filter((m) => m.type === type).map((m) =>
      m.body as Record<string, unknown>
    );
  }

  async until<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async configure(config: SidecarConfig): Promise<Record<string, unknown>> {
    await this.bridge.send({ type: "config", id: "cfg", config });
    return await this.until("the config applied", () => this.answers.get("cfg"));
  }

  async close(): Promise<void> {
    await this.bridge.close();
    await this.#reading;
  }
}

/** A tool call's answer: the tool result's JSON plus `isError`, or `rpcError`. */
// deno-lint-ignore no-explicit-any
export type ForgeCall = (name: string, args: unknown) => Promise<Record<string, any>>;

/** A running init with the forge daemon and its host. */
export interface ForgeSidecar extends AsyncDisposable {
  sidecar: Sidecar;
  host: Host;
  port: number;
  // deno-lint-ignore no-explicit-any
  rpc: (method: string, params: unknown) => Promise<Record<string, any>>;
  call: ForgeCall;
  /** Closes the host's bridge, then fails when `token` or a test secret is in any output. */
  assertNoLeak(token: string): Promise<void>;
}

/** Starts the init with `dns,egress,supervise,forge` and a host on its control channel. */
export async function startForgeSidecar(): Promise<ForgeSidecar> {
  const sidecar = await startSidecar({
    env: {
      BOT_BOTTLE_SIDECAR_DAEMONS: "dns,egress,supervise,forge",
      BOT_BOTTLE_SIDECAR_FORGE_PORT: "0",
    },
  });
  const line = await sidecar.waitForLog(
    (l) => l.daemon === "forge" && l.event === "listening",
    "forge listening",
  );
  const port = Number(/:(\d+)$/.exec(String(line.address))![1]);
  const host = new Host(sidecar.bridge());
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await host.close();
  };
  let id = 0;
  const rpc = async (method: string, params: unknown) => {
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
    });
    assert.equal(response.status, 200);
    return await response.json();
  };
  const call: ForgeCall = async (name, args) => {
    const answer = await rpc("tools/call", { name, arguments: args });
    if (answer.error) return { rpcError: answer.error };
    return {
      isError: answer.result.isError ?? false,
      ...JSON.parse(answer.result.content[0].text),
    };
  };
  return {
    sidecar,
    host,
    port,
    rpc,
    call,
    async assertNoLeak(token: string) {
      await close();
      for (const text of [sidecar.stderr, host.lines.join("\n")]) {
        assert.ok(!text.includes(token), "the forge token stays out of logs and messages");
        assertNoSecret(text, "the sidecar's output");
      }
    },
    async [Symbol.asyncDispose]() {
      await close();
      await sidecar[Symbol.asyncDispose]();
    },
  };
}
