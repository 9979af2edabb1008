// What every driver run reports: the outcome, its exit code, and everything that led there.
import type { MonitorReport } from "./monitor/monitor.js";
import type { PrecheckResult } from "./prechecks.js";
import type { ReleaseSpec } from "./releases.js";

/** Distinct exit codes, one per outcome (documented in the README). */
export const ExitCode = {
  /** Deployed and verified; rollback done; status shown. */
  Ok: 0,
  /** An unexpected error (a bug, or the engine failing in an unknown way). */
  Unexpected: 1,
  /** Bad command line or invalid stack config: nothing was run. */
  Usage: 2,
  /** Blocked by a precheck or by the preview's replace policy: the host was not changed. */
  Blocked: 3,
  /** The release failed (update or health check) and the previous release is running again. */
  FailedRolledBack: 4,
  /** The release failed and no healthy release could be brought back (or none was verified yet). */
  FailedNoRollback: 5,
  /** Another deployment holds the lock. */
  LockHeld: 6,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

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
  version?: number | undefined;
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
