// unlock = config -> clear the host deploy lock a dead run left (the lock names its holder)
// -> optionally the engine's update lock (`pulumi cancel`) that a killed update left behind.
// `onlyRun` (the clean-up step of a cancelled GitHub job) touches nothing another run holds.
import { describeLock } from "../../components/host-commands/index.js";
import { firstLine } from "../common/errors.js";
import type { RunSummary } from "../report/summary.js";
import { loadConfig, openStack } from "../stages/open.js";
import { newContext, runStages, stop, type RunContext, type RunOptions, stage } from "../stages/run.js";

export interface UnlockRequest extends RunOptions {
  /** Only a lock taken by this GitHub run (its holder names `github-run <id>`); a lock of another run is left alone. */
  onlyRun?: string | undefined;
  /** Also cancel the engine's update lock, unless another run holds the host lock (then its update may be running). */
  engine?: boolean | undefined;
}

interface UnlockContext extends RunContext {
  readonly request: UnlockRequest;
}

/** Whether a lock holder (host/lock.ts lockHolder) names GitHub run `runId`. */
export function heldByRun(holder: string, runId: string): boolean {
  return /^\d+$/.test(runId) && holder.endsWith(` github-run ${runId}`);
}

const clearLock = stage<UnlockContext>("unlock", async (ctx) => {
  const { onlyRun, engine } = ctx.request;
  const was = await ctx.host!.lockInfo();
  const othersLock = was !== null && onlyRun !== undefined && !heldByRun(was.holder, onlyRun);
  const messages: string[] = [];
  if (!was) messages.push("The host lock was free.");
  else if (othersLock) messages.push(`The host lock is held by another run, left alone: ${describeLock(was)}.`);
  else {
    await ctx.host!.unlock("force");
    messages.push(`Released the lock held by ${describeLock(was)}.`);
  }
  if (engine) messages.push(othersLock ? "The engine's update lock was left alone: that run may be updating the stack." : await cancelEngine(ctx));
  return stop("ok", ...messages);
});

/** `pulumi cancel` (a file or S3 backend deletes its lock files; Pulumi Cloud refuses when no update is active, which is not a failure here). */
async function cancelEngine(ctx: UnlockContext): Promise<string> {
  try {
    await ctx.engine!.cancel();
    return "Cancelled the engine's update lock.";
  } catch (err) {
    if (/never been updated|already (completed|been cancelled)|no (active )?update/i.test(firstLine(err))) return "The engine had no update in progress.";
    throw err;
  }
}

export async function unlock(req: UnlockRequest): Promise<RunSummary> {
  const ctx = newContext<UnlockContext>("unlock", req, { request: req });
  return runStages(ctx, [openStack, loadConfig, clearLock], req.onStage);
}
