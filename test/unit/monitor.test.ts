import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runMonitor } from "../../automation/monitor/monitor.js";
import type { Prober } from "../../automation/monitor/probers.js";
import { defaultMonitorPolicy, formatPercent, monitorPolicyFromConfig, plannedRounds, toleranceOf, type MonitorPolicy } from "../../automation/monitor/policy.js";
import {
  judge,
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
    const verdict = judge(samplesFor([true, false, true, true]), policy, { startedAt: t0, now: t0 + 120_000 });
    expect(verdict).toEqual({ state: "watching" });
  });

  it("passes at the end of the duration when every round passed", () => {
    const verdict = judge(samplesFor(Array(10).fill(true)), policy, { startedAt: t0, now: t0 + 300_000 });
    expect(verdict).toEqual({ state: "passed", rounds: 10, failedRounds: 0, checks: 30, failedChecks: 0, successRate: 1, longestFailureStreak: 0 });
  });

  it("fails at once on the third failed round in a row, before the duration ends", () => {
    // A rate loose enough (80 %: 6 failed checks of 30) that the streak rule speaks first.
    const verdict = judge(samplesFor([true, false, false, false]), { ...policy, successRate: 0.8 }, { startedAt: t0, now: t0 + 90_000 });
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
    const verdict = judge(samples, { ...policy, successRate: 0.8 }, { startedAt: t0, now: t0 + 60_000 });
    expect(verdict).toMatchObject({ state: "failed", reason: "consecutive-failures", failedRounds: 3 });
  });

  it("counts the success rate per check: of the seed's 30 checks one failure passes, the second fails at once", () => {
    const oneFailure = Array.from({ length: 10 }, (_, i) => i !== 3);
    const end = { startedAt: t0, now: t0 + 300_000 };
    expect(judge(samplesFor(oneFailure), policy, end)).toMatchObject({ state: "passed", checks: 30, failedChecks: 1, failedRounds: 1 });
    expect(judge(samplesFor(oneFailure), policy, end).state === "passed" && judge(samplesFor(oneFailure), policy, end)).toMatchObject({ successRate: 29 / 30 });
    // Mid-window with one failed check: still watching (one failure is within the rate).
    expect(judge(samplesFor(oneFailure.slice(0, 5)), policy, { startedAt: t0, now: t0 + 150_000 })).toEqual({ state: "watching" });
    // The second failed check (round 8 of 10) fails the watch there: the rate can no longer be met.
    const twoFailures = Array.from({ length: 8 }, (_, i) => i !== 3 && i !== 7);
    const early = judge(samplesFor(twoFailures), policy, { startedAt: t0, now: t0 + 7 * 30_000 });
    expect(early).toMatchObject({ state: "failed", reason: "success-rate", checks: 24, failedChecks: 2, longestFailureStreak: 1 });
    if (early.state === "failed") {
      expect(early.detail).toBe("2 of 30 planned checks failed, at most 1 may for 95 %: the rate can no longer be met (after 8 of 10 rounds); last: /api/health: HTTP 503");
    }
  });

  it("at the end, fails under the rate of the checks actually taken (rounds were lost)", () => {
    // 20 rounds planned, only 4 taken (a slow prober), one failed check of 12: 91.7 % < 95 %.
    const p = { ...policy, durationMs: 600_000 };
    const v = judge(samplesFor([true, false, true, true]), p, { startedAt: t0, now: t0 + 600_000 });
    expect(v).toMatchObject({ state: "failed", reason: "success-rate", checks: 12, failedChecks: 1 });
    if (v.state === "failed") expect(v.detail).toBe("91.7 % of checks passed (11/12); required 95 %");
  });

  it("never fails early on the rate while the rate can still be met (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 10 }), fc.double({ min: 0, max: 1, noNaN: true }), (outcomes, successRate) => {
        const p = { ...policy, successRate, consecutiveFailures: 99 };
        const v = judge(samplesFor(outcomes), p, { startedAt: t0, now: t0 + 1 });
        const failed = outcomes.filter((ok) => !ok).length; // one failed check per failed round
        // The best case: every check still to come passes.
        const bestRate = (30 - failed) / 30;
        expect(v.state === "failed" && v.reason === "success-rate").toBe(bestRate < successRate - 1e-9);
      }),
    );
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
  });

  it("says what a policy tolerates, and warns about rules that tolerate nothing or never speak first", () => {
    expect(toleranceOf({ ...policy, checksPerRound: 3 })).toEqual({
      plannedChecks: 30,
      allowedFailedChecks: 1,
      text: "fails after 3 bad rounds in a row or 2 failed checks of 30",
      warnings: [],
    });
    const strict = toleranceOf({ ...policy, successRate: 0.99, checksPerRound: 3 });
    expect(strict.text).toBe("fails after 3 bad rounds in a row or 1 failed check of 30");
    expect(strict.warnings).toEqual([expect.stringMatching(/99 % of 30 checks tolerates no failed check at all/)]);
    const loose = toleranceOf({ ...policy, successRate: 0.5, checksPerRound: 3 });
    expect(loose.warnings).toEqual([expect.stringMatching(/tolerates 15 failed checks, as many as 3 whole failed rounds: it is looser/)]);
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
    const report = await runMonitor({ policy: { ...policy, successRate: 0.8 }, prober, clock });

    expect(report.verdict).toMatchObject({ state: "failed", reason: "consecutive-failures", rounds: 5, failedRounds: 3 });
    expect(prober.calls).toHaveLength(5);
    // Rounds 2, 3, 4 failed: the verdict comes at the start of round 4 (probes take no time here).
    expect(report.decidedAt).toBe(t0 + 4 * 30_000);
    expect(report.firstFailureAt).toBe(t0 + 2 * 30_000);
    expect(report.rounds[2]?.failures).toEqual(["/api/docs: HTTP 500"]);
  });

  it("fails a flaky release (1 round in 5) on the success rate at its second failed check, never on streaks", async () => {
    const clock = fakeClock(t0);
    const prober = scriptedProber(clock, (round) => round % 5 !== 4);
    const report = await runMonitor({ policy, prober, clock });

    expect(report.verdict).toMatchObject({
      state: "failed",
      reason: "success-rate",
      rounds: 10,
      failedRounds: 2,
      checks: 30,
      failedChecks: 2,
      successRate: 28 / 30,
      longestFailureStreak: 1,
    });
    // Decided at round 10's probes (the window's last round), not after waiting out the window.
    expect(report.decidedAt).toBe(t0 + 9 * 30_000);
    if (report.verdict.state === "failed") expect(report.verdict.detail).toContain("2 of 30 planned checks failed, at most 1 may for 95 %");
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
    // Three failed checks in the first round: more than the 1 of 30 the rate allows.
    expect(report.verdict).toMatchObject({ state: "failed", reason: "success-rate", failedRounds: 1, failedChecks: 3 });
    expect(report.decidedAt).toBe(t0 + 5_000);
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
    const report = await runMonitor({ policy: { ...policy, successRate: 0.5 }, prober: broken, clock });
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
          // The rate rule off (0 %): this property is about the streak rule alone.
          const report = await runMonitor({ policy: { ...policy, consecutiveFailures, successRate: 0 }, prober, clock });
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
