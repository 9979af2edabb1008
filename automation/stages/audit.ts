// The audit trail of a run: who, what, why, when and the outcome, appended as one line to the
// primary host's audit.log on the run's way out. A failed append is said, never fatal.
import type { AuditEntry } from "../../components/host-commands/index.js";
import { errorDetail } from "../common/errors.js";
import { redactText } from "../report/redact.js";
import { reasonOf, type CommandName } from "../report/summary.js";
import type { RunContext } from "./run.js";

/** `status` only reads: a trail of every look would bury the changes. */
const unaudited: ReadonlySet<CommandName> = new Set(["status"]);

/** The run's entry, masked and capped to what the host's schema takes. */
export function auditEntryOf(ctx: RunContext, finishedAt: Date): AuditEntry {
  const { summary, actor } = ctx;
  const mask = (text: string, max: number) => redactText(text, ctx.secrets).replace(/\s*[\r\n]+\s*/g, " ").slice(0, max);
  const release = summary.release?.id ?? summary.pause?.release ?? summary.rollback?.to ?? summary.restore?.release;
  const reason = reasonOf(summary);
  return {
    schema: 1,
    who: mask(actor.who, 200),
    ...(actor.runUrl ? { runUrl: actor.runUrl } : {}),
    command: summary.command,
    stack: summary.stack,
    ...(release ? { release: mask(release, 200) } : {}),
    ...(reason ? { reason: mask(reason, 1000) } : {}),
    outcome: summary.outcome,
    exitCode: summary.exitCode,
    startedAt: summary.startedAt,
    finishedAt: finishedAt.toISOString(),
  };
}

/** Appends the run's entry when it reached the host; a failure becomes a message and a warning. */
export async function appendAudit(ctx: RunContext): Promise<void> {
  if (!ctx.host || unaudited.has(ctx.command)) return;
  try {
    await ctx.host.appendAudit(auditEntryOf(ctx, new Date()));
  } catch (err) {
    const message = `The audit log on the host could not be appended (the run's outcome stands): ${errorDetail(err).replace(/\s*\n\s*/g, " ")}`;
    ctx.summary.messages.push(message);
    ctx.log.warn(message);
  }
}
