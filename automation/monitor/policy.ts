// The watch's policy: the seed's parameters, their validation, and what they tolerate in
// plain numbers ("fails after 3 bad rounds in a row or 2 failed checks of 30").

/** How a release is watched after `up`. All times in milliseconds. */
export interface MonitorPolicy {
  /** How long the release is watched. The seed's default: 300 000 (5 minutes). */
  durationMs: number;
  /** Time between the starts of two rounds. The seed's default: 30 000. */
  intervalMs: number;
  /** Failed rounds in a row that fail the release at once. The seed's default: 3. */
  consecutiveFailures: number;
  /** Minimum share of passed checks (one endpoint probed once), 0..1. The seed's default: 0.95. */
  successRate: number;
  /** Time each probe may take before it counts as failed. Default: 5 000. */
  probeTimeoutMs: number;
  /** Checks in a round (the endpoints probed and the extra checks); default: as many as the rounds so far hold. */
  checksPerRound?: number | undefined;
}

/** The seed's monitoring parameters (SEED-deployment-workflow.md, "Monitoring Parameters"). */
export const defaultMonitorPolicy: Readonly<MonitorPolicy> = Object.freeze({
  durationMs: 300_000,
  intervalMs: 30_000,
  consecutiveFailures: 3,
  successRate: 0.95,
  probeTimeoutMs: 5_000,
});

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
  health: { probeTimeoutSeconds: number; endpoints?: readonly unknown[]; checks?: readonly unknown[] },
): MonitorPolicy {
  return {
    durationMs: Math.round(monitor.durationSeconds * 1000),
    intervalMs: Math.round(monitor.intervalSeconds * 1000),
    consecutiveFailures: monitor.consecutiveFailures,
    successRate: monitor.successRate,
    probeTimeoutMs: Math.round(health.probeTimeoutSeconds * 1000),
    // Each endpoint and each extra check (exec, prometheus) is one check a round.
    ...(health.endpoints ? { checksPerRound: health.endpoints.length + (health.checks?.length ?? 0) } : {}),
  };
}

/**
 * How many of `planned` checks may fail with the rate still met: the largest F with
 * (planned - F) / planned >= successRate. (A hair of slack keeps 0.95 * 20 from reading 18.999….)
 */
export function allowedFailedChecks(successRate: number, planned: number): number {
  return Math.max(0, Math.floor((1 - successRate) * planned + 1e-9));
}

export interface Tolerance {
  plannedChecks: number;
  allowedFailedChecks: number;
  /** "fails after 3 bad rounds in a row or 2 failed checks of 30". */
  text: string;
  /** Settings worth a second look (the rate rule tolerates nothing, or never fires first). */
  warnings: string[];
}

/** What a policy tolerates, in checks and rounds, for precheck and the report. */
export function toleranceOf(policy: MonitorPolicy, checksPerRound = policy.checksPerRound ?? 1): Tolerance {
  const rounds = plannedRounds(policy);
  const plannedChecks = rounds * checksPerRound;
  const allowed = allowedFailedChecks(policy.successRate, plannedChecks);
  const warnings: string[] = [];
  if (allowed === 0 && policy.successRate > 0) {
    warnings.push(`the success rate ${formatPercent(policy.successRate)} of ${plannedChecks} checks tolerates no failed check at all: one slow probe rolls the release back`);
  }
  if (allowed >= policy.consecutiveFailures * checksPerRound && policy.consecutiveFailures <= rounds) {
    warnings.push(
      `the success rate ${formatPercent(policy.successRate)} tolerates ${allowed} failed checks, as many as ${policy.consecutiveFailures} whole failed rounds: it is looser than the consecutive-failures rule`,
    );
  }
  const text = `fails after ${policy.consecutiveFailures} bad round${policy.consecutiveFailures === 1 ? "" : "s"} in a row or ${allowed + 1} failed check${allowed === 0 ? "" : "s"} of ${plannedChecks}`;
  return { plannedChecks, allowedFailedChecks: allowed, text, warnings };
}

export function formatPercent(rate: number): string {
  // Rounded to one decimal so float noise (0.7 * 100 = 70.00000000000001) never shows.
  return `${Math.round(rate * 1000) / 10} %`;
}

