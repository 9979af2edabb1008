// The bench's table and chart from one run's figures: ratios against the baselines of the same
// run, each target met or not, the driver's stages (the up's phases under it), and an SVG the
// charting library drew with every bar's stage in its legend.
import { describe, expect, it } from "vitest";
import { renderBenchChart } from "../bench/bench-chart.js";
import { benchBars, benchMarkdown, medians, targetRows, type BenchResults } from "../bench/bench-report.js";

const results: BenchResults = {
  rounds: 5,
  deploy: { driver: [20_000, 19_000, 21_000, 30_000, 18_000], baseline: [7000, 7100, 6900, 7000, 7000] },
  recovery: { driver: [9000, 9100, 8900, 9000, 9000], baseline: [6800, 6900, 6700, 6800, 6800] },
  detection: { driver: [1600, 1500, 1700, 1600, 1600], floorMs: 1500, intervalMs: 500 },
  old: { deploy: [1900, 1900, 1900, 1900, 1900], recovery: [800, 800, 800, 800, 800] },
  stages: [
    { stage: "lock", ms: 500 },
    { stage: "preview", ms: 2500 },
    { stage: "up", ms: 12_000 },
    { stage: "monitor", ms: 1500 },
    { stage: "rollback", ms: 9000 },
  ],
  upPhases: [
    { phase: "engine start (program, plugins, plan)", ms: 3000 },
    { phase: "switch: wait running/healthy (sandbox)", ms: 6000 },
  ],
  rollbackPhases: [{ phase: "switch: compose up (sandbox)", ms: 2000 }],
  cpuMs: 7100,
  peakRssMiB: 283,
};

describe("the bench's report", () => {
  it("medians per name over rounds, in the order first seen", () => {
    expect(medians([[{ name: "a", ms: 1 }, { name: "b", ms: 9 }], [{ name: "a", ms: 3 }], [{ name: "a", ms: 2 }, { name: "b", ms: 7 }]])).toEqual([
      { name: "a", ms: 2 },
      { name: "b", ms: 9 },
    ]);
  });

  it("holds each measure to its target as a ratio of medians from the same run", () => {
    const rows = targetRows(results);
    expect(rows.map((r) => [r.ratio.toFixed(2), r.met])).toEqual([
      ["2.86", false], // 20 s against 7 s: over 2.0x
      ["1.32", true], // 9 s against 6.8 s
      ["1.07", true], // 1.6 s against a 1.5 s floor: within floor + 0.5 s
    ]);
  });

  it("writes the table with the driver, the fair baseline, the ratio, the target, and the stages with the up's phases", () => {
    const md = benchMarkdown(results, ".reports/bench/x.svg");
    expect(md).toContain("| deploy (start -> monitor start) | 20.00 s | ssh + compose pull && up -d --wait | 7.00 s | 2.86x | <= 2.0x | **no** |");
    expect(md).toMatch(/\| up \| 12\.00 s \|\n\| ↳ engine start \(program, plugins, plan\) \| 3\.00 s \|/);
    expect(md).toMatch(/\| rollback \| 9\.00 s \|\n\| ↳ switch: compose up \(sandbox\) \| 2\.00 s \|/);
    expect(md).toContain("CPU 7.10 s, peak RSS 283 MiB");
    expect(md).toContain("Chart: .reports/bench/x.svg");
  });

  it("draws the deploy bar from the stages before the monitor, the up split into its phases, as an SVG", async () => {
    const bars = benchBars(results);
    expect(bars.filter((b) => b.measure === "deploy" && b.who === "driver").map((b) => b.part)).toEqual([
      "lock",
      "preview",
      "up: engine start (program, plugins, plan)",
      "up: switch: wait running/healthy (sandbox)",
    ]);
    const svg = await renderBenchChart(bars, "bench");
    expect(svg.startsWith("<svg")).toBe(true);
    for (const label of ["deploy: driver", "deploy: fair compose", "recovery: driver", "detection: floor", "up: engine start (program, plugins, plan)"]) {
      expect(svg).toContain(label);
    }
    // One drawn bar segment per part.
    expect((svg.match(/aria-roledescription="bar"/g) ?? []).length).toBe(bars.length);
  });
});
