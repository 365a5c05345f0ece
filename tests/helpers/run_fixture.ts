/** A run record for dashboard and server tests. */
import type { RunRecord } from "../../src/orchestrate/types.ts";

export function newRun(
  over: Partial<Omit<RunRecord, "id" | "createdAt" | "updatedAt">> = {},
): Omit<RunRecord, "id" | "createdAt" | "updatedAt"> {
  return {
    owner: "acme",
    repo: "api",
    issue: 12,
    agent: "claude",
    bottles: ["api"],
    label: "claude-acme-api-12",
    slug: "claude-acme-api-12",
    status: "running",
    prNumbers: [],
    engine: "default",
    phaseStartedAt: "2026-12-01T10:00:00.000Z",
    lastDoneStatus: null,
    lastSummary: null,
    pendingPrompts: [],
    error: null,
    ...over,
  };
}
