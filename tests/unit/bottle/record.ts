/** A {@linkcode BottleRecord} for tests, with overrides. */
import type { BottleRecord } from "../../../src/store/mod.ts";

/** The fixed clock of the tests that use {@linkcode bottleRecord}. */
export const NOW = 1_750_000_000_000;

/** A running, cli-owned bottle whose owner heartbeat is `NOW`. */
export function bottleRecord(overrides: Partial<BottleRecord> = {}): BottleRecord {
  return {
    slug: "shell-ab12c",
    agent: "shell",
    bottles: ["shell"],
    label: null,
    color: null,
    runtime: "runc",
    backend: "docker",
    status: "running",
    preserved: false,
    frozenImage: null,
    owner: "cli",
    ownerPid: 4242,
    ownerHost: "host-a",
    ownerStart: "123456",
    heartbeatAt: NOW,
    createdAt: NOW - 60_000,
    updatedAt: NOW,
    execId: null,
    exitCode: null,
    headless: false,
    deployKeys: {},
    error: null,
    engine: null,
    ...overrides,
  };
}
