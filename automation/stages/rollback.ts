// Rollback = re-apply the release data of a verified release (the config its update had,
// images pinned to the digests the host recorded when it was verified), then watch it again.
// The same steps serve the automatic rollback of a deploy and the manual `rollback`.
import { CancelledError, firstLine } from "../common/errors.js";
import { emitEvent } from "../events/emitter.js";
import type { MonitorReport } from "../monitor/monitor.js";
import type { UpSummary } from "../report/summary.js";
import { applyStackConfig } from "./apply.js";
import { findUpdate, releaseConfig, releaseDataKeys, releaseDataOf, releaseOf, setReleaseData, type VerifiedRef } from "./releases.js";
import { describeDrift, hostDrift } from "./hosts.js";
import { differences, reconcileWithHost } from "./reconcile.js";
import { stage, stop, type RunContext } from "./run.js";
import { markVerified, watch, type WatchContext } from "./watch.js";

export interface RollbackOutcome {
  ok: boolean;
  up: UpSummary;
  monitor?: MonitorReport;
  error?: string | undefined;
}

type RollbackOptions = { deadlineMs?: number | undefined; graceMs?: number | undefined };

/** Rolls back to `target`; its end is an event whatever happened (rollback-ended). */
export async function rollbackTo(ctx: RunContext, target: VerifiedRef, reason: string, opts: RollbackOptions = {}): Promise<RollbackOutcome> {
  try {
    const rb = await reapply(ctx, target, reason, opts);
    emitEvent(ctx.log, { type: "rollback-ended", to: target.id, ok: rb.ok, detail: rb.error });
    return rb;
  } catch (err) {
    emitEvent(ctx.log, { type: "rollback-ended", to: target.id, ok: false, detail: firstLine(err) });
    throw err;
  }
}

async function reapply(ctx: RunContext, target: VerifiedRef, reason: string, opts: RollbackOptions): Promise<RollbackOutcome> {
  const engine = ctx.engine!;
  const update = findUpdate(await engine.history(), target.update);
  if (!update) throw new Error(`update ${target.update} of ${target.id} is not in the stack history`);
  const now = await engine.getConfig();
  const before = Object.fromEntries(releaseDataKeys.filter((k) => now[k]).map((k) => [k, now[k]!]));
  await setReleaseData(engine, releaseDataOf(update));
  const pinned = await pinToVerifiedDigests(ctx, update);
  await reconcileWithHost(ctx);
  emitEvent(ctx.log, { type: "rollback-started", to: target.id, how: `config of update ${target.update}${pinned ? ", images by digest" : ""}`, reason });
  const up = await applyStackConfig(ctx, { message: `rollback to ${target.id}: ${reason}`.slice(0, 200), ...opts });
  if (ctx.cancellation.signal.aborted) {
    throw new CancelledError(`the rollback to ${target.id} was cancelled ${up.ok ? "after its update, before its watch" : "during its update"}`);
  }
  if (!up.ok) {
    // A failed start undoes itself on the host: the config follows what runs there again.
    await setReleaseData(engine.detached(), before);
    return { ok: false, up: up.summary, error: up.summary.error };
  }
  const off = await hostDrift(ctx, up.records, (record, seen) => differences(record, seen));
  if (off.length) return { ok: false, up: up.summary, error: `after the update the host does not run ${target.id}: ${describeDrift(ctx, off)}` };
  const monitor = await watch(ctx, target.id);
  if (ctx.cancellation.signal.aborted) {
    throw new CancelledError(`the rollback to ${target.id} was applied; its watch was cancelled after ${monitor.rounds.length} round(s)`);
  }
  if (monitor.verdict.state === "passed") await markVerified(ctx, { id: target.id, update: up.summary.update! });
  return { ok: monitor.verdict.state === "passed", up: up.summary, monitor };
}

/** If the host's verified record is this release, use its digests (tags may have moved since). */
async function pinToVerifiedDigests(ctx: RunContext, update: Parameters<typeof releaseOf>[0]): Promise<boolean> {
  const release = releaseOf(update);
  if (!release) return false;
  const verified = (await ctx.host!.status().catch(() => null))?.verified;
  if (!verified || verified.id !== release.id) {
    const byTag = Object.values(release.images).filter((ref) => !ref.includes("@sha256:"));
    if (byTag.length) ctx.log.warn(`${release.id} names images by tag (${byTag.join(", ")}); the host has no digest record of it`);
    return false;
  }
  await ctx.engine!.setConfig(releaseConfig({ ...release, images: { ...release.images, ...verified.images } }));
  return true;
}

/** The deploy's automatic rollback to the last verified release, after a failed watch. */
export const rollBackAutomatically = stage<WatchContext>("rollback", async (ctx) => {
  const { reason, target } = ctx.failure!;
  const from = ctx.release!.id;
  ctx.log.info(`== rollback to ${target!.id}`);
  ctx.summary.rollback = { from, to: target!.id, reason };
  // The safety net keeps the default deadline: a tight --up-timeout bounds the deploy, not its undo.
  const rb = await rollbackTo(ctx, target!, reason, { graceMs: ctx.upOptions.graceMs });
  ctx.summary.rollback = { ...ctx.summary.rollback, up: rb.up, monitor: rb.monitor };
  if (rb.ok) return stop("rolled-back", `${from} was rolled back to ${target!.id}, which passed its health check again.`);
  return stop("rollback-failed", `Rolling back to ${target!.id} did not bring a healthy release back: ${rb.error ?? "see the monitor"}.`);
});
