// The run's event stream, version 1: what `--events ndjson` prints (one JSON object a line)
// and what the terminal display and the plain progress lines are made from. Adding a field is
// compatible; renaming or removing one bumps `v`.
import type { MonitorStats } from "../monitor/verdict.js";
import type { CommandName, Outcome, RunSummary } from "../report/summary.js";

export const eventsVersion = 1;

export type CheckKind = "http" | "exec" | "prometheus" | "prober";

export type RunEventBody =
  | { type: "run-started"; command: CommandName; stack: string; release?: string | undefined; actor: string }
  | { type: "stage-started"; stage: string }
  /** `ok`: the stage did not throw; `endsRun`: it ended the run with an outcome (good or bad). */
  | { type: "stage-ended"; stage: string; ms: number; ok: boolean; endsRun: boolean }
  | {
      type: "watch-started";
      release: string;
      durationMs: number;
      intervalMs: number;
      plannedRounds: number;
      checksPerRound: number;
      /** "3 endpoints, 1 exec check". */
      checksText: string;
      consecutiveFailures: number;
      allowedFailedChecks: number;
      plannedChecks: number;
      /** "fails after 3 bad rounds in a row or 2 failed checks of 30". */
      tolerance: string;
    }
  /** `round` counts from 1, as the reports do. */
  | { type: "probe"; round: number; check: string; kind: CheckKind; ok: boolean; status?: number | undefined; latencyMs: number; detail?: string | undefined }
  | {
      type: "round";
      round: number;
      ok: boolean;
      failures: string[];
      passed: number;
      failed: number;
      /** So far, over every round of the watch. */
      checks: number;
      failedChecks: number;
      successRate: number;
      /** Failed rounds in a row, ending with this one. */
      consecutiveFailures: number;
      verdict: "watching" | "passed" | "failed";
    }
  | ({
      type: "verdict";
      release: string;
      state: "passed" | "failed";
      reason?: string | undefined;
      detail?: string | undefined;
      /** Decided before the end of the watch window. */
      early: boolean;
      /** The round that decided it (the last round taken). */
      round: number;
    } & Pick<MonitorStats, "rounds" | "failedRounds" | "checks" | "failedChecks" | "successRate">)
  /** `how`: "config of update 7, images by digest". */
  | { type: "rollback-started"; to: string; how: string; reason: string }
  | { type: "rollback-ended"; to: string; ok: boolean; detail?: string | undefined }
  | { type: "notice"; level: "info" | "warning"; message: string }
  | { type: "run-ended"; outcome: Outcome; exitCode: number; headline: string; summary: RunSummary };

export type RunEventType = RunEventBody["type"];

/** An event as emitted: the schema version, its number in the run, and when. */
export type RunEvent = RunEventBody & { v: typeof eventsVersion; seq: number; at: string };
