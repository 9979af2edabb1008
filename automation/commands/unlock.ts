// unlock = config -> clear the host deploy lock a dead run left (the lock names its holder).
import { describeLock } from "../../components/host-commands/index.js";
import type { RunSummary } from "../report/summary.js";
import { loadConfig, openStack } from "../stages/open.js";
import { newContext, runStages, stop, type RunContext, type RunOptions, stage } from "../stages/run.js";

const clearLock = stage("unlock", async (ctx) => {
  const was = await ctx.host!.lockInfo();
  if (!was) return stop("ok", "The host lock was free.");
  await ctx.host!.unlock("force");
  return stop("ok", `Released the lock held by ${describeLock(was)}.`);
});

export async function unlock(req: RunOptions): Promise<RunSummary> {
  const ctx = newContext<RunContext>("unlock", req, {});
  return runStages(ctx, [openStack, loadConfig, clearLock], req.onStage);
}
