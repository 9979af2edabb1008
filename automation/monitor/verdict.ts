// The health verdict as a pure function of the samples taken so far and the time: no I/O,
// no clock of its own, so every rule is unit-tested with made-up samples and times.

/** How a release is watched after `up`. All times in milliseconds. */
export interface MonitorPolicy {
  /** How long the release is watched. The seed's default: 300 000 (5 minutes). */
  durationMs: number;
  /** Time between the starts of two rounds. The seed's default: 30 000. */
  intervalMs: number;
  /** Failed rounds in a row that fail the release at once. The seed's default: 3. */
  consecutiveFailures: number;
  /** Minimum share of passed rounds at the end, 0..1. The seed's default: 0.95. */
  successRate: number;
  /** Time each probe may take before it counts as failed. Default: 5 000. */
  probeTimeoutMs: number;
}

/** The seed's monitoring parameters (SEED-deployment-workflow.md, "Monitoring Parameters"). */
export const defaultMonitorPolicy: Readonly<MonitorPolicy> = Object.freeze({
  durationMs: 300_000,
  intervalMs: 30_000,
  consecutiveFailures: 3,
  successRate: 0.95,
  probeTimeoutMs: 5_000,
});

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
  /** Passed rounds / rounds, 0..1 (1 when there are no rounds yet). */
  successRate: number;
  longestFailureStreak: number;
  /** Start of the first failed round (epoch ms). */
  firstFailureAt?: number;
}

export type FailureReason =
  /** `consecutiveFailures` failed rounds in a row. */
  | "consecutive-failures"
  /** At the end of the duration, the share of passed rounds was below `successRate`. */
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
  const stats: MonitorStats = {
    rounds: rounds.length,
    failedRounds,
    successRate: rounds.length === 0 ? 1 : (rounds.length - failedRounds) / rounds.length,
    longestFailureStreak,
  };
  if (firstFailureAt !== undefined) stats.firstFailureAt = firstFailureAt;
  return stats;
}

/**
 * The verdict on the samples so far at time `now` for a watch that began at `startedAt`:
 * failed at once after `consecutiveFailures` failed rounds in a row; at the end of the
 * duration, failed if the success rate is below `successRate`; otherwise passed. Until
 * then, "watching".
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

  if (clock.now - clock.startedAt < policy.durationMs) return { state: "watching" };

  if (rounds.length === 0) {
    return {
      state: "failed",
      reason: "no-rounds",
      detail: `no probe round completed within ${formatSeconds(policy.durationMs)}`,
      ...stats,
    };
  }
  if (stats.successRate < policy.successRate) {
    return {
      state: "failed",
      reason: "success-rate",
      detail:
        `${formatPercent(stats.successRate)} of rounds passed (${stats.rounds - stats.failedRounds}/${stats.rounds}); ` +
        `required ${formatPercent(policy.successRate)}`,
      ...stats,
    };
  }
  return { state: "passed", ...stats };
}

/** Throws a RangeError naming the field when a policy could not be watched (e.g. a zero interval would never end). */
export function assertValidPolicy(policy: MonitorPolicy): void {
  const positive = ["durationMs", "intervalMs", "probeTimeoutMs"] as const;
  for (const key of positive) {
    if (!(Number.isFinite(policy[key]) && policy[key] > 0)) {
      throw new RangeError(`monitor policy ${key} must be a positive number of milliseconds, got ${policy[key]}`);
    }
  }
  if (!(Number.isInteger(policy.consecutiveFailures) && policy.consecutiveFailures >= 1)) {
    throw new RangeError(`monitor policy consecutiveFailures must be an integer >= 1, got ${policy.consecutiveFailures}`);
  }
  if (!(policy.successRate >= 0 && policy.successRate <= 1)) {
    throw new RangeError(`monitor policy successRate must be within 0..1, got ${policy.successRate}`);
  }
}

/** The number of rounds a full watch takes: one at every interval start before the end. */
export function plannedRounds(policy: Pick<MonitorPolicy, "durationMs" | "intervalMs">): number {
  return Math.max(1, Math.ceil(policy.durationMs / policy.intervalMs));
}

/** Converts the stack config's monitor and health sections (in seconds) to a policy. */
export function monitorPolicyFromConfig(
  monitor: { durationSeconds: number; intervalSeconds: number; consecutiveFailures: number; successRate: number },
  health: { probeTimeoutSeconds: number },
): MonitorPolicy {
  return {
    durationMs: Math.round(monitor.durationSeconds * 1000),
    intervalMs: Math.round(monitor.intervalSeconds * 1000),
    consecutiveFailures: monitor.consecutiveFailures,
    successRate: monitor.successRate,
    probeTimeoutMs: Math.round(health.probeTimeoutSeconds * 1000),
  };
}

export function formatPercent(rate: number): string {
  // Rounded to one decimal so float noise (0.7 * 100 = 70.00000000000001) never shows.
  return `${Math.round(rate * 1000) / 10} %`;
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
