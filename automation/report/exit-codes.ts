// The driver's exit codes: one per kind of outcome, so a CI step or a script can branch on
// what happened without parsing output. The values are part of the driver's interface;
// which outcome gets which code is decided in outcomes.ts, and only there.

export const ExitCode = {
  /** Success: deployed and verified, rollback done, or the requested read-only command ran. */
  Ok: 0,
  /** An unexpected error (a bug, or the engine failing in an unknown way): read the messages. */
  Unexpected: 1,
  /** Bad command line, unknown stack or target, or invalid stack config: nothing was run. */
  Usage: 2,
  /** Blocked by a precheck or by the preview's replace policy: the host was not changed. */
  Blocked: 3,
  /** The release failed (update or health check) and the previous release is running again. */
  FailedRolledBack: 4,
  /** The release failed and no healthy release could be brought back: none was verified yet, or the rollback failed. */
  FailedNoRollback: 5,
  /** Another deployment holds the lock (the host lock or the engine's update lock). */
  LockHeld: 6,
  /** Cancelled by SIGTERM/SIGINT: the locks are released and the report says what runs. */
  Cancelled: 7,
} as const;

export type ExitCodeName = keyof typeof ExitCode;
export type ExitCodeValue = (typeof ExitCode)[ExitCodeName];
