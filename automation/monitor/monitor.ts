// The watch loop: a round of probes every interval, judged after each round, until the
// verdict is decided. Time comes from an injected clock so tests run without waiting.
import { setTimeout as sleepFor } from "node:timers/promises";
import type { Prober } from "./probers.js";
import { assertValidPolicy, type MonitorPolicy } from "./policy.js";
import {
  condenseRounds,
  judge,
  statsOf,
  type DecidedVerdict,
  type ProbeSample,
  type RoundResult,
  type Verdict,
} from "./verdict.js";

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  async sleep(ms, signal) {
    try {
      await sleepFor(Math.max(0, ms), undefined, signal ? { signal } : undefined);
    } catch (error) {
      if (!(signal?.aborted ?? false)) throw error;
    }
  },
};

export interface MonitorReport {
  policy: MonitorPolicy;
  verdict: DecidedVerdict;
  /** Every round in order, each with every sample it took. */
  rounds: RoundResult[];
  startedAt: number;
  finishedAt: number;
  /** Start of the first failed round, if any. */
  firstFailureAt?: number;
  /** When the verdict was reached (the end of the round that decided it, or the end of the duration). */
  decidedAt: number;
  /** The watch per round, for charts: passed and failed checks, ms since the watch started. */
  series: RoundPoint[];
}

/** One round of the watch as a chart point; `round` counts from 1, as the reports do. */
export interface RoundPoint {
  round: number;
  passed: number;
  failed: number;
  atMs: number;
}

export function seriesOf(rounds: readonly RoundResult[], startedAt: number): RoundPoint[] {
  return rounds.map((r) => {
    const failed = r.samples.filter((s) => !s.ok).length;
    return { round: r.round + 1, passed: r.samples.length - failed, failed, atMs: r.startedAt - startedAt };
  });
}

export interface RunMonitorArgs {
  policy: MonitorPolicy;
  prober: Prober;
  /** Default: the real clock. */
  clock?: Clock;
  /** Called after each round is judged (progress output). */
  onRound?: (round: RoundResult, verdict: Verdict) => void;
  /** Stops the watch: the verdict is then "failed" with reason "aborted". */
  signal?: AbortSignal;
}

/**
 * Watches until the verdict is decided: rounds start at `startedAt + k * intervalMs` (from
 * the start, not from the end of the previous round, so slow rounds do not shift the
 * schedule; a slot already past when a round ends is skipped). Stops at the first failing
 * streak, or at the end of the duration.
 */
export async function runMonitor(args: RunMonitorArgs): Promise<MonitorReport> {
  const { policy, prober, signal } = args;
  assertValidPolicy(policy);
  const clock = args.clock ?? realClock;
  const startedAt = clock.now();
  const endsAt = startedAt + policy.durationMs;
  const samples: ProbeSample[] = [];
  let verdict: Verdict = { state: "watching" };

  let round = 0;
  while (!signal?.aborted) {
    const slot = startedAt + round * policy.intervalMs;
    if (slot >= endsAt) break;
    const wait = slot - clock.now();
    if (wait > 0) await clock.sleep(wait, signal);
    if (signal?.aborted) break;

    const roundSamples = await probeRound(prober, round, clock, signal);
    samples.push(...roundSamples);
    verdict = judge(samples, policy, { startedAt, now: clock.now() });
    const result = condenseRounds(roundSamples)[0];
    if (result) args.onRound?.(result, verdict);
    if (verdict.state !== "watching") break;

    const elapsed = clock.now() - startedAt;
    round = Math.max(round + 1, Math.ceil(elapsed / policy.intervalMs));
  }

  if (verdict.state === "watching" && !signal?.aborted) {
    const wait = endsAt - clock.now();
    if (wait > 0) await clock.sleep(wait, signal);
    if (!signal?.aborted) verdict = judge(samples, policy, { startedAt, now: Math.max(clock.now(), endsAt) });
  }

  const rounds = condenseRounds(samples);
  const decided: DecidedVerdict =
    verdict.state === "watching"
      ? {
          state: "failed",
          reason: "aborted",
          detail: `the watch was stopped after ${rounds.length} round(s), before a verdict`,
          ...statsOf(rounds),
        }
      : verdict;
  const finishedAt = clock.now();
  const report: MonitorReport = {
    policy,
    verdict: decided,
    rounds,
    startedAt,
    finishedAt,
    decidedAt: finishedAt,
    series: seriesOf(rounds, startedAt),
  };
  if (decided.firstFailureAt !== undefined) report.firstFailureAt = decided.firstFailureAt;
  return report;
}

/** One round; a prober that throws or returns nothing makes a failed round, never a crash. */
async function probeRound(prober: Prober, round: number, clock: Clock, signal?: AbortSignal): Promise<ProbeSample[]> {
  const startedAt = clock.now();
  const failed = (error: string): ProbeSample[] => [
    { round, endpoint: "*", startedAt, ok: false, latencyMs: clock.now() - startedAt, error },
  ];
  try {
    const taken = await prober.probe(round, signal);
    if (taken.length === 0) return failed("the prober returned no samples");
    // The round number is the monitor's: a prober cannot file samples under another round.
    return taken.map((s) => ({ ...s, round }));
  } catch (error) {
    return failed(`prober failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
