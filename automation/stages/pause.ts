// "On failure: pause": a release that failed its verdict stays live, marked paused in the host's
// deployment.json, while the deploy (still holding its host lock) waits for promote or abort,
// bounded by the pause timeout on the run's clock and stopped by its cancel signal. The
// decision travels through the host: promote/abort (stages/decide.ts) leave a decision file
// in the app dir, this stage polls for it.
import { pauseTimeoutMaxMinutes, type PauseDecision } from "../../components/config/schema.js";
import type { PauseDecisionFile } from "../../components/host-commands/index.js";
import { InvalidDataError } from "../../components/config/parse.js";
import { CancelledError, firstLine, UsageError } from "../common/errors.js";
import { realClock, type Clock } from "../monitor/monitor.js";
import { failureIssueFor } from "../report/markdown.js";
import { redactText } from "../report/redact.js";
import type { PauseSummary } from "../report/summary.js";
import type { DeployUpContext } from "./apply.js";
import { recordUnverified } from "./releases.js";
import { stage, type RunContext, type Stage } from "./run.js";

/** What a deploy may ask of the pause beyond the stack config (the CLI's --on-failure, --pause-timeout). */
export interface PauseRequest {
  onFailure?: "rollback" | "pause" | undefined;
  /** Overrides monitor.pauseTimeoutMinutes, in seconds. */
  pauseTimeoutSeconds?: number | undefined;
  /** How often the paused deploy looks for a decision (default 3 s). */
  pausePollMs?: number | undefined;
}

const defaultPollMs = 3_000;

/** Refuses a bad override before anything is sent anywhere. */
export function checkPauseRequest(req: PauseRequest): void {
  if (req.onFailure !== undefined && req.onFailure !== "rollback" && req.onFailure !== "pause") {
    throw new UsageError(`--on-failure: expected rollback or pause, got "${String(req.onFailure)}"`);
  }
  const s = req.pauseTimeoutSeconds;
  if (s !== undefined && !(Number.isFinite(s) && s >= 1 && s <= pauseTimeoutMaxMinutes * 60)) {
    throw new UsageError(`--pause-timeout: expected seconds from 1 to ${pauseTimeoutMaxMinutes * 60}, got ${String(s)}`);
  }
}

/** `configStage`, then the request's pause overrides on the config it validated (the prechecks and the report show them). */
export function withPauseRequest<C extends RunContext>(configStage: Stage<C>, req: PauseRequest): Stage<C> {
  return stage<C>(configStage.name, async (ctx) => {
    checkPauseRequest(req);
    const ended = await configStage.run(ctx);
    const monitor = ctx.config?.monitor;
    if (ended || !monitor) return ended;
    if (req.onFailure) monitor.onFailure = req.onFailure;
    if (req.pauseTimeoutSeconds !== undefined) monitor.pauseTimeoutMinutes = req.pauseTimeoutSeconds / 60;
  });
}

/** "on failure: roll back" or "on failure: pause up to 30 min, then abort". */
export function onFailureText(monitor: { onFailure: string; pauseTimeoutMinutes: number; onPauseTimeout: string }): string {
  if (monitor.onFailure !== "pause") return "on failure: roll back";
  const seconds = Math.round(monitor.pauseTimeoutMinutes * 60);
  const span = seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
  return `on failure: pause up to ${span}, then ${monitor.onPauseTimeout}`;
}

/** Host and report times: UTC to the second, as the host's own records are. */
export const utcSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** The exact commands that decide a pause (shown on the host, in the report, the issue and `status`). */
export function decisionCommands(stackName: string, releaseId: string): { promote: string; abort: string } {
  const command = (action: PauseDecision) => `npm run driver -- ${action} --stack ${stackName} --release ${releaseId} --reason "<why>"`;
  return { promote: command("promote"), abort: command("abort") };
}

export interface DecidedPause {
  action: PauseDecision;
  /** "promoted by alice@laptop: looks fine" or "the pause timeout decided abort …". */
  note: string;
}

export type PauseContext = DeployUpContext & { readonly pauseRequest?: PauseRequest | undefined };

/** Pauses the failed release and waits for its decision (or the timeout's). */
export async function pauseForDecision(ctx: PauseContext, verdict: string): Promise<DecidedPause> {
  const id = ctx.release!.id;
  const { pauseTimeoutMinutes, onPauseTimeout } = ctx.config!.monitor;
  const clock = ctx.deps.clock ?? realClock;
  const pausedAt = clock.now();
  const deadline = pausedAt + Math.round(pauseTimeoutMinutes * 60_000);
  // deployment.json is readable by every user of the host: the reason goes there masked, on one line.
  const reason = redactText(verdict, ctx.secrets).replace(/\s*[\r\n]+\s*/g, " | ").slice(0, 300);
  const pause: PauseSummary = {
    release: id,
    reason,
    pausedAt: utcSeconds(pausedAt),
    deadline: utcSeconds(deadline),
    onTimeout: onPauseTimeout,
    ...decisionCommands(ctx.stackName, id),
  };
  const { release: _, ...rest } = pause;
  await ctx.host!.markPaused({ id, ...rest });
  ctx.summary.pause = pause;
  ctx.log.warn(
    `${id} failed its health check and is PAUSED, live, until ${pause.deadline} (then the timeout decides ${onPauseTimeout}). ` +
      `Decide with: ${pause.promote}  or  ${pause.abort}`,
  );
  ctx.notifier?.now("paused");
  await fileIssue(ctx);
  const decision = await awaitDecision(ctx, id, deadline, clock);
  const action = decision?.decision ?? onPauseTimeout;
  pause.decision = decision
    ? { action, by: decision.by, reason: decision.reason, at: decision.decidedAt, byTimeout: false }
    : { action, by: "the pause timeout", reason: `nobody decided by ${pause.deadline}`, at: utcSeconds(clock.now()), byTimeout: true };
  const note = decision
    ? `${action === "promote" ? "promoted" : "aborted"} by ${decision.by}: ${decision.reason}`
    : `the pause timeout decided ${action} (nobody decided by ${pause.deadline})`;
  ctx.log.info(`  pause of ${id}: ${note}`);
  return { action, note };
}

/** The failure issue at once: whoever decides reads it while the release waits. */
async function fileIssue(ctx: PauseContext): Promise<void> {
  const issue = ctx.deps.openIssue && failureIssueFor(ctx.summary, { secrets: ctx.secrets });
  if (!issue) return;
  try {
    const opened = await ctx.deps.openIssue!(issue);
    ctx.summary.messages.push(`Failure issue (at the pause): ${opened.url}`);
  } catch (err) {
    // The pause stands; a forge outage must not change what the deploy does.
    ctx.log.warn(`could not open the failure issue at the pause: ${firstLine(err)}`);
  }
}

/** Polls the host for a decision about `id` until the deadline; a cancel ends the pause unverified. */
async function awaitDecision(ctx: PauseContext, id: string, deadline: number, clock: Clock): Promise<PauseDecisionFile | undefined> {
  const { signal } = ctx.cancellation;
  const pollMs = ctx.pauseRequest?.pausePollMs ?? defaultPollMs;
  while (!signal.aborted) {
    const decision = await ctx.host!.takePauseDecision().catch((err: unknown) => {
      if (!(err instanceof InvalidDataError)) throw err;
      ctx.log.warn(`dropped an unreadable pause decision: ${firstLine(err)}`);
      return undefined;
    });
    if (decision?.release === id) return decision;
    if (decision) ctx.log.warn(`dropped a ${decision.decision} of release ${decision.release}: ${id} is the paused one`);
    const left = deadline - clock.now();
    if (left <= 0) return undefined;
    await clock.sleep(Math.min(pollMs, left), signal);
  }
  await ctx.host!.clearPause(id).catch((err: unknown) => ctx.log.warn(`could not end the pause mark of ${id}: ${firstLine(err)}`));
  await recordUnverified(ctx.engine!.detached(), id, ctx.up?.summary.update);
  throw new CancelledError(`the pause of ${id} was cancelled before a decision; ${id} stays live, recorded as unverified`);
}
