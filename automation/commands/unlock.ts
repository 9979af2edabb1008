// unlock = config -> clear the host deploy lock a dead run left (the lock names its holder).
import { lockHolder } from "../host/lock.js";
import type { RunSummary } from "../report/summary.js";
import { loadConfig, openStack } from "../stages/open.js";
import { newContext, runStages, stop, type RunContext, type RunOptions, stage } from "../stages/run.js";

const clearLock = stage("unlock", async (ctx) => {
  const was = await ctx.host!.lockInfo();
  if (!was) return stop("ok", "The host lock was free.");
  await ctx.host!.unlock(lockHolder(), true);
  return stop("ok", `Released the lock held by ${was.holder} (release ${was.release}, ${was.ageSeconds} s old).`);
});

export async function unlock(req: RunOptions): Promise<RunSummary> {
  const ctx = newContext<RunContext>("unlock", req, {});
  return runStages(ctx, [openStack, loadConfig, clearLock], req.onStage);
}
