// The health monitor in the Markdown report: the verdict and its numbers, the policy, a chart
// of the watch GitHub renders (Mermaid xychart-beta: passed checks per round as bars, failed
// checks as a line, the verdict and its round in the title), and the failed rounds in detail.
import type { MonitorReport, RoundPoint } from "../monitor/monitor.js";
import { formatPercent, plannedRounds, toleranceOf } from "../monitor/policy.js";
import { formatDuration, iso, oneLine, table } from "./format.js";

export interface MonitorRenderOptions {
  /** At most this many failed rounds are listed one by one. Default: 20. */
  maxFailedRoundRows?: number;
}

/** A chart holds at most this many rounds (the newest: they hold the verdict). */
export const maxChartRounds = 200;

/** Checks in a round, as the rounds taken hold them (at least 1). */
const perRound = (rounds: readonly { samples: readonly unknown[] }[]): number => Math.max(1, ...rounds.map((r) => r.samples.length));

/** Text inside a Mermaid string: no double quote (it ends the string), no `%%` (a comment), one line. */
const mermaidText = (text: string) => oneLine(text).replace(/"/g, "'").replace(/%%+/g, "%").slice(0, 120);

/** Mermaid's frontmatter config: passed checks green, failed checks red (GitHub's own colours), the series in that order. */
const chartColours = ["---", "config:", "  themeVariables:", "    xyChart:", '      plotColorPalette: "#2da44e, #cf222e"', "---"];

/**
 * The watch as a Mermaid xychart-beta block, or undefined when no round was taken. `label`
 * names the watch ("Watch", "Rollback watch").
 */
export function watchChart(report: MonitorReport, label: string): string[] | undefined {
  const all: readonly RoundPoint[] = report.series;
  if (all.length === 0) return undefined;
  const points = all.slice(-maxChartRounds);
  const { verdict } = report;
  const decidedAt = `round ${all.at(-1)!.round} of ${plannedRounds(report.policy)}`;
  const title = verdict.state === "passed" ? `${label}: passed, decided at ${decidedAt}` : `${label}: failed (${verdict.reason}) at ${decidedAt}`;
  const top = Math.max(1, ...points.map((p) => p.passed + p.failed));
  return [
    "```mermaid",
    ...chartColours,
    "xychart-beta",
    `  title "${mermaidText(title)}"`,
    `  x-axis "round" [${points.map((p) => p.round).join(", ")}]`,
    `  y-axis "checks" 0 --> ${top}`,
    `  bar [${points.map((p) => p.passed).join(", ")}]`,
    `  line [${points.map((p) => p.failed).join(", ")}]`,
    "```",
    "",
    `Green bars: passed checks per round; red line: failed checks per round${points.length < all.length ? ` (the last ${points.length} of ${all.length} rounds)` : ""}.`,
  ];
}

/** Verdict, stats, the policy, the chart, one mark per round, and the failed rounds in detail. */
export function renderMonitor(report: MonitorReport, options: MonitorRenderOptions = {}, label = "Watch"): string[] {
  const { verdict, policy, rounds } = report;
  const passed = verdict.rounds - verdict.failedRounds;
  const lines: string[] = [];
  const checks = verdict.checks ?? verdict.rounds;
  const stats =
    `${passed}/${verdict.rounds} rounds passed, ${checks - (verdict.failedChecks ?? verdict.failedRounds)}/${checks} checks ` +
    `(${formatPercent(verdict.successRate)}), longest failure streak ${verdict.longestFailureStreak}`;
  lines.push(
    verdict.state === "passed"
      ? `✅ **Passed**: ${stats}.`
      : `❌ **Failed** (${verdict.reason}): ${oneLine(verdict.detail)}. ${stats}.`,
  );
  lines.push(
    "",
    `Policy: ${formatDuration(policy.durationMs)}, a round every ${formatDuration(policy.intervalMs)} ` +
      `(${plannedRounds(policy)} planned), ${toleranceOf(policy, policy.checksPerRound ?? perRound(rounds)).text} ` +
      `(${formatPercent(policy.successRate)} of checks); probe timeout ${formatDuration(policy.probeTimeoutMs)}.`,
  );
  lines.push(
    "",
    `Watched from ${iso(report.startedAt)} to ${iso(report.finishedAt)}` +
      (report.firstFailureAt !== undefined ? `; first failure at ${iso(report.firstFailureAt)}` : "") +
      `; decided at ${iso(report.decidedAt)}.`,
  );
  const chart = watchChart(report, label);
  if (chart) lines.push("", ...chart);
  if (rounds.length > 0) {
    // One mark per round, in order: the shape of the watch at a glance, also where charts do not render.
    lines.push("", `Rounds: \`${rounds.map((r) => (r.ok ? "✓" : "✗")).join("")}\``);
    const failed = rounds.filter((r) => !r.ok);
    const limit = options.maxFailedRoundRows ?? 20;
    if (failed.length > 0) {
      lines.push(
        "",
        table(
          ["Round", "At", "Slowest", "Failures"],
          failed.slice(0, limit).map((r) => [
            String(r.round + 1),
            `+${formatDuration(r.startedAt - report.startedAt)}`,
            `${Math.max(0, ...r.samples.map((s) => s.latencyMs))} ms`,
            r.failures.join("; "),
          ]),
        ),
      );
      if (failed.length > limit) lines.push("", `… and ${failed.length - limit} more failed rounds (all samples are in the JSON report).`);
    }
  }
  return lines;
}
