// preview = config -> lock -> preview: the plan for a release, checked against the replace
// policy; the stack config is put back and the host is not touched. The lock keeps a preview
// from changing the release config under a deploy that is between its preview and its up.
import type { RunSummary } from "../report/summary.js";
import { takeLock } from "../stages/lock.js";
import { newReleaseConfig, openStack, releaseConfigUnderLock, type ReleaseRequest } from "../stages/open.js";
import { previewRelease, type ApplyContext } from "../stages/preview.js";
import { newContext, runStages, type RunOptions } from "../stages/run.js";

export interface PreviewRequest extends RunOptions, ReleaseRequest {}

export async function preview(req: PreviewRequest): Promise<RunSummary> {
  const ctx = newContext<ApplyContext>("preview", req, { request: req });
  const lock = takeLock<ApplyContext>(() => ({ label: `preview-${req.releaseId}` }));
  return runStages(ctx, [openStack, newReleaseConfig, lock, releaseConfigUnderLock, previewRelease], req.onStage);
}
