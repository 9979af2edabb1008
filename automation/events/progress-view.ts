// What the terminal display shows, as pure functions: the events fold into a view, the view
// renders to lines (the spinner frame and the time are arguments, so tests pin them).
import type { RunEvent } from "./types.js";

type WatchStarted = Extract<RunEvent, { type: "watch-started" }>;
type VerdictEvent = Extract<RunEvent, { type: "verdict" }>;

export interface StageView {
  name: string;
  state: "running" | "ok" | "failed";
  startedAtMs: number;
  ms?: number;
}

export interface WatchView {
  plan: WatchStarted;
  /** Each round taken: passed or not. */
  rounds: boolean[];
  checks: number;
  failedChecks: number;
  streak: number;
  verdict?: VerdictEvent;
}

export interface ProgressView {
  stages: StageView[];
  watch?: WatchView;
  rollback?: { to: string; state: "running" | "ok" | "failed" };
  /** The running stage's latest progress line. */
  detail?: string;
}

export const emptyView = (): ProgressView => ({ stages: [] });

export const runningStage = (view: ProgressView): StageView | undefined => view.stages.find((s) => s.state === "running");

/** The view after `event`, at `nowMs` (a new view; `view` is left as it was). */
export function foldEvent(view: ProgressView, event: RunEvent, nowMs: number): ProgressView {
  const next: ProgressView = { ...view, stages: view.stages.map((s) => ({ ...s })) };
  switch (event.type) {
    case "stage-started":
      next.stages.push({ name: event.stage, state: "running", startedAtMs: nowMs });
      delete next.detail;
      break;
    case "stage-ended": {
      const stage = next.stages.findLast((s) => s.name === event.stage && s.state === "running");
      if (stage) Object.assign(stage, { state: event.ok ? "ok" : "failed", ms: event.ms });
      delete next.detail;
      break;
    }
    case "watch-started":
      next.watch = { plan: event, rounds: [], checks: 0, failedChecks: 0, streak: 0 };
      break;
    case "round":
      if (next.watch) {
        next.watch = { ...next.watch, rounds: [...next.watch.rounds, event.ok], checks: event.checks, failedChecks: event.failedChecks, streak: event.consecutiveFailures };
      }
      break;
    case "verdict":
      if (next.watch) next.watch = { ...next.watch, verdict: event };
      break;
    case "rollback-started":
      next.rollback = { to: event.to, state: "running" };
      break;
    case "rollback-ended":
      next.rollback = { to: event.to, state: event.ok ? "ok" : "failed" };
      break;
    case "notice":
      if (event.level === "info" && runningStage(next)) next.detail = event.message.trim();
      break;
    default:
      break;
  }
  return next;
}

const mark = { ok: "✓", failed: "✗" } as const;

export function formatSeconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, "0")}s`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** "round 4/10 ✓✓✓✗ · 11/12 checks ok · fails after 2 more failed checks or 3 bad rounds in a row". */
export function watchLine(watch: WatchView): string {
  const { plan } = watch;
  const rounds = `watch ${plan.release} round ${watch.rounds.length}/${plan.plannedRounds} ${watch.rounds.map((ok) => (ok ? mark.ok : mark.failed)).join("")}`;
  const checks = `${watch.checks - watch.failedChecks}/${watch.checks} checks ok`;
  const v = watch.verdict;
  if (v) {
    const when = v.early ? `early, at round ${v.round}` : `at the end of the watch, round ${v.round}`;
    return `${rounds} · ${checks} · ${v.state === "passed" ? `${mark.ok} passed` : `${mark.failed} failed (${when}): ${v.detail ?? v.reason}`}`;
  }
  const checksLeft = Math.max(0, plan.allowedFailedChecks + 1 - watch.failedChecks);
  const roundsLeft = Math.max(0, plan.consecutiveFailures - watch.streak);
  return `${rounds} · ${checks} · fails after ${checksLeft} more failed check${checksLeft === 1 ? "" : "s"} or ${plural(roundsLeft, "bad round")} in a row`;
}

/** The display's lines at `nowMs`; `frame` is the spinner's current frame. */
export function renderView(view: ProgressView, nowMs: number, frame: string, width = 120): string[] {
  const lines = view.stages.map((s) =>
    s.state === "running" ? `stage ${frame} ${s.name} ${formatSeconds(nowMs - s.startedAtMs)}` : `stage ${mark[s.state]} ${s.name} ${formatSeconds(s.ms ?? 0)}`,
  );
  if (view.watch) lines.push(watchLine(view.watch));
  if (view.rollback) {
    lines.push(view.rollback.state === "running" ? `rollback ${frame} to ${view.rollback.to}` : `rollback ${mark[view.rollback.state]} to ${view.rollback.to}`);
  }
  if (view.detail) lines.push(`  ${view.detail.split("\n")[0]}`);
  return lines.map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line));
}
