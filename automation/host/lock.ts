// The host deploy lock, as the driver takes it: one deployment per stack at a time, on a lease.
// The holder renews it (a heartbeat) while it runs; a lock whose heartbeat stopped for the lease,
// or held by a run of this machine whose process is gone, is broken (and said so); otherwise
// the caller fails with who holds it, or queues (--wait-lock). Every step is one atomic command
// on the host (components/host-commands/lock.ts).
import { randomBytes } from "node:crypto";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { describeLock, lockBusyExitCode, type LockOwner } from "../../components/host-commands/index.js";
import { CancelledError, firstLine } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { processAlive } from "../common/process.js";
import { HostCommandError, type HostDoor } from "./operations.js";

/** A lock whose holder has not renewed it for this long is abandoned ("within a few minutes"). */
export const defaultLeaseSeconds = 180;

export interface LockRequest {
  holder: string;
  releaseId: string;
  stackName: string;
  /** A lock without a heartbeat for this long is abandoned (default 180 s). */
  leaseSeconds?: number | undefined;
  /** Queue behind the holder instead of failing. */
  wait?: boolean | undefined;
  waitTimeoutMs?: number | undefined;
  log: Logger;
  /** Stops waiting (SIGTERM). */
  signal?: AbortSignal | undefined;
}

export type LockOutcome =
  | { acquired: true; owner: LockOwner; leaseSeconds: number; notes: string[] }
  | { acquired: false; message: string };

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

/** The lease in whole seconds, at least 1. */
export function leaseOf(seconds: number | undefined): number {
  const lease = seconds ?? defaultLeaseSeconds;
  if (!Number.isFinite(lease) || lease < 1) throw new Error(`the host lock lease must be at least 1 s (got ${seconds})`);
  return Math.ceil(lease);
}

export async function takeHostLock(ops: HostDoor, req: LockRequest): Promise<LockOutcome> {
  const leaseSeconds = leaseOf(req.leaseSeconds);
  const owner: LockOwner = { holder: req.holder, nonce: randomBytes(12).toString("hex") };
  const waitUntil = Date.now() + (req.waitTimeoutMs ?? 30 * 60_000);
  const notes: string[] = [];
  for (;;) {
    const attempt = await ops.tryLock({ ...owner, releaseId: req.releaseId, leaseSeconds });
    if (attempt.acquired) {
      if (attempt.brokeStale) notes.push(`Broke a stale host lock (${attempt.brokeStale}).`);
      req.log.info(`  host lock taken by ${req.holder} (lease ${leaseSeconds} s, renewed while this run holds it)`);
      return { acquired: true, owner, leaseSeconds, notes };
    }
    const h = attempt.holder;
    if (h && !h.noInfo && deadLocalHolder(h.holder)) {
      req.log.warn(`the host lock is held by ${h.holder}, which no longer runs on this machine: breaking it`);
      // Breaks that very acquisition (its holder and nonce) and no other: if someone took
      // the lock in between, the host refuses and the next attempt sees the new holder.
      const broken = await ops.unlock({ holder: h.holder, nonce: h.nonce }).then(
        () => true,
        (err: unknown) => {
          if (err instanceof HostCommandError && err.result.code === lockBusyExitCode) return false;
          throw err;
        },
      );
      if (broken) notes.push(`Broke the host lock of a run that died: ${describeLock(h)}.`);
      continue;
    }
    const who = h ? describeLock(h) : "someone";
    if (!req.wait || Date.now() > waitUntil) {
      return {
        acquired: false,
        message:
          `Another deployment holds the host lock: ${who}. Wait for it, run again with --wait-lock to queue, ` +
          `or, if that run is dead, clear it with \`unlock --stack ${req.stackName} --force\` ` +
          `(a lock whose heartbeat stops for ${leaseSeconds} s is broken automatically).`,
      };
    }
    req.log.info(`  waiting for the host lock held by ${who} ...`);
    // Polls: the holder may be on another machine, so there is nothing to wait on but the lock itself.
    await sleep(2000, undefined, req.signal ? { signal: req.signal } : undefined).catch(() => {
      throw new CancelledError("stopped waiting for the host lock");
    });
  }
}

export interface Heartbeat {
  /** Stops renewing; a renewal in flight is not waited for, and its answer is ignored. */
  stop(): void;
}

export interface HeartbeatOptions {
  leaseSeconds: number;
  log: Logger;
  /** Renew every this many ms (default leaseSeconds / 6). */
  everyMs?: number | undefined;
  /** Called once if the lock is lost: taken by another holder (`holder`), or gone (null). */
  onLost?: ((message: string) => void) | undefined;
}

/**
 * Renews the lock every lease/6 while the run holds it, so a long monitor keeps it and a dead
 * run's lock expires within the lease. A failed renewal (the host did not answer) is a warning
 * and the next one tries again; a lock found taken by another holder, or gone, is said loudly
 * and the heartbeat stops (the lock is not ours to renew any more).
 */
export function startHeartbeat(ops: HostDoor, owner: LockOwner, opts: HeartbeatOptions): Heartbeat {
  const everyMs = opts.everyMs ?? (opts.leaseSeconds * 1000) / 6;
  let stopped = false;
  let inFlight = false;
  const lost = (message: string) => {
    stop();
    opts.log.warn(message);
    opts.onLost?.(message);
  };
  const beat = async () => {
    if (stopped || inFlight) return;
    inFlight = true;
    try {
      const r = await ops.renewLock(owner);
      if (stopped || r.renewed) return;
      lost(
        r.holder
          ? `!!! THE HOST LOCK WAS TAKEN BY ANOTHER HOLDER while this run held it: ${describeLock(r.holder)}. ` +
              `Two deployments may now run at once on this host.`
          : `!!! THE HOST LOCK IS GONE while this run held it (broken as stale or cleared by hand): ` +
              `another deployment may start on this host.`,
      );
    } catch (err) {
      if (!stopped) opts.log.warn(`renewing the host lock failed (the next renewal tries again; it expires ${opts.leaseSeconds} s after the last one): ${firstLine(err)}`);
    } finally {
      inFlight = false;
    }
  };
  const timer = setInterval(() => void beat(), everyMs);
  timer.unref();
  function stop(): void {
    stopped = true;
    clearInterval(timer);
  }
  return { stop };
}
