// The host deploy lock as a stage: taken before anything changes, renewed by a heartbeat while
// the run holds it, released on the way out (also on a second signal) after the heartbeat
// stops. An unreachable host is the first failed precheck: blocked.
import { lockHolder, startHeartbeat, takeHostLock } from "../host/lock.js";
import { HostUnreachableError } from "../host/ssh.js";
import { stop, type RunContext, type Stage } from "./run.js";

export interface LockOptions {
  /** What the holder is doing, shown to whoever finds the lock (a release id, "rollback-v41"). */
  label: string;
  /** Queue behind the holder instead of failing. */
  wait?: boolean | undefined;
  waitTimeoutMs?: number | undefined;
  /** A host lock whose heartbeat stopped this long ago is abandoned and broken (default 180 s). */
  leaseSeconds?: number | undefined;
}

export function takeLock<C extends RunContext>(options: (ctx: C) => LockOptions): Stage<C> {
  return {
    name: "lock",
    async run(ctx) {
      const opts = options(ctx);
      const host = ctx.host!;
      let lock;
      try {
        lock = await takeHostLock(host, {
          holder: lockHolder(),
          releaseId: opts.label,
          stackName: ctx.stackName,
          leaseSeconds: opts.leaseSeconds,
          wait: opts.wait,
          waitTimeoutMs: opts.waitTimeoutMs,
          log: ctx.log,
          signal: ctx.cancellation.signal,
        });
      } catch (err) {
        if (!(err instanceof HostUnreachableError)) throw err;
        ctx.summary.prechecks.push({ name: "ssh reachable", ok: false, detail: err.message });
        return stop("blocked", `Blocked: ${err.message}. Nothing was changed.`);
      }
      if (!lock.acquired) return stop("lock-held", lock.message);
      ctx.summary.messages.push(...lock.notes);
      const { owner } = lock;
      const heartbeat = startHeartbeat(host, owner, {
        leaseSeconds: lock.leaseSeconds,
        log: ctx.log,
        onLost: (message) => ctx.summary.messages.push(message.replace(/^!!! /, "")),
      });
      ctx.onEnd(
        async () => {
          heartbeat.stop();
          await host.unlock(owner).catch((err: unknown) => {
            if (!(err instanceof HostUnreachableError)) throw err;
            throw new Error(
              `the host lock could not be released (${err.message}): the next run on this machine breaks it once this process is gone, ` +
                `any other after ${lock.leaseSeconds} s without a heartbeat, or \`unlock --stack ${ctx.stackName} --force\``,
            );
          });
        },
        { urgent: true },
      );
    },
  };
}
