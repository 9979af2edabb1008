// deploy = config -> lock -> config again (under the lock) -> prechecks -> reconcile -> preview -> up -> monitor -> verdict ->
// rollback. Reconcile makes the switch really run when the host drifted from the state; a
// failed verdict rolls back by itself to the last verified release, which is watched again
// (or, with monitor.onFailure "pause", waits live for promote or abort first).
import { upRelease } from "../stages/apply.js";
import { takeLock } from "../stages/lock.js";
import { announceRun } from "../stages/notify.js";
import { newReleaseConfig, openStack, releaseConfigUnderLock, type ReleaseRequest } from "../stages/open.js";
import { runPrecheckStage, type PrecheckFlags } from "../stages/prechecks.js";
import { previewRelease } from "../stages/preview.js";
import { reconcileHost } from "../stages/reconcile.js";
import { rollBackAutomatically } from "../stages/rollback.js";
import { newContext, runStages, type RunOptions, type Stage } from "../stages/run.js";
import { judgeRelease, monitorRelease } from "../stages/watch.js";
import { withPauseRequest, type PauseContext, type PauseRequest } from "../stages/pause.js";
import type { RunSummary } from "../report/summary.js";
import type { NotifyOptions } from "../stages/notify.js";
import { rollOutInBatches } from "../stages/rollout.js";

export interface DeployRequest extends RunOptions, ReleaseRequest, PrecheckFlags, PauseRequest {
  /** Queue behind a deploy in progress instead of failing. */
  waitLock?: boolean | undefined;
  waitLockTimeoutMs?: number | undefined;
  /** The host lock's lease: a lock whose heartbeat stopped this long ago is stale and broken (default 180 s). */
  lockLeaseSeconds?: number | undefined;
  /** @deprecated The same as lockLeaseSeconds (the lock went from a fixed age to a lease). */
  staleLockSeconds?: number | undefined;
  /** Our own bound on each `up` (default 15 min). */
  upDeadlineMs?: number | undefined;
  /** After the deadline, how long the engine may take to cancel before it is killed (default 60 s). */
  upGraceMs?: number | undefined;
  /** How notifications are sent (tests shorten the retries' pauses). */
  notify?: NotifyOptions | undefined;
}

type DeployContext = PauseContext & { readonly flags: PrecheckFlags };

export async function deploy(req: DeployRequest): Promise<RunSummary> {
  const ctx = newContext<DeployContext>("deploy", { ...req, openMode: "deploy" }, {
    request: req,
    flags: req,
    pauseRequest: req,
    upOptions: { deadlineMs: req.upDeadlineMs, graceMs: req.upGraceMs },
  });
  const stages: Stage<DeployContext>[] = [
    openStack,
    withPauseRequest(newReleaseConfig, req),
    takeLock(() => ({ label: req.releaseId, wait: req.waitLock, waitTimeoutMs: req.waitLockTimeoutMs, leaseSeconds: req.lockLeaseSeconds ?? req.staleLockSeconds })),
    withPauseRequest(releaseConfigUnderLock, req),
    announceRun(req.notify),
    runPrecheckStage({ lockFree: false }),
    reconcileHost,
    previewRelease,
    rollOutInBatches,
    upRelease,
    monitorRelease,
    judgeRelease,
    rollBackAutomatically,
  ];
  return runStages(ctx, stages, req.onStage);
}
