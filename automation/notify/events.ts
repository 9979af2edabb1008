// What a run tells the notifiers: the events of its outcome (from the outcome table's names)
// and one payload every vendor format is rendered from.
import type { NotifyEvent } from "../../components/config/notify.js";
import type { Actor } from "../common/actor.js";
import { outcomes, pausedHeadline, type Outcome } from "../report/outcomes.js";
import { reasonOf, type CommandName, type RunSummary } from "../report/summary.js";

export type { NotifyEvent };

/** The commands that change what a host runs: only they notify. */
const notifyingCommands: readonly CommandName[] = ["deploy", "rollback", "restore"];

/**
 * The events a run's end sends, in order. A deploy that rolled back failed first, then rolled
 * back; usage errors, held locks, cancels and plain commands send nothing ("paused" is sent by
 * the pause stage when there is one).
 */
const endEvents: Readonly<Record<Outcome, readonly NotifyEvent[]>> = {
  running: [],
  "deployed-verified": ["verified"],
  // A paused release someone (or the timeout) promoted: it is verified now.
  promoted: ["verified"],
  "rollback-done": ["rolled-back"],
  restored: ["verified"],
  ok: [],
  error: ["failed"],
  "host-unreachable": ["failed"],
  usage: [],
  "invalid-config": [],
  blocked: ["blocked"],
  "rolled-back": ["failed", "rolled-back"],
  // The switch put the previous release back itself: nothing new runs, so no rollback marker.
  "up-failed": ["failed"],
  "failed-no-rollback": ["failed"],
  "rollback-failed": ["failed"],
  "restore-failed": ["failed"],
  "lock-held": [],
  cancelled: [],
};

export function eventsAtEnd(command: CommandName, outcome: Outcome): readonly NotifyEvent[] {
  return notifyingCommands.includes(command) ? endEvents[outcome] : [];
}

/** One event of one run, as every notifier receives it (the signed webhook's JSON body). */
export interface RunEvent {
  event: NotifyEvent;
  stack: string;
  command: CommandName;
  /** The release the run is about (for a rollback: the one it goes back to). */
  release: { id: string; gitSha?: string | undefined } | undefined;
  /** Set once the run ended. */
  outcome?: Outcome | undefined;
  exitCode?: number | undefined;
  headline: string;
  /** Set once the run ended, when it rolled back or restored: why (as its audit line says). */
  reason?: string | undefined;
  messages: string[];
  /** Who started the run (the CI actor or the local user). */
  actor: string;
  /** The CI run, when there is one. */
  runUrl?: string | undefined;
  timestamp: string;
}

const startedHeadline: Readonly<Record<string, string>> = {
  deploy: "deploy started",
  rollback: "rollback started",
  restore: "restore started",
};

/** Why it paused, until when, and the commands that decide. */
function pausedMessages(summary: RunSummary): string[] {
  const p = summary.pause;
  return p ? [p.reason, `until ${p.deadline}, then ${p.onTimeout}`, p.promote, p.abort] : [];
}

/** `actor`: who started the run, the same as its audit line and update messages say (with the CI run's address). */
export function runEvent(event: NotifyEvent, summary: RunSummary, now: Date, actor: Actor): RunEvent {
  // "started" and "paused" are sent mid-run: no outcome yet.
  const ended = event !== "started" && event !== "paused";
  const target = summary.rollback?.to ?? summary.restore?.release;
  // A rollback is about the release it brings back (a manual one names no release of its own).
  const release =
    target && (event === "rolled-back" || !summary.release) ? { id: target } : summary.release && { id: summary.release.id, gitSha: summary.release.gitSha };
  return {
    event,
    stack: summary.stack,
    command: summary.command,
    release,
    ...(ended ? { outcome: summary.outcome, exitCode: summary.exitCode } : {}),
    headline: ended ? outcomes[summary.outcome].headline : event === "paused" ? pausedHeadline : (startedHeadline[summary.command] ?? "started"),
    ...(ended && reasonOf(summary) ? { reason: reasonOf(summary) } : {}),
    messages: ended ? summary.messages.slice(0, 20) : event === "paused" ? pausedMessages(summary) : [],
    actor: actor.who,
    ...(actor.runUrl ? { runUrl: actor.runUrl } : {}),
    timestamp: now.toISOString(),
  };
}

/** One line for humans: "[production] v42: failed, rolled back to the last verified release". */
export function titleOf(e: RunEvent): string {
  return `[${e.stack}] ${e.release?.id ?? "?"}: ${e.event} (${e.headline})`;
}
