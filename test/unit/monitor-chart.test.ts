// The picture of the watch: the Mermaid chart in the Markdown report (passed checks per round
// as bars, failed checks as a line, the verdict and its round in the title; a rollback's watch
// as a second chart), checked against the xychart-beta grammar, and the same series in JSON.
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runMonitor, type MonitorReport } from "../../automation/monitor/monitor.js";
import { defaultMonitorPolicy } from "../../automation/monitor/policy.js";
import type { Prober } from "../../automation/monitor/probers.js";
import { ExitCode } from "../../automation/report/exit-codes.js";
import { renderMarkdown } from "../../automation/report/markdown.js";
import { maxChartRounds, watchChart } from "../../automation/report/monitor-markdown.js";
import type { RunSummary } from "../../automation/report/summary.js";
import { writeReports } from "../../automation/report/write.js";
import { fakeClock } from "../support/fake-clock.js";

const t0 = Date.UTC(2026, 0, 1, 10, 0, 0);

/** A real watch on the fake clock (the seed's policy, 3 endpoints): round k fails `failing(k)` of its checks. */
async function watch(failing: (round: number) => number, start = t0, successRate = defaultMonitorPolicy.successRate): Promise<MonitorReport> {
  const clock = fakeClock(start);
  const prober: Prober = {
    async probe(round) {
      const startedAt = clock.now();
      clock.advance(50);
      return ["/api/health", "/api/docs", "/api/auth/status"].map((endpoint, i) =>
        i < failing(round)
          ? { round, endpoint, startedAt, ok: false, status: 500, latencyMs: 50, error: "HTTP 500" }
          : { round, endpoint, startedAt, ok: true, status: 200, latencyMs: 50 },
      );
    },
  };
  return runMonitor({ policy: { ...defaultMonitorPolicy, successRate }, prober, clock });
}

/** The Mermaid blocks of a Markdown text, in order. */
const mermaidBlocks = (md: string) => [...md.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]!);

/**
 * The statements of mermaid's xychart grammar (packages/mermaid/src/diagrams/xychart/parser/
 * xychart.jison) the chart uses: the header, a quoted title (a string ends at the next `"`),
 * a band x-axis of categories, a ranged y-axis, and bar / line data (at least one number each).
 * `%%` starts a comment anywhere, so it must not occur. Returns the parsed chart.
 */
function parseXyChart(block: string) {
  const number = String.raw`[+-]?(?:\d+(?:\.\d+)?|\.\d+)`;
  const numbers = String.raw`\[\s*${number}(?:\s*,\s*${number})*\s*\]`;
  // Frontmatter (mermaid's config block) first: only the colour palette, passed then failed.
  const front = /^---\nconfig:\n  themeVariables:\n    xyChart:\n      plotColorPalette: "(#[0-9a-f]{6}), (#[0-9a-f]{6})"\n---\n/.exec(block);
  expect(front, "the chart's colour config").not.toBeNull();
  expect(front!.slice(1)).toEqual(["#2da44e", "#cf222e"]);
  block = block.slice(front![0].length);
  const lines = block.split("\n").map((l) => l.trim()).filter(Boolean);
  expect(block).not.toContain("%%");
  expect(lines[0]).toMatch(/^xychart-beta$/);
  const chart = { title: "", categories: [] as string[], yMax: NaN, bars: [] as number[][], lines: [] as number[][] };
  const list = (text: string) => text.slice(text.indexOf("[") + 1, text.lastIndexOf("]")).split(",").map((v) => v.trim());
  for (const line of lines.slice(1)) {
    if (/^title /.test(line)) {
      expect(line).toMatch(/^title "[^"]*"$/);
      chart.title = line.slice(7, -1);
    } else if (/^x-axis /.test(line)) {
      expect(line).toMatch(/^x-axis (?:"[^"]*" |[A-Za-z]+ )?\[\s*[\w.]+(?:\s*,\s*[\w.]+)*\s*\]$/);
      chart.categories = list(line);
    } else if (/^y-axis /.test(line)) {
      expect(line).toMatch(new RegExp(String.raw`^y-axis (?:"[^"]*" )?${number} --> ${number}$`));
      chart.yMax = Number(line.split("-->")[1]);
    } else if (/^(bar|line) /.test(line)) {
      expect(line).toMatch(new RegExp(String.raw`^(?:bar|line) ${numbers}$`));
      (line.startsWith("bar") ? chart.bars : chart.lines).push(list(line).map(Number));
    } else {
      throw new Error(`not an xychart statement: ${line}`);
    }
  }
  // Every series has one value per category, within the y range.
  for (const series of [...chart.bars, ...chart.lines]) {
    expect(series).toHaveLength(chart.categories.length);
    expect(Math.max(...series)).toBeLessThanOrEqual(chart.yMax);
  }
  return chart;
}

const summaryWith = (over: Partial<RunSummary>): RunSummary => ({
  command: "deploy",
  stack: "production",
  outcome: "deployed-verified",
  exitCode: ExitCode.Ok,
  release: { id: "v42", images: {}, env: {} },
  prechecks: [],
  startedAt: new Date(t0).toISOString(),
  finishedAt: new Date(t0 + 600_000).toISOString(),
  messages: [],
  ...over,
});

describe("the watch as a chart", () => {
  it("a passed watch: ten rounds of three passed checks, no failures, decided at the last round", async () => {
    const monitor = await watch(() => 0);
    const [block, ...others] = mermaidBlocks(renderMarkdown(summaryWith({ monitor })));
    expect(others).toEqual([]);
    expect(parseXyChart(block!)).toEqual({
      title: "Watch: passed, decided at round 10 of 10",
      categories: ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
      yMax: 3,
      bars: [[3, 3, 3, 3, 3, 3, 3, 3, 3, 3]],
      lines: [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
    });
  });

  it("a failed watch: the early verdict's round is in the title, the failures are the line", async () => {
    // 30 checks at 95 %: one failed check passes, the second fails the watch at once (round 5).
    const monitor = await watch((round) => (round === 1 || round === 4 ? 1 : 0));
    expect(monitor.verdict).toMatchObject({ state: "failed", reason: "success-rate" });
    const md = renderMarkdown(summaryWith({ outcome: "rolled-back", exitCode: ExitCode.FailedRolledBack, monitor }));
    expect(parseXyChart(mermaidBlocks(md)[0]!)).toEqual({
      title: "Watch: failed (success-rate) at round 5 of 10",
      categories: ["1", "2", "3", "4", "5"],
      yMax: 3,
      bars: [[3, 2, 3, 3, 2]],
      lines: [[0, 1, 0, 0, 1]],
    });
    // The chart sits in the monitor section, before the per-round marks.
    expect(md.indexOf("```mermaid")).toBeGreaterThan(md.indexOf("### Health monitor"));
    expect(md.indexOf("```mermaid")).toBeLessThan(md.indexOf("Rounds: `✓✗✓✓✗`"));
  });

  it("three failed rounds in a row (a rate that tolerates them): the streak rule's verdict and round", async () => {
    const monitor = await watch((round) => (round >= 2 ? 1 : 0), t0, 0.5);
    const chart = parseXyChart(watchChart(monitor, "Watch")!.join("\n").replace(/^```mermaid\n|```[\s\S]*$/g, ""));
    expect(chart.title).toBe("Watch: failed (consecutive-failures) at round 5 of 10");
    expect(chart.bars).toEqual([[3, 3, 2, 2, 2]]);
    expect(chart.lines).toEqual([[0, 0, 1, 1, 1]]);
  });

  it("a rollback's watch is a second chart, after the rollback heading", async () => {
    const failed = await watch((round) => (round >= 1 ? 3 : 0));
    expect(failed.series.map((p) => p.failed)).toEqual([0, 3]);
    const after = await watch(() => 0, t0 + 600_000);
    const md = renderMarkdown(
      summaryWith({
        outcome: "rolled-back",
        exitCode: ExitCode.FailedRolledBack,
        monitor: failed,
        rollback: { from: "v42", to: "v41", reason: "automatic", up: { result: "succeeded", durationMs: 9_000 }, monitor: after },
      }),
    );
    const charts = mermaidBlocks(md).map(parseXyChart);
    expect(charts.map((c) => c.title)).toEqual(["Watch: failed (success-rate) at round 2 of 10", "Rollback watch: passed, decided at round 10 of 10"]);
    expect(md.lastIndexOf("```mermaid")).toBeGreaterThan(md.indexOf("#### Health monitor after the rollback"));
    expect(charts[1]!.lines).toEqual([Array(10).fill(0)]);
  });

  it("a watch without a round has no chart; a very long one charts its newest rounds and says so", async () => {
    const none = { ...(await watch(() => 0)), series: [] };
    expect(watchChart(none, "Watch")).toBeUndefined();
    const long = await watch(() => 0);
    long.series = Array.from({ length: maxChartRounds + 50 }, (_, i) => ({ round: i + 1, passed: 3, failed: 0, atMs: i * 1000 }));
    const lines = watchChart(long, "Watch")!;
    const chart = parseXyChart(lines.join("\n").replace(/^```mermaid\n|```[\s\S]*$/g, ""));
    expect(chart.categories).toHaveLength(maxChartRounds);
    expect(chart.categories[0]).toBe("51");
    expect(lines.at(-1)).toContain(`the last ${maxChartRounds} of ${maxChartRounds + 50} rounds`);
  });

  it("the JSON report carries the same series: round, passed and failed checks, ms since the watch began", async () => {
    const monitor = await watch((round) => (round === 1 ? 1 : 0));
    const dir = await mkdtemp(join(tmpdir(), "chart-"));
    await writeReports(summaryWith({ monitor }), { dir });
    const json = JSON.parse(await readFile(join(dir, (await readdir(dir)).find((f) => f.endsWith(".json"))!), "utf8"));
    expect(json.monitor.series.slice(0, 3)).toEqual([
      { round: 1, passed: 3, failed: 0, atMs: 0 },
      { round: 2, passed: 2, failed: 1, atMs: 30_000 },
      { round: 3, passed: 3, failed: 0, atMs: 60_000 },
    ]);
    const chart = parseXyChart(mermaidBlocks(await readFile(join(dir, (await readdir(dir)).find((f) => f.endsWith(".md"))!), "utf8"))[0]!);
    expect(chart.bars[0]).toEqual(json.monitor.series.map((p: { passed: number }) => p.passed));
    expect(chart.lines[0]).toEqual(json.monitor.series.map((p: { failed: number }) => p.failed));
  });
});
