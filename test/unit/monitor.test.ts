import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runMonitor } from "../../automation/monitor/monitor.js";
import type { Prober } from "../../automation/monitor/probers.js";
import {
  defaultMonitorPolicy,
  formatPercent,
  judge,
  monitorPolicyFromConfig,
  plannedRounds,
  type MonitorPolicy,
  type ProbeSample,
  type RoundResult,
  type Verdict,
} from "../../automation/monitor/verdict.js";
import { fakeClock, type FakeClock } from "../support/fake-clock.js";

const policy: MonitorPolicy = { ...defaultMonitorPolicy };
const endpoints = ["/api/health", "/api/docs", "/api/auth/status"];
const t0 = Date.UTC(2026, 0, 1);

/** Samples for rounds with the given outcomes, one round per interval from t0. */
function samplesFor(outcomes: readonly boolean[], failingEndpoint = "/api/health"): ProbeSample[] {
  return outcomes.flatMap((ok, round) =>
    endpoints.map((endpoint) => {
      const pass = ok || endpoint !== failingEndpoint;
      const sample: ProbeSample = {
        round,
        endpoint,
        startedAt: t0 + round * policy.intervalMs,
        ok: pass,
        status: pass ? 200 : 503,
        latencyMs: 12,
      };
      if (!pass) sample.error = "HTTP 503";
      return sample;
    }),
  );
}

/** A prober whose round `n` passes when `passes(n)`; it "takes" `latencyMs` of the fake clock. */
function scriptedProber(clock: FakeClock, passes: (round: number) => boolean, latencyMs = 0): Prober & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    async probe(round) {
      calls.push(clock.now());
      const startedAt = clock.now();
      clock.advance(latencyMs);
      const ok = passes(round);
      return endpoints.map((endpoint) => ({
        round,
        endpoint,
        startedAt,
        ok: ok || endpoint !== "/api/docs",
        ...(ok || endpoint !== "/api/docs" ? { status: 200 } : { status: 500, error: "HTTP 500" }),
        latencyMs,
      }));
    },
  };
}

describe("judge (pure verdict)", () => {
  it("keeps watching while the duration has not passed, even with some failures", () => {
    const verdict = judge(samplesFor([true, false, true, false]), policy, { startedAt: t0, now: t0 + 120_000 });
    expect(verdict).toEqual({ state: "watching" });
  });

  it("passes at the end of the duration when every round passed", () => {
    const verdict = judge(samplesFor(Array(10).fill(true)), policy, { startedAt: t0, now: t0 + 300_000 });
    expect(verdict).toEqual({ state: "passed", rounds: 10, failedRounds: 0, successRate: 1, longestFailureStreak: 0 });
  });

  it("fails at once on the third failed round in a row, before the duration ends", () => {
    const verdict = judge(samplesFor([true, false, false, false]), policy, { startedAt: t0, now: t0 + 90_000 });
    expect(verdict.state).toBe("failed");
    if (verdict.state !== "failed") return;
    expect(verdict.reason).toBe("consecutive-failures");
    expect(verdict.detail).toContain("rounds 2-4");
    expect(verdict.detail).toContain("/api/health: HTTP 503");
    expect(verdict.firstFailureAt).toBe(t0 + 30_000);
    expect(verdict.longestFailureStreak).toBe(3);
  });

  it("counts a round as failed when any one endpoint fails", () => {
    const samples = samplesFor([false, false, false], "/api/auth/status");
    expect(samples.filter((s) => !s.ok)).toHaveLength(3);
    const verdict = judge(samples, policy, { startedAt: t0, now: t0 + 60_000 });
    expect(verdict).toMatchObject({ state: "failed", reason: "consecutive-failures", failedRounds: 3 });
  });

  it("passes at exactly the success-rate threshold and fails just under it", () => {
    const twenty = { ...policy, durationMs: 600_000 };
    const oneFailure = Array.from({ length: 20 }, (_, i) => i !== 7);
    const twoFailures = Array.from({ length: 20 }, (_, i) => i !== 7 && i !== 15);
    const end = { startedAt: t0, now: t0 + 600_000 };
    expect(judge(samplesFor(oneFailure), twenty, end)).toMatchObject({ state: "passed", successRate: 0.95 });
    const failed = judge(samplesFor(twoFailures), twenty, end);
    expect(failed).toMatchObject({ state: "failed", reason: "success-rate", successRate: 0.9, failedRounds: 2 });
    if (failed.state === "failed") expect(failed.detail).toBe("90 % of rounds passed (18/20); required 95 %");
  });

  it("fails with no-rounds when the duration ended without any sample", () => {
    expect(judge([], policy, { startedAt: t0, now: t0 + 300_000 })).toMatchObject({
      state: "failed",
      reason: "no-rounds",
      rounds: 0,
    });
  });

  it("never fails on consecutive failures unless the rounds hold that many failures in a row (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.boolean(),
        (outcomes, consecutiveFailures, successRate, ended) => {
          const p = { ...policy, consecutiveFailures, successRate };
          const now = ended ? t0 + p.durationMs : t0 + p.durationMs - 1;
          const verdict = judge(samplesFor(outcomes), p, { startedAt: t0, now });
          const run = longestRun(outcomes);
          const hasStreak = run >= consecutiveFailures;
          // Sound and complete: the streak reason appears exactly when such a streak exists.
          expect(verdict.state === "failed" && verdict.reason === "consecutive-failures").toBe(hasStreak);
          if (verdict.state === "passed") {
            expect(verdict.successRate).toBeGreaterThanOrEqual(successRate);
            expect(ended).toBe(true);
          }
          if (verdict.state !== "watching") expect(verdict.longestFailureStreak).toBe(run);
        },
      ),
    );
  });

  it("plans one round per interval and converts the config's seconds", () => {
    expect(plannedRounds(policy)).toBe(10);
    expect(plannedRounds({ durationMs: 100_000, intervalMs: 30_000 })).toBe(4);
    expect(
      monitorPolicyFromConfig(
        { durationSeconds: 300, intervalSeconds: 30, consecutiveFailures: 3, successRate: 0.95 },
        { probeTimeoutSeconds: 2.5 },
      ),
    ).toEqual({ durationMs: 300_000, intervalMs: 30_000, consecutiveFailures: 3, successRate: 0.95, probeTimeoutMs: 2_500 });
    expect(formatPercent(0.7)).toBe("70 %");
    expect(formatPercent(2 / 3)).toBe("66.7 %");
  });
});

describe("runMonitor (fake clock)", () => {
  it("passes a healthy release after the full duration, one round per interval", async () => {
    const clock = fakeClock(t0);
    const prober = scriptedProber(clock, () => true, 40);
    const seen: Array<[RoundResult, Verdict]> = [];
    const report = await runMonitor({ policy, prober, clock, onRound: (r, v) => seen.push([r, v]) });

    expect(report.verdict).toMatchObject({ state: "passed", rounds: 10, failedRounds: 0, successRate: 1 });
    expect(prober.calls).toEqual(Array.from({ length: 10 }, (_, k) => t0 + k * 30_000));
    expect(report.startedAt).toBe(t0);
    expect(report.decidedAt).toBe(t0 + 300_000);
    expect(report.finishedAt).toBe(t0 + 300_000);
    expect(report.firstFailureAt).toBeUndefined();
    expect(report.rounds.flatMap((r) => r.samples)).toHaveLength(30);
    expect(seen.map(([r]) => r.round)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seen.every(([, v]) => v.state === "watching")).toBe(true);
  });

  it("fails at the third failed round in a row and stops watching there", async () => {
    const clock = fakeClock(t0);
    const prober = scriptedProber(clock, (round) => round < 2);
    const report = await runMonitor({ policy, prober, clock });

    expect(report.verdict).toMatchObject({ state: "failed", reason: "consecutive-failures", rounds: 5, failedRounds: 3 });
    expect(prober.calls).toHaveLength(5);
    // Rounds 2, 3, 4 failed: the verdict comes at the start of round 4 (probes take no time here).
    expect(report.decidedAt).toBe(t0 + 4 * 30_000);
    expect(report.firstFailureAt).toBe(t0 + 2 * 30_000);
    expect(report.rounds[2]?.failures).toEqual(["/api/docs: HTTP 500"]);
  });

  it("fails a flaky release (1 round in 5) on success rate at the end, never on streaks", async () => {
    const clock = fakeClock(t0);
    const prober = scriptedProber(clock, (round) => round % 5 !== 4);
    const report = await runMonitor({ policy, prober, clock });

    expect(report.verdict).toMatchObject({
      state: "failed",
      reason: "success-rate",
      rounds: 10,
      failedRounds: 2,
      successRate: 0.8,
      longestFailureStreak: 1,
    });
    expect(report.decidedAt).toBe(t0 + 300_000);
    if (report.verdict.state === "failed") expect(report.verdict.detail).toContain("80 % of rounds passed (8/10)");
  });

  it("treats probes that time out as failures", async () => {
    const clock = fakeClock(t0);
    const timeoutProber: Prober = {
      async probe(round) {
        const startedAt = clock.now();
        clock.advance(policy.probeTimeoutMs);
        return endpoints.map((endpoint) => ({
          round,
          endpoint,
          startedAt,
          ok: false,
          latencyMs: policy.probeTimeoutMs,
          error: "timeout after 5000 ms",
        }));
      },
    };
    const report = await runMonitor({ policy, prober: timeoutProber, clock });
    expect(report.verdict).toMatchObject({ state: "failed", reason: "consecutive-failures", failedRounds: 3 });
    expect(report.decidedAt).toBe(t0 + 2 * 30_000 + 5_000);
    expect(report.rounds[0]?.failures).toContain("/api/health: timeout after 5000 ms");
  });

  it("schedules rounds from the start, so slow probes do not make the schedule drift", async () => {
    const clock = fakeClock(t0);
    const prober = scriptedProber(clock, () => true, 7_300);
    await runMonitor({ policy, prober, clock });
    expect(prober.calls).toEqual(Array.from({ length: 10 }, (_, k) => t0 + k * 30_000));
    // Each wait is the rest of the interval after a 7.3 s round, not a full interval.
    expect(clock.sleeps.slice(0, 3)).toEqual([22_700, 22_700, 22_700]);
  });

  it("skips interval slots that passed while a round was still running", async () => {
    const clock = fakeClock(t0);
    const prober = scriptedProber(clock, () => true, 45_000);
    const report = await runMonitor({ policy, prober, clock });
    expect(report.rounds.map((r) => r.round)).toEqual([0, 2, 4, 6, 8]);
    expect(prober.calls).toEqual([0, 2, 4, 6, 8].map((k) => t0 + k * 30_000));
    expect(report.verdict).toMatchObject({ state: "passed", rounds: 5 });
  });

  it("turns a prober that throws into a failed round", async () => {
    const clock = fakeClock(t0);
    const broken: Prober = {
      probe: async () => {
        throw new Error("ssh: connection reset");
      },
    };
    const report = await runMonitor({ policy, prober: broken, clock });
    expect(report.verdict).toMatchObject({ state: "failed", reason: "consecutive-failures" });
    expect(report.rounds[0]?.failures).toEqual(["*: prober failed: ssh: connection reset"]);
  });

  it("decides on a streak exactly at the round that completes it, else at the end (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
        fc.integer({ min: 1, max: 4 }),
        async (outcomes, consecutiveFailures) => {
          const clock = fakeClock(t0);
          const prober = scriptedProber(clock, (round) => outcomes[round]!);
          const report = await runMonitor({ policy: { ...policy, consecutiveFailures }, prober, clock });
          const streakEnd = firstStreakEnd(outcomes, consecutiveFailures);
          if (streakEnd === undefined) {
            expect(report.verdict.state === "failed" && report.verdict.reason === "consecutive-failures").toBe(false);
            expect(report.decidedAt).toBe(t0 + policy.durationMs);
            expect(report.rounds).toHaveLength(10);
          } else {
            expect(report.verdict).toMatchObject({ state: "failed", reason: "consecutive-failures" });
            expect(report.decidedAt).toBe(t0 + streakEnd * policy.intervalMs);
            expect(report.rounds).toHaveLength(streakEnd + 1);
          }
        },
      ),
    );
  });

  it("refuses a policy it could never finish, naming the field", async () => {
    const clock = fakeClock(t0);
    const prober = scriptedProber(clock, () => true);
    await expect(runMonitor({ policy: { ...policy, intervalMs: 0 }, prober, clock })).rejects.toThrow(
      "monitor policy intervalMs must be a positive number of milliseconds, got 0",
    );
    await expect(runMonitor({ policy: { ...policy, successRate: 95 }, prober, clock })).rejects.toThrow(/successRate must be within 0..1/);
    expect(prober.calls).toHaveLength(0);
  });

  it("stops with an 'aborted' verdict when the signal fires, keeping the rounds taken", async () => {
    const clock = fakeClock(t0);
    const controller = new AbortController();
    const prober = scriptedProber(clock, () => true);
    const report = await runMonitor({
      policy,
      prober,
      clock,
      signal: controller.signal,
      onRound: (r) => {
        if (r.round === 2) controller.abort();
      },
    });
    expect(report.verdict).toMatchObject({ state: "failed", reason: "aborted", rounds: 3, failedRounds: 0 });
    expect(prober.calls).toHaveLength(3);
  });
});

function longestRun(outcomes: readonly boolean[]): number {
  let best = 0;
  let current = 0;
  for (const ok of outcomes) {
    current = ok ? 0 : current + 1;
    best = Math.max(best, current);
  }
  return best;
}

/** Index of the round where `n` failures in a row are first reached, if ever. */
function firstStreakEnd(outcomes: readonly boolean[], n: number): number | undefined {
  let current = 0;
  for (const [i, ok] of outcomes.entries()) {
    current = ok ? 0 : current + 1;
    if (current >= n) return i;
  }
  return undefined;
}
