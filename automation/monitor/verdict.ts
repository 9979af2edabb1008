// The health verdict as a pure function of the samples taken so far and the time: no I/O,
// no clock of its own, so every rule is unit-tested with made-up samples and times.
import { allowedFailedChecks, formatPercent, plannedRounds, type MonitorPolicy } from "./policy.js";

/** One probe of one endpoint in one round. */
export interface ProbeSample {
  /** 0-based round number. */
  round: number;
  /** The URL path probed, e.g. "/api/health". */
  endpoint: string;
  /** Epoch milliseconds when the probe was sent. */
  startedAt: number;
  ok: boolean;
  /** The HTTP status, when a response came back. */
  status?: number;
  latencyMs: number;
  /** Why the probe failed ("timeout after 5000 ms", "HTTP 500", "connect ECONNREFUSED …"). */
  error?: string;
}

/** One round condensed: it fails if any probe in it failed. */
export interface RoundResult {
  round: number;
  /** The earliest probe start in the round. */
  startedAt: number;
  ok: boolean;
  /** "endpoint: error" of each failed probe, for reports. */
  failures: string[];
  /** Every sample of the round, as taken. */
  samples: ProbeSample[];
}

export interface MonitorStats {
  rounds: number;
  failedRounds: number;
  /** Every endpoint probed once in a round is one check (as the seed's script counts them). */
  checks: number;
  failedChecks: number;
  /** Passed checks / checks, 0..1 (1 when there are none yet). */
  successRate: number;
  longestFailureStreak: number;
  /** Start of the first failed round (epoch ms). */
  firstFailureAt?: number;
}

export type FailureReason =
  /** `consecutiveFailures` failed rounds in a row. */
  | "consecutive-failures"
  /** The share of passed checks is below `successRate` at the end, or can no longer reach it. */
  | "success-rate"
  /** The duration ended without a single round (the prober never answered). */
  | "no-rounds"
  /** The watch was cancelled before a verdict (set by the monitor loop, never by `judge`). */
  | "aborted";

export type Verdict =
  | { state: "watching" }
  | ({ state: "passed" } & MonitorStats)
  | ({ state: "failed"; reason: FailureReason; detail: string } & MonitorStats);

export type DecidedVerdict = Exclude<Verdict, { state: "watching" }>;

/** Groups samples by round (in round order); a round fails if any of its probes failed. */
export function condenseRounds(samples: readonly ProbeSample[]): RoundResult[] {
  const byRound = new Map<number, ProbeSample[]>();
  for (const sample of samples) {
    const list = byRound.get(sample.round) ?? [];
    list.push(sample);
    byRound.set(sample.round, list);
  }
  return [...byRound.entries()]
    .sort(([a], [b]) => a - b)
    .map(([round, list]) => {
      const failed = list.filter((s) => !s.ok);
      return {
        round,
        startedAt: Math.min(...list.map((s) => s.startedAt)),
        ok: failed.length === 0,
        failures: failed.map((s) => `${s.endpoint}: ${s.error ?? (s.status === undefined ? "failed" : `HTTP ${s.status}`)}`),
        samples: list,
      };
    });
}

/** Counts over the rounds so far. */
export function statsOf(rounds: readonly RoundResult[]): MonitorStats {
  let failedRounds = 0;
  let streak = 0;
  let longestFailureStreak = 0;
  let firstFailureAt: number | undefined;
  for (const r of rounds) {
    if (r.ok) {
      streak = 0;
      continue;
    }
    failedRounds += 1;
    streak += 1;
    longestFailureStreak = Math.max(longestFailureStreak, streak);
    firstFailureAt ??= r.startedAt;
  }
  const checks = rounds.reduce((n, r) => n + r.samples.length, 0);
  const failedChecks = rounds.reduce((n, r) => n + r.samples.filter((s) => !s.ok).length, 0);
  const stats: MonitorStats = {
    rounds: rounds.length,
    failedRounds,
    checks,
    failedChecks,
    successRate: checks === 0 ? 1 : (checks - failedChecks) / checks,
    longestFailureStreak,
  };
  if (firstFailureAt !== undefined) stats.firstFailureAt = firstFailureAt;
  return stats;
}

/**
 * The verdict on the samples so far at time `now` for a watch that began at `startedAt`:
 * failed at once after `consecutiveFailures` failed rounds in a row, or as soon as more checks
 * failed than the success rate allows of the planned checks (the rate can no longer be met);
 * at the end of the duration, failed if the share of passed checks is below `successRate`;
 * otherwise passed. Until then, "watching".
 */
export function judge(
  samples: readonly ProbeSample[],
  policy: MonitorPolicy,
  clock: { startedAt: number; now: number },
): Verdict {
  const rounds = condenseRounds(samples);
  const stats = statsOf(rounds);

  // The streak rule is checked on the rounds in order, so the verdict names the round
  // where the streak was reached even if later rounds are already in.
  let streak = 0;
  for (const r of rounds) {
    streak = r.ok ? 0 : streak + 1;
    if (streak >= policy.consecutiveFailures) {
      const streakRounds = rounds.slice(rounds.indexOf(r) - streak + 1, rounds.indexOf(r) + 1);
      return {
        state: "failed",
        reason: "consecutive-failures",
        detail:
          `${streak} failed rounds in a row (rounds ${streakRounds[0]!.round + 1}-${r.round + 1}; ` +
          `limit ${policy.consecutiveFailures}); last: ${r.failures.join("; ")}`,
        ...stats,
      };
    }
  }

  // Early: once more checks failed than the planned checks allow, no later pass can save the rate.
  const perRound = policy.checksPerRound ?? Math.max(0, ...rounds.map((r) => r.samples.length));
  const planned = plannedRounds(policy) * perRound;
  const allowed = allowedFailedChecks(policy.successRate, planned);
  const failed = (reason: FailureReason, detail: string): Verdict => ({ state: "failed", reason, detail, ...stats });
  if (planned > 0 && stats.failedChecks > allowed) {
    return failed(
      "success-rate",
      `${stats.failedChecks} of ${planned} planned checks failed, at most ${allowed} may for ${formatPercent(policy.successRate)}: ` +
        `the rate can no longer be met (after ${stats.rounds} of ${plannedRounds(policy)} rounds); last: ${rounds.at(-1)!.failures.join("; ") || "ok"}`,
    );
  }

  if (clock.now - clock.startedAt < policy.durationMs) return { state: "watching" };

  if (rounds.length === 0) return failed("no-rounds", `no probe round completed within ${formatSeconds(policy.durationMs)}`);
  if (stats.successRate < policy.successRate) {
    return failed(
      "success-rate",
      `${formatPercent(stats.successRate)} of checks passed (${stats.checks - stats.failedChecks}/${stats.checks}); required ${formatPercent(policy.successRate)}`,
    );
  }
  return { state: "passed", ...stats };
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
