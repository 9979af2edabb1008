// precheck = config -> prechecks (with "no deployment in progress"): a deploy's checks alone;
// nothing changes and no lock is taken.
import type { RunSummary } from "../report/summary.js";
import { newReleaseConfig, openStack, type ReleaseContext, type ReleaseRequest } from "../stages/open.js";
import { runPrecheckStage, type PrecheckFlags } from "../stages/prechecks.js";
import { newContext, runStages, type RunOptions } from "../stages/run.js";

export interface PrecheckRequest extends RunOptions, ReleaseRequest, PrecheckFlags {}

type PrecheckContext = ReleaseContext & { readonly flags: PrecheckFlags };

export async function precheck(req: PrecheckRequest): Promise<RunSummary> {
  const ctx = newContext<PrecheckContext>("precheck", req, { request: req, flags: req });
  return runStages(ctx, [openStack, newReleaseConfig, runPrecheckStage({ lockFree: true })], req.onStage);
}
