// The engine's processes: a deadline of our own around every engine operation, and the kill
// that stops an engine which does not stop when cancelled (the command plugin cannot
// interrupt a running remote command).
import { readdirSync, readFileSync } from "node:fs";

export class DeadlineExceededError extends Error {
  override name = "DeadlineExceededError";
  constructor(
    readonly operation: string,
    readonly deadlineMs: number,
    readonly lastProgress: string | undefined,
  ) {
    super(
      `${operation} did not finish within ${Math.round(deadlineMs / 1000)} s; it was cancelled.` +
        (lastProgress ? ` Last progress: ${lastProgress}` : "") +
        " The engine was asked to cancel (and killed if it did not stop); the next deploy clears what it left" +
        " and re-applies the intended state.",
    );
  }
}

/**
 * Runs an engine operation under a deadline of our own: the official command plugin can
 * hang forever on a host that accepts TCP but never speaks SSH. On expiry (or an outer
 * abort, e.g. SIGTERM) the operation is aborted: the CLI is asked to cancel gracefully,
 * which waits for the steps in flight. A plugin that never returns would make that wait
 * forever, so after `graceMs` the engine's processes (the CLI and the plugins it started,
 * children of this process) are killed; the lock file they leave is cleared by the next run
 * (clearStaleEngineLock), and interrupted steps by clearInterruptedOperations.
 */
export async function withDeadline<T>(
  operation: string,
  deadlineMs: number,
  run: (signal: AbortSignal, progress: (line: string) => void) => Promise<T>,
  /** An outer cancellation (e.g. SIGTERM to the driver): aborts the operation the same way. */
  outer?: AbortSignal,
  graceMs = 60_000,
): Promise<T> {
  const controller = new AbortController();
  let lastProgress: string | undefined;
  let expired = false;
  let killTimer: NodeJS.Timeout | undefined;
  let rejectHard: (err: Error) => void = () => {};
  const hardStop = new Promise<never>((_, reject) => (rejectHard = reject));
  hardStop.catch(() => {});
  const abort = () => {
    if (controller.signal.aborted) return;
    controller.abort();
    killTimer = setTimeout(() => {
      const killed = killEngineProcesses();
      rejectHard(new Error(`the engine did not stop within ${Math.round(graceMs / 1000)} s of the cancel; killed ${killed.length} engine process(es)`));
    }, graceMs);
  };
  const timer = setTimeout(() => {
    expired = true;
    abort();
  }, deadlineMs);
  if (outer?.aborted) abort();
  outer?.addEventListener("abort", abort, { once: true });
  try {
    return await Promise.race([
      run(controller.signal, (line) => {
        lastProgress = line;
      }),
      hardStop,
    ]);
  } catch (err) {
    if (expired) throw new DeadlineExceededError(operation, deadlineMs, lastProgress);
    throw err;
  } finally {
    clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
    outer?.removeEventListener("abort", abort);
  }
}

/**
 * SIGKILLs the Pulumi CLI processes this process started and everything below them (the
 * plugins). Linux /proc only; returns the pids killed.
 */
export function killEngineProcesses(root = process.pid): number[] {
  const parentOf = new Map<number, number>();
  const nameOf = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" ");
      parentOf.set(Number(entry), Number(fields[1]));
      nameOf.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
    } catch {
      // gone meanwhile
    }
  }
  const below = (pid: number): number[] => {
    const kids = [...parentOf].filter(([, ppid]) => ppid === pid).map(([child]) => child);
    return kids.flatMap((k) => [k, ...below(k)]);
  };
  const engines = [...parentOf].filter(([pid, ppid]) => ppid === root && nameOf.get(pid) === "pulumi").map(([pid]) => pid);
  const victims = engines.flatMap((pid) => [pid, ...below(pid)]);
  for (const pid of victims) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return victims;
}

