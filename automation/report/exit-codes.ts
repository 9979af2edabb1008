// The driver's exit codes: one per kind of outcome, so a CI step or a script can branch on
// what happened without parsing output. The values are part of the driver's interface.

export const ExitCode = {
  /** Success: deployed and verified, rollback done, or the requested read-only command ran. */
  Ok: 0,
  /** An unexpected error (a bug, or the engine failing in an unknown way): read the messages. */
  Unexpected: 1,
  /** Bad command line or invalid stack config: nothing was run. */
  Usage: 2,
  /** Blocked by a precheck or by the preview's replace policy: the host was not changed. */
  Blocked: 3,
  /** The release failed (update or health check) and the previous release is running again. */
  FailedRolledBack: 4,
  /** The release failed and no healthy release could be brought back: none was verified yet, or the rollback failed. */
  FailedNoRollback: 5,
  /** Another deployment holds the lock (the host lock or the engine's update lock). */
  LockHeld: 6,
} as const;

export type ExitCodeName = keyof typeof ExitCode;
export type ExitCodeValue = (typeof ExitCode)[ExitCodeName];

/** One line per exit code, for `--help` and the README. */
export const exitCodeMeanings: Readonly<Record<ExitCodeValue, string>> = {
  0: "ok: deployed and verified, rolled back on request, or the command ran",
  1: "unexpected error",
  2: "usage or config error: nothing was run",
  3: "blocked by prechecks or the preview policy: the host was not changed",
  4: "deploy failed and was rolled back to the last verified release",
  5: "deploy failed and no rollback was possible, or the rollback failed",
  6: "another deployment holds the lock",
};
