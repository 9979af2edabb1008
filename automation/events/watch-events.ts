// The watch as events: its plan, each probe and round as judged, and the verdict. Built from
// what the monitor already reports (its rounds and verdicts); the verdict logic is not here.
import type { StackConfig } from "../../components/config/schema.js";
import { checkName } from "../monitor/checkers/index.js";
import type { MonitorReport } from "../monitor/monitor.js";
import { plannedRounds, toleranceOf, type MonitorPolicy } from "../monitor/policy.js";
import { statsOf, type RoundResult, type Verdict } from "../monitor/verdict.js";
import type { CheckKind, RunEventBody } from "./types.js";

export function watchStartedEvent(release: string, policy: MonitorPolicy, checksText: string): RunEventBody {
  const tolerance = toleranceOf(policy);
  return {
    type: "watch-started",
    release,
    durationMs: policy.durationMs,
    intervalMs: policy.intervalMs,
    plannedRounds: plannedRounds(policy),
    checksPerRound: policy.checksPerRound ?? 1,
    checksText,
    consecutiveFailures: policy.consecutiveFailures,
    allowedFailedChecks: tolerance.allowedFailedChecks,
    plannedChecks: tolerance.plannedChecks,
    tolerance: tolerance.text,
  };
}

/** Follows a watch round by round: each round's probes, then the round as judged so far. */
export function roundEvents(health: StackConfig["health"]): (round: RoundResult, verdict: Verdict) => RunEventBody[] {
  const kinds = new Map<string, CheckKind>([
    ...health.endpoints.map((e) => [e.path, "http"] as const),
    ...health.checks.map((c) => [checkName(c), c.kind] as const),
  ]);
  const rounds: RoundResult[] = [];
  return (round, verdict) => {
    rounds.push(round);
    const stats = statsOf(rounds);
    const streak = rounds.length - 1 - rounds.findLastIndex((r) => r.ok);
    const probes: RunEventBody[] = round.samples.map((s) => ({
      type: "probe",
      round: round.round + 1,
      check: s.endpoint,
      kind: kinds.get(s.endpoint) ?? "prober",
      ok: s.ok,
      status: s.status,
      latencyMs: s.latencyMs,
      detail: s.error,
    }));
    const failed = round.samples.filter((s) => !s.ok).length;
    return [
      ...probes,
      {
        type: "round",
        round: round.round + 1,
        ok: round.ok,
        failures: round.failures,
        passed: round.samples.length - failed,
        failed,
        checks: stats.checks,
        failedChecks: stats.failedChecks,
        successRate: stats.successRate,
        consecutiveFailures: streak,
        verdict: verdict.state,
      },
    ];
  };
}

export function verdictEvent(release: string, report: MonitorReport): RunEventBody {
  const v = report.verdict;
  return {
    type: "verdict",
    release,
    state: v.state,
    ...(v.state === "failed" ? { reason: v.reason, detail: v.detail } : {}),
    early: report.decidedAt - report.startedAt < report.policy.durationMs,
    round: (report.rounds.at(-1)?.round ?? -1) + 1,
    rounds: v.rounds,
    failedRounds: v.failedRounds,
    checks: v.checks,
    failedChecks: v.failedChecks,
    successRate: v.successRate,
  };
}
