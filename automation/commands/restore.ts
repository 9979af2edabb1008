// restore (break glass) = config -> lock -> put back the host's newest *.backup files ->
// the stack config follows the host -> refresh.
import type { RunSummary } from "../report/summary.js";
import { takeLock } from "../stages/lock.js";
import { loadConfig, openStack } from "../stages/open.js";
import { releaseConfig, releaseIn } from "../stages/releases.js";
import { newContext, runStages, stop, type RunContext, type RunOptions, stage } from "../stages/run.js";

export interface RestoreRequest extends RunOptions {}

const restoreFromBackups = stage("restore", async (ctx) => {
  const out = await ctx.host!.restoreNewestBackups();
  for (const line of out.split("\n").filter(Boolean)) ctx.log.info(`  ${line}`);
  const status = await ctx.host!.status().catch(() => null);
  if (!status?.current) return;
  // The stack config follows the host, so the next `up` starts from what runs.
  const current = releaseIn(await ctx.engine!.getConfig(), "the stack config awareness:release");
  // The restored release is the host's record of it (its own gitSha), env as configured now.
  const { gitSha: _replaced, ...rest } = { env: {}, ...current };
  const restored = { ...rest, id: status.current.id, images: status.current.images, ...(status.current.gitSha ? { gitSha: status.current.gitSha } : {}) };
  await ctx.engine!.setConfig(releaseConfig(restored));
  ctx.summary.release = restored;
});

const refreshState = stage("refresh", async (ctx) => {
  await ctx.engine!.refresh({ message: "refresh after restore from backups" }).catch((err: unknown) => {
    ctx.summary.messages.push(`Refresh after the restore failed (the host is restored): ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
  });
  const id = ctx.summary.release?.id;
  return stop("restored", `Restored ${id ?? "the previous files"} from backups; the next deploy re-applies the stack.`);
});

export async function restore(req: RestoreRequest): Promise<RunSummary> {
  const ctx = newContext<RunContext>("restore", req, {});
  return runStages(ctx, [openStack, loadConfig, takeLock(() => ({ label: "restore" })), restoreFromBackups, refreshState], req.onStage);
}
