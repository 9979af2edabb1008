// The bench's results as a table and chart bars: each measure of the driver next to its
// baseline from the same run, the ratio and the target it is held to, and the driver's
// per-stage medians (an update's own phases under its stage).

export interface Series {
  /** Milliseconds, one per round. */
  driver: number[];
  baseline: number[];
}

export interface BenchResults {
  rounds: number;
  deploy: Series;
  recovery: Series;
  detection: { driver: number[]; floorMs: number; intervalMs: number };
  /** Old (no-wait) baselines, kept for comparison with earlier runs. */
  old: { deploy: number[]; recovery: number[] };
  /** Median ms per stage of the driver's deploy, in run order; `phases` of its up and of its rollback's up. */
  stages: { stage: string; ms: number }[];
  upPhases: { phase: string; ms: number }[];
  rollbackPhases: { phase: string; ms: number }[];
  cpuMs: number;
  peakRssMiB: number;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Medians of named durations over rounds, in the order first seen. */
export function medians(rounds: { name: string; ms: number }[][]): { name: string; ms: number }[] {
  const by = new Map<string, number[]>();
  for (const round of rounds) for (const { name, ms } of round) by.set(name, [...(by.get(name) ?? []), ms]);
  return [...by].map(([name, ms]) => ({ name, ms: median(ms) }));
}

export interface TargetRow {
  measure: string;
  driver: number;
  baseline: number;
  baselineName: string;
  ratio: number;
  target: string;
  met: boolean;
}

export function targetRows(r: BenchResults): TargetRow[] {
  const row = (measure: string, driver: number[], baseline: number, baselineName: string, limit: number, target: string): TargetRow => {
    const d = median(driver);
    const ratio = baseline > 0 ? d / baseline : Number.POSITIVE_INFINITY;
    return { measure, driver: d, baseline, baselineName, ratio, target, met: ratio <= limit };
  };
  const { floorMs, intervalMs } = r.detection;
  return [
    row("deploy (start -> monitor start)", r.deploy.driver, median(r.deploy.baseline), "ssh + compose pull && up -d --wait", 2.0, "<= 2.0x"),
    row("recovery (rollback start -> healthy)", r.recovery.driver, median(r.recovery.baseline), "ssh + compose up -d --wait (previous files)", 1.5, "<= 1.5x"),
    row("detection (first failing probe -> rollback start)", r.detection.driver, floorMs, "floor: failures x interval", (floorMs + intervalMs) / floorMs, "<= floor + one interval"),
  ];
}

/** The Markdown table of the run: targets, then the driver's per-stage medians. */
export function benchMarkdown(r: BenchResults, chartPath: string): string {
  const rows = targetRows(r);
  const lines = [
    `## Driver benchmark (sandbox, ${r.rounds} rounds, medians)`,
    "",
    "| Measure | Driver | Fair baseline | Baseline | Ratio | Target | Met |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((t) => `| ${t.measure} | ${sec(t.driver)} | ${t.baselineName} | ${sec(t.baseline)} | ${t.ratio.toFixed(2)}x | ${t.target} | ${t.met ? "yes" : "**no**"} |`),
    "",
    `Old baselines (no wait for healthy): deploy ${sec(median(r.old.deploy))} (driver ${(median(r.deploy.driver) / median(r.old.deploy)).toFixed(2)}x), recovery to the first 200 ${sec(median(r.old.recovery))} (driver ${(median(r.recovery.driver) / median(r.old.recovery)).toFixed(2)}x).`,
    "",
    "| Stage of the driver's deploy (v2, rolled back) | Median |",
    "|---|---|",
    ...r.stages.flatMap((s) => [
      `| ${s.stage} | ${sec(s.ms)} |`,
      ...(s.stage === "up" ? r.upPhases : s.stage.startsWith("rollback") ? r.rollbackPhases : []).map((p) => `| ↳ ${p.phase} | ${sec(p.ms)} |`),
    ]),
    "",
    `The bench process (the driver runs in it): CPU ${sec(r.cpuMs)}, peak RSS ${r.peakRssMiB} MiB.`,
    "",
    `Chart: ${chartPath}`,
    "",
  ];
  return lines.join("\n");
}

/** Chart bars: the driver's deploy split into its stages (its up into phases), each baseline whole. */
export function benchBars(r: BenchResults): { measure: string; who: string; part: string; seconds: number }[] {
  const s = (ms: number) => ms / 1000;
  const monitorAt = r.stages.findIndex((x) => x.stage === "monitor");
  const beforeMonitor = monitorAt >= 0 ? r.stages.slice(0, monitorAt) : r.stages;
  const deployParts = beforeMonitor.flatMap((x) =>
    x.stage === "up" && r.upPhases.length ? r.upPhases.map((p) => ({ part: `up: ${p.phase}`, ms: p.ms })) : [{ part: x.stage, ms: x.ms }],
  );
  const recoveryKnown = r.rollbackPhases.reduce((n, p) => n + p.ms, 0);
  const recoveryRest = Math.max(0, median(r.recovery.driver) - recoveryKnown);
  return [
    ...deployParts.map((p) => ({ measure: "deploy", who: "driver", part: p.part, seconds: s(p.ms) })),
    { measure: "deploy", who: "fair compose", part: "baseline", seconds: s(median(r.deploy.baseline)) },
    ...r.rollbackPhases.map((p) => ({ measure: "recovery", who: "driver", part: `rollback up: ${p.phase}`, seconds: s(p.ms) })),
    { measure: "recovery", who: "driver", part: "rollback: to healthy (rest)", seconds: s(recoveryRest) },
    { measure: "recovery", who: "fair compose", part: "baseline", seconds: s(median(r.recovery.baseline)) },
    { measure: "detection", who: "driver", part: "detection", seconds: s(median(r.detection.driver)) },
    { measure: "detection", who: "floor", part: "baseline", seconds: s(r.detection.floorMs) },
  ];
}
