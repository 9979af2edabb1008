// The host deploy lock, as the driver takes it: one deployment per stack at a time. A lock
// older than the stale limit, or held by a run of this machine whose process is gone, is
// broken (and said so); otherwise the caller fails with who holds it, or queues (--wait-lock).
import os from "node:os";
import type { Logger } from "../common/log.js";
import { processAlive } from "../common/process.js";
import { setTimeout as sleep } from "node:timers/promises";
import { CancelledError } from "../common/errors.js";
import type { HostDoor } from "./operations.js";

export interface LockRequest {
  holder: string;
  releaseId: string;
  stackName: string;
  /** A lock older than this is abandoned (default one hour). */
  staleSeconds?: number | undefined;
  /** Queue behind the holder instead of failing. */
  wait?: boolean | undefined;
  waitTimeoutMs?: number | undefined;
  log: Logger;
  /** Stops waiting (SIGTERM). */
  signal?: AbortSignal | undefined;
}

export type LockOutcome = { acquired: true; notes: string[] } | { acquired: false; message: string };

export function lockHolder(): string {
  const run = process.env.GITHUB_RUN_ID ? ` github-run ${process.env.GITHUB_RUN_ID}` : "";
  return `${os.userInfo().username}@${os.hostname()} pid ${process.pid}${run}`;
}

/** A holder written by lockHolder() on this machine whose process no longer exists. */
export function deadLocalHolder(holder: string): boolean {
  const m = /^[^@\s]+@(\S+) pid (\d+)/.exec(holder);
  if (!m || m[1] !== os.hostname()) return false;
  const pid = Number(m[2]);
  return pid !== process.pid && !processAlive(pid);
}

export async function takeHostLock(ops: HostDoor, req: LockRequest): Promise<LockOutcome> {
  const stale = req.staleSeconds ?? 3600;
  const waitUntil = Date.now() + (req.waitTimeoutMs ?? 30 * 60_000);
  const notes: string[] = [];
  for (;;) {
    const attempt = await ops.tryLock(req.holder, req.releaseId, stale);
    if (attempt.acquired) {
      if (attempt.brokeStale) notes.push(`Broke a stale host lock (${attempt.brokeStale}).`);
      req.log.info(`  host lock taken by ${req.holder}`);
      return { acquired: true, notes };
    }
    const h = attempt.holder;
    if (h && deadLocalHolder(h.holder)) {
      notes.push(`Broke the host lock of a run that died: ${h.holder} (release ${h.release}, ${h.ageSeconds} s old).`);
      req.log.warn(`the host lock is held by ${h.holder}, which no longer runs on this machine: breaking it`);
      await ops.unlock(req.holder, true);
      continue;
    }
    const who = h ? `${h.holder} (release ${h.release}, ${h.ageSeconds} s ago)` : "someone";
    if (!req.wait || Date.now() > waitUntil) {
      return {
        acquired: false,
        message:
          `Another deployment holds the host lock: ${who}. Wait for it, run again with --wait-lock to queue, ` +
          `or, if that run is dead, clear it with \`unlock --stack ${req.stackName} --force\` ` +
          `(a lock older than ${stale} s is broken automatically).`,
      };
    }
    req.log.info(`  waiting for the host lock held by ${who} ...`);
    // Polls: the holder may be on another machine, so there is nothing to wait on but the lock itself.
    await sleep(2000, undefined, req.signal ? { signal: req.signal } : undefined).catch(() => {
      throw new CancelledError("stopped waiting for the host lock");
    });
  }
}
