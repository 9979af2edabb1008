// The one outcome table: every way a run can end, with its exit code, its headline, and
// whether it counts as a failure (a GitHub issue, the troubleshooting steps). The CLI's exit
// code, the report's headline, the failure issue and the README's exit-code table all come
// from here, so they cannot disagree.
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";

export type Tone = "ok" | "warn" | "fail";

export interface OutcomeInfo {
  exitCode: ExitCodeValue;
  tone: Tone;
  headline: string;
  /** A failure opens (or comments on) the GitHub failure issue and lists the next steps. */
  failure: boolean;
}

export const outcomes = {
  running: { exitCode: ExitCode.Unexpected, tone: "warn", headline: "still running (the driver stopped before an outcome)", failure: false },
  "deployed-verified": { exitCode: ExitCode.Ok, tone: "ok", headline: "deployed and verified", failure: false },
  "rollback-done": { exitCode: ExitCode.Ok, tone: "ok", headline: "rollback done", failure: false },
  restored: { exitCode: ExitCode.Ok, tone: "ok", headline: "restored from a backup set on the host, and verified", failure: false },
  ok: { exitCode: ExitCode.Ok, tone: "ok", headline: "done", failure: false },
  error: { exitCode: ExitCode.Unexpected, tone: "fail", headline: "unexpected error", failure: true },
  "host-unreachable": { exitCode: ExitCode.Unexpected, tone: "fail", headline: "the host stopped answering mid-run: what it runs now is not known", failure: true },
  usage: { exitCode: ExitCode.Usage, tone: "fail", headline: "bad command line, stack or target: nothing was run", failure: false },
  "invalid-config": { exitCode: ExitCode.Usage, tone: "fail", headline: "invalid stack config: nothing was run", failure: false },
  blocked: { exitCode: ExitCode.Blocked, tone: "warn", headline: "blocked before any change", failure: false },
  promoted: { exitCode: ExitCode.Ok, tone: "warn", headline: "failed its health check, paused, and promoted by a decision: live and verified", failure: false },
  "rolled-back": { exitCode: ExitCode.FailedRolledBack, tone: "fail", headline: "failed, rolled back to the last verified release", failure: true },
  "up-failed": { exitCode: ExitCode.FailedRolledBack, tone: "fail", headline: "update failed, the previous release keeps running", failure: true },
  "failed-no-rollback": { exitCode: ExitCode.FailedNoRollback, tone: "fail", headline: "failed, no rollback possible", failure: true },
  "rollback-failed": { exitCode: ExitCode.FailedNoRollback, tone: "fail", headline: "failed, and the rollback failed too", failure: true },
  "restore-failed": { exitCode: ExitCode.FailedNoRollback, tone: "fail", headline: "restored, but the restored release failed its health check", failure: true },
  "lock-held": { exitCode: ExitCode.LockHeld, tone: "warn", headline: "not run: another deployment holds the lock", failure: false },
  cancelled: { exitCode: ExitCode.Cancelled, tone: "warn", headline: "cancelled by a signal: the locks are released", failure: false },
} as const satisfies Record<string, OutcomeInfo>;

export type Outcome = keyof typeof outcomes;

/** A deploy paused after a failed verdict has no outcome yet: its issue and notification say this. */
export const pausedHeadline = "failed its health check: paused, live, waiting for promote or abort";

/** What each exit code means, in words, for --help and the README. */
const exitCodeWords: Readonly<Record<ExitCodeValue, string>> = {
  0: "success: deployed and verified (or promoted after a pause), rolled back or restored on request, or the command ran",
  1: "unexpected error, or a host that stopped answering mid-run (what it runs is not known): read the messages; a failure issue is opened",
  2: "bad command line, unknown stack, rollback target or backup set, a damaged backup set, a failed release to restore without --force, or invalid config: nothing was run",
  3: "blocked by a precheck or the preview's replace policy: the host was not changed",
  4: "the release failed and the previous release runs again",
  5: "the release failed and no healthy release could be brought back (or a restored one failed its health check)",
  6: "another deployment holds the lock",
  7: "cancelled by SIGTERM/SIGINT: the locks are released, the report says what runs",
};

/** The README's exit-code table, derived from the outcome table (a unit test keeps them equal). */
export function exitCodeTable(): string {
  const rows = (Object.keys(exitCodeWords) as unknown as string[]).map(Number).map((code) => {
    const names = (Object.keys(outcomes) as Outcome[]).filter((o) => o !== "running" && outcomes[o].exitCode === code);
    return `| ${code} | ${exitCodeWords[code as ExitCodeValue]} | ${names.map((n) => `\`${n}\``).join(", ")} |`;
  });
  return ["| exit | meaning | outcomes |", "|---|---|---|", ...rows].join("\n");
}
