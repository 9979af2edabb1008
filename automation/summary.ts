// What every driver run reports: the outcome, its exit code, and everything that led there.
import type { MonitorReport } from "./monitor/monitor.js";
import type { PrecheckResult } from "./prechecks.js";
import type { ReleaseSpec } from "./releases.js";

import { ExitCode, type ExitCodeValue } from "./report/exit-codes.js";

export { ExitCode, type ExitCodeValue };

export type Outcome =
  | "running"
  | "deployed-verified"
  | "rolled-back"
  | "up-failed"
  | "failed-no-rollback"
  | "rollback-failed"
  | "rollback-done"
  | "restored"
  | "blocked"
  | "lock-held"
  | "invalid-config"
  | "ok"
  | "error";

export interface UpSummary {
  result: string;
  durationMs: number;
  /** The engine update this was (see releases.ts updateKey). */
  update?: number | undefined;
  changes?: Record<string, number>;
  error?: string | undefined;
}

export interface RunSummary {
  command: "deploy" | "rollback" | "restore" | "precheck" | "preview" | "status";
  stack: string;
  outcome: Outcome;
  exitCode: ExitCodeValue;
  release?: ReleaseSpec;
  prechecks: PrecheckResult[];
  preview?: { ops: Record<string, number>; plan: string[]; blocked: string[] };
  up?: UpSummary;
  monitor?: MonitorReport;
  rollback?: { from: string; to: string; reason: string; up: UpSummary; monitor?: MonitorReport | undefined };
  startedAt: string;
  finishedAt?: string;
  messages: string[];
}

export function newSummary(command: RunSummary["command"], stack: string): RunSummary {
  return {
    command,
    stack,
    outcome: "running",
    exitCode: ExitCode.Unexpected,
    prechecks: [],
    startedAt: new Date().toISOString(),
    messages: [],
  };
}
