// rollback = check the request -> config -> pick the target -> lock -> re-apply it and watch it.
import { releaseSchema } from "../../components/config/schema.js";
import { UsageError } from "../common/errors.js";
import { printable } from "../common/stack-name.js";
import type { RunSummary } from "../report/summary.js";
import { takeLock } from "../stages/lock.js";
import { announceRun } from "../stages/notify.js";
import { loadConfig, openStack } from "../stages/open.js";
import { releaseIn, verifiedReleases, type VerifiedRef } from "../stages/releases.js";
import { rollbackTo } from "../stages/rollback.js";
import { newContext, runStages, stop, type RunContext, type RunOptions, stage } from "../stages/run.js";

export const confirmWord = "ROLLBACK";

export interface RollbackRequest extends RunOptions {
  reason: string;
  confirm: string;
  /** A verified release id; default: the newest verified release that is not live. */
  to?: string | undefined;
  deadlineMs?: number | undefined;
  /** Queue behind the run that holds the host lock (a deploy) instead of failing. */
  waitLock?: boolean | undefined;
  waitLockTimeoutMs?: number | undefined;
}

interface RollbackContext extends RunContext {
  readonly request: RollbackRequest;
  target?: VerifiedRef;
  liveId?: string | undefined;
}

const maxReason = 1000;

/**
 * Refused before anything runs unless `confirm` is exactly ROLLBACK, the reason is one line of
 * text (no control characters, at most 1000 characters) and `to`, if given, is a release id.
 */
export function checkRollbackRequest(req: Pick<RollbackRequest, "reason" | "confirm" | "to">): void {
  if (req.confirm !== confirmWord) {
    throw new UsageError(`Rollback refused: --confirm must be exactly ${confirmWord} (got ${printable(req.confirm ?? "")}).`);
  }
  if (!req.reason || !req.reason.trim()) throw new UsageError("Rollback refused: --reason TEXT is required.");
  if (/[\n\r\0]/.test(req.reason)) throw new UsageError("Rollback refused: --reason must be one line.");
  if (/[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]|\p{Cs}/u.test(req.reason) || req.reason.length > maxReason) {
    throw new UsageError(`Rollback refused: --reason must be text without control characters, at most ${maxReason} characters.`);
  }
  if (req.to !== undefined && !releaseSchema.shape.id.safeParse(req.to).success) {
    throw new UsageError(`Rollback refused: --to ${printable(req.to)} is not a release id (letters, digits, . _ -, at most 64).`);
  }
}

function describeCandidates(verified: VerifiedRef[]): string {
  return verified.length
    ? `Verified releases (newest first): ${verified.map((v) => `${v.id} (update ${v.update})`).join(", ")}`
    : "No release has been verified on this stack yet.";
}

const checkRequest = stage<RollbackContext>("request", async (ctx) => {
  checkRollbackRequest(ctx.request);
});

const pickTarget = stage<RollbackContext>("target", async (ctx) => {
  const verified = await verifiedReleases(ctx.engine!);
  const hostStatus = await ctx.host!.status().catch(() => null);
  ctx.liveId = hostStatus?.current?.id ?? releaseIn(await ctx.engine!.getConfig(), "the stack config awareness:release")?.id;
  const to = ctx.request.to;
  const target = to ? verified.find((v) => v.id === to) : verified.find((v) => v.id !== ctx.liveId);
  if (!target) {
    throw new UsageError(
      (to ? `Unknown rollback target "${to}". ` : `No verified release other than the live one (${ctx.liveId ?? "none"}). `) +
        describeCandidates(verified),
    );
  }
  ctx.target = target;
  ctx.summary.rollback = { from: ctx.liveId ?? "unknown", to: target.id, reason: ctx.request.reason };
});

const reapply = stage<RollbackContext>("rollback", async (ctx) => {
  const { target, liveId, request } = ctx;
  ctx.log.info(`  ${liveId ?? "?"} -> ${target!.id}: ${request.reason}`);
  const rb = await rollbackTo(ctx, target!, `manual: ${request.reason}`, { deadlineMs: request.deadlineMs });
  ctx.summary.release = releaseIn(await ctx.engine!.getConfig(), "the stack config awareness:release");
  ctx.summary.rollback = { ...ctx.summary.rollback!, up: rb.up, monitor: rb.monitor };
  if (rb.ok) return stop("rollback-done", `Rolled back to ${target!.id}; it passed its health check.`);
  return stop("rollback-failed", `Rollback to ${target!.id} failed: ${rb.error ?? "health check failed"}`);
});

export async function rollback(req: RollbackRequest): Promise<RunSummary> {
  const ctx = newContext<RollbackContext>("rollback", req, { request: req });
  return runStages(
    ctx,
    // The target again under the lock: a run that held it before may have verified or replaced a release.
    [checkRequest, openStack, loadConfig, pickTarget, takeLock((c) => ({ label: `rollback-${c.target!.id}`, wait: req.waitLock, waitTimeoutMs: req.waitLockTimeoutMs })), pickTarget, announceRun(), reapply],
    req.onStage,
  );
}
