// What every driver run reports: the outcome, its exit code, and everything that led there.
// The exit code is never set by hand: `conclude` takes it from the outcome table.
import type { PauseDecision, Release } from "../../components/config/schema.js";
import type { MonitorReport } from "../monitor/monitor.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { outcomes, type Outcome } from "./outcomes.js";

export { ExitCode, type ExitCodeValue, type Outcome };

/** One pre-deployment check, pass or fail, with its reason. */
export interface PrecheckResult {
  name: string;
  ok: boolean;
  detail: string;
  skipped?: boolean;
}

export interface UpSummary {
  result: string;
  durationMs: number;
  /** The engine update this was (see stages/releases.ts updateKey). */
  update?: number | undefined;
  changes?: Record<string, number>;
  error?: string | undefined;
  /** Where the up's time went: engine start, each step, the switch's own phases, engine finish (stages/up-phases.ts). */
  phases?: { phase: string; ms: number }[];
}

export type CommandName = "deploy" | "rollback" | "restore" | "precheck" | "preview" | "status" | "unlock" | "trust-host" | "promote" | "abort";

/** A release held live after its failed verdict, and how the pause ended (stages/pause.ts). */
export interface PauseSummary {
  release: string;
  /** The failed verdict that paused it. */
  reason: string;
  pausedAt: string;
  deadline: string;
  onTimeout: PauseDecision;
  /** The commands that decide. */
  promote: string;
  abort: string;
  /** Set once decided: by whom (a person, or the timeout) and why. */
  decision?: { action: PauseDecision; by: string; reason: string; at: string; byTimeout: boolean };
}

/** How long one stage of the run took and how it ended (the per-stage breakdown). */
export interface StageTiming {
  stage: string;
  ms: number;
  /** done: on to the next stage; ended: it concluded the run; failed: it threw (an error, a cancel). */
  result: "done" | "ended" | "failed";
}

export interface RunSummary {
  command: CommandName;
  stack: string;
  outcome: Outcome;
  exitCode: ExitCodeValue;
  release?: Release | undefined;
  prechecks: PrecheckResult[];
  /** heldToPlan: the update was held to the plan this preview saved; planNote: why not. */
  preview?: { ops: Record<string, number>; plan: string[]; blocked: string[]; heldToPlan?: boolean; planNote?: string };
  up?: UpSummary;
  /** A fleet rolled out in batches: each batch before the last, its update and its watch's verdict (stages/rollout.ts). */
  rollout?: { hosts: string[]; update?: number | undefined; verdict: string; detail?: string | undefined; decision?: string | undefined }[];
  monitor?: MonitorReport;
  rollback?: { from: string; to: string; reason: string; up?: UpSummary | undefined; monitor?: MonitorReport | undefined };
  /** A restore: the backup set put back, its release, what ran before, and the set the replaced files went to. */
  /** `volumes`: the named volumes put back (restore --volumes). */
  restore?: { set: string; release: string; from: string; backup: string; volumes?: string[] };
  /** A pause after a failed verdict (deploy), or the decision a promote/abort handed over. */
  pause?: PauseSummary;
  /** Notifications: how many deliveries were taken, and the ones that were not (they never change the outcome). */
  notifications?: { delivered: number; failures: { notifier: string; event: string; attempts: number; error: string }[] };
  /** The stage the run was in when it ended (where a cancel or an error struck). */
  lastStage?: string;
  /** Each stage the run went through, in order, with its duration. */
  stages?: StageTiming[];
  startedAt: string;
  finishedAt?: string;
  messages: string[];
}

export function newSummary(command: CommandName, stack: string): RunSummary {
  return {
    command,
    stack,
    outcome: "running",
    exitCode: outcomes.running.exitCode,
    prechecks: [],
    startedAt: new Date().toISOString(),
    messages: [],
  };
}

/** Ends the run with `outcome` (its exit code comes from the outcome table) and says why. */
export function conclude(summary: RunSummary, outcome: Outcome, ...messages: string[]): void {
  summary.outcome = outcome;
  summary.exitCode = outcomes[outcome].exitCode;
  summary.messages.push(...messages.filter(Boolean));
}

/** "promote by alice@laptop: looks fine" or "abort by the pause timeout: nobody decided by …". */
export function decisionText(d: NonNullable<PauseSummary["decision"]>): string {
  return `${d.action} by ${d.by}: ${d.reason}`;
}

/** Why the run changed what runs (a pause and its decision, a rollback's reason, a restore's backup set): the audit line's and the notifications' "why". */
export function reasonOf(summary: RunSummary): string | undefined {
  const p = summary.pause;
  const pause = p && `paused (${p.reason})${p.decision ? `, ${decisionText(p.decision)}` : ""}`;
  const why = summary.rollback
    ? `rollback ${summary.rollback.from} -> ${summary.rollback.to}: ${summary.rollback.reason}`
    : summary.restore
      ? `restore of backup set ${summary.restore.set} (was ${summary.restore.from})`
      : undefined;
  return [pause, why].filter(Boolean).join("; ") || undefined;
}
