// restore (break glass) = check the request -> config -> lock -> pick the backup set (the last
// verified release by default, a failed one only with --force) -> restore it on the host and
// make the stack config name it -> refresh (a failure fails the run) -> watch it like a rollback.
import type { RunSummary } from "../report/summary.js";
import { takeLock } from "../stages/lock.js";
import { announceRun } from "../stages/notify.js";
import { loadConfig, openStack } from "../stages/open.js";
import {
  checkRestoreRequest,
  pickBackupSet,
  refreshAfterRestore,
  restoreBackupSet,
  watchRestored,
  type RestoreContext,
  type RestoreFields,
} from "../stages/restore.js";
import { newContext, runStages, type RunOptions } from "../stages/run.js";

export { restoreConfirmWord } from "../stages/restore.js";

export interface RestoreRequest extends RunOptions, RestoreFields {}

export async function restore(req: RestoreRequest): Promise<RunSummary> {
  const { confirm, release, force, volumes } = req;
  const ctx = newContext<RestoreContext>("restore", req, { request: { confirm, release, force, volumes } });
  return runStages(
    ctx,
    [checkRestoreRequest, openStack, loadConfig, takeLock(() => ({ label: "restore" })), announceRun(), pickBackupSet, restoreBackupSet, refreshAfterRestore, watchRestored],
    req.onStage,
  );
}
