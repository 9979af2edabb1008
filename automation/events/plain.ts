// The plain progress lines (stderr, as in CI) are the events written for humans: one
// formatter, so a line and its event never say different things.
import { formatPercent } from "../monitor/policy.js";
import type { RunEventBody } from "./types.js";

export interface PlainLine {
  text: string;
  warning: boolean;
}

/** The line an event prints in plain mode; none for the events only machines and the display need. */
export function plainLine(e: RunEventBody): PlainLine | undefined {
  const info = (text: string): PlainLine => ({ text, warning: false });
  switch (e.type) {
    case "notice":
      return { text: e.message, warning: e.level === "warning" };
    case "stage-started":
      return info(`== ${e.stage}`);
    case "watch-started":
      return info(
        `monitor: watching ${e.release} for ${e.durationMs / 1000} s, a round every ${e.intervalMs / 1000} s of ${e.checksText} (${e.tolerance})`,
      );
    case "round":
      return info(`monitor: round ${e.round} ${e.ok ? "ok" : `FAILED (${e.failures.join("; ")})`}`);
    case "verdict":
      return info(
        `monitor: ${e.state === "passed" ? "PASSED" : `FAILED: ${e.detail}`} ` +
          `(${e.rounds - e.failedRounds}/${e.rounds} rounds ok, ${e.checks - e.failedChecks}/${e.checks} checks, ${formatPercent(e.successRate)})`,
      );
    case "rollback-started":
      return info(`  re-applying ${e.to} (${e.how}): ${e.reason}`);
    default:
      return undefined;
  }
}
