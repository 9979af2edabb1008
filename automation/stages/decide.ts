// promote / abort: hand a decision to the deploy that holds a release paused. The decision goes
// through the host (the deploy runs elsewhere, and holds the deploy lock, so this does not
// take it): an atomic decision file in the app dir, refused unless the release is paused there.
import type { PauseDecision } from "../../components/config/schema.js";
import { UsageError } from "../common/errors.js";
import { realClock } from "../monitor/monitor.js";
import { utcSeconds } from "./pause.js";
import { stage, stop, type RunContext } from "./run.js";

export interface DecisionRequest {
  /** The paused release it is about (default: whichever is paused); another one is refused. */
  release?: string | undefined;
  reason: string;
}

export interface DecideContext extends RunContext {
  readonly decision: DecisionRequest & { action: PauseDecision };
}

const maxReason = 500;

/** The request, before anything is opened: a reason of one line. */
export const checkDecision = stage<DecideContext>("decision", async (ctx) => {
  const { reason, release } = ctx.decision;
  if (!reason.trim() || reason.length > maxReason || /[\u0000-\u001f\u007f\u2028\u2029]/.test(reason)) {
    throw new UsageError(`--reason: say why in one line of at most ${maxReason} characters`);
  }
  if (release !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(release)) throw new UsageError(`--release: "${release}" is not a release id`);
});

/** Leaves the decision on the primary host for the paused deploy (it polls every few seconds). */
export const handOverDecision = stage<DecideContext>("decide", async (ctx) => {
  const { action, release, reason } = ctx.decision;
  const paused = (await ctx.host!.status())?.paused;
  const nothing = "Nothing was changed.";
  if (!paused) throw new UsageError(`Nothing is paused on stack ${ctx.stackName}: ${action} decides a deploy paused after a failed verdict (monitor.onFailure "pause"). ${nothing}`);
  if (release !== undefined && release !== paused.id) {
    throw new UsageError(`--release ${release} is not the paused release: ${paused.id} is paused (until ${paused.deadline}). ${nothing}`);
  }
  const decidedAt = utcSeconds((ctx.deps.clock ?? realClock).now());
  const { id, ...rest } = paused;
  ctx.summary.pause = { release: id, ...rest, decision: { action, by: ctx.actor.who, reason, at: decidedAt, byTimeout: false } };
  const handed = await ctx.host!.decidePause({ decision: action, release: id, by: ctx.actor.who, reason, decidedAt });
  if (!handed) throw new UsageError(`${id} is no longer paused (its deploy ended the pause meanwhile). ${nothing}`);
  return stop("ok", `The ${action} of ${id} is handed to its paused deploy, which reads it within seconds; that deploy's report and exit code say how it ends.`);
});
