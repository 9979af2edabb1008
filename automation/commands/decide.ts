// promote / abort = decision -> config -> leave the decision for the paused deploy (no lock: it
// holds it). promote: the deploy marks the release verified; abort: it rolls back to the last
// verified release.
import type { PauseDecision } from "../../components/config/schema.js";
import type { RunSummary } from "../report/summary.js";
import { checkDecision, handOverDecision, type DecideContext, type DecisionRequest } from "../stages/decide.js";
import { loadConfig, openStack } from "../stages/open.js";
import { newContext, runStages, type RunOptions } from "../stages/run.js";

export type DecideRequest = RunOptions & DecisionRequest;

function decide(action: PauseDecision, req: DecideRequest): Promise<RunSummary> {
  const ctx = newContext<DecideContext>(action, req, { decision: { action, release: req.release, reason: req.reason } });
  return runStages(ctx, [checkDecision, openStack, loadConfig, handOverDecision], req.onStage);
}

export const promote = (req: DecideRequest) => decide("promote", req);
export const abort = (req: DecideRequest) => decide("abort", req);
