// After the update: the health monitor watches the release, and the verdict makes it
// verified or hands it to the automatic rollback. A cancelled watch leaves the release live
// and recorded as unverified.
import { CancelledError, firstLine } from "../common/errors.js";
import type { MonitorReport } from "../monitor/monitor.js";
import { watchRelease } from "../monitor/watch.js";
import type { DeployUpContext } from "./apply.js";
import { recordFailed, recordUnverified, recordVerified, verifiedReleases, type VerifiedRef } from "./releases.js";
import { stage, stop, type RunContext } from "./run.js";

/** Watches `releaseId` with the stack's health config (the run's signal stops it). */
export function watch(ctx: RunContext, releaseId: string): Promise<MonitorReport> {
  const config = ctx.config!;
  return watchRelease({
    releaseId,
    config,
    host: () => ctx.host!.exec,
    prober: ctx.deps.prober(config, ctx.host!),
    log: ctx.log,
    clock: ctx.deps.clock,
    signal: ctx.cancellation.signal,
  });
}

/** Stack tag and the host's deployment.json: the release passed its watch. */
export async function markVerified(ctx: RunContext, ref: VerifiedRef): Promise<void> {
  // The host first: it refuses a release that is not the one it runs, and then nothing is tagged.
  await ctx.host!.markVerified(ref.id);
  await recordVerified(ctx.engine!.detached(), ref);
  ctx.log.info(`  ${ref.id} marked verified (stack tag and ${ctx.host!.layout.appDir}/deployment.json)`);
}

export interface WatchContext extends DeployUpContext {
  /** Set when the new release failed its watch: the rollback stage acts on it. */
  failure?: { reason: string; target?: VerifiedRef };
}

export const monitorRelease = stage<WatchContext>("monitor", async (ctx) => {
  const id = ctx.release!.id;
  const monitor = await watch(ctx, id);
  ctx.summary.monitor = monitor;
  if (!ctx.cancellation.signal.aborted) return;
  await recordUnverified(ctx.engine!.detached(), id, ctx.up?.summary.update);
  throw new CancelledError(
    `the watch of ${id} stopped after ${monitor.rounds.length} round(s); ${id} stays live, recorded as unverified ("cancelled during the watch")`,
  );
});

export const judgeRelease = stage<WatchContext>("verdict", async (ctx) => {
  const id = ctx.release!.id;
  const verdict = ctx.summary.monitor!.verdict;
  if (verdict.state === "passed") {
    await markVerified(ctx, { id, update: ctx.up!.summary.update! });
    return stop("deployed-verified", `${id} is live and verified.`);
  }
  await recordFailed(ctx.engine!.detached(), id, ctx.up?.summary.update);
  // The host keeps its own record (a restore reads it when the stack state is gone).
  await ctx.host!.markFailed(id, verdict.detail).catch((err: unknown) => ctx.log.warn(`could not record ${id} as failed on the host: ${firstLine(err)}`));
  const target = (await verifiedReleases(ctx.engine!)).find((v) => v.id !== id);
  ctx.failure = { reason: `automatic: ${id} failed its health check (${verdict.detail})`, ...(target ? { target } : {}) };
  if (!target) {
    return stop(
      "failed-no-rollback",
      `${id} failed its health check and there is no verified release to roll back to (first deploy): the host is left as the update left it.`,
    );
  }
});
