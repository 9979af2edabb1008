// A run of one command: its context, and the one loop that carries it through the command's
// stages. A stage either lets the run go on or ends it with an outcome; whatever happens
// (an outcome, an error, a cancel), the work registered with `onEnd` (lock releases, config
// restores, closing connections) runs on the way out, newest first, and the outcome and exit
// code come from the outcome table.
import { ConcurrentUpdateError } from "@pulumi/pulumi/automation/index.js";
import { ConfigError } from "../../components/config/parse.js";
import type { StackConfig } from "../../components/config/schema.js";
import { runActor, type Actor } from "../common/actor.js";
import { Cancellation } from "../common/cancel.js";
import { CancelledError, errorDetail, firstLine, UsageError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { inStage, runEventsFor, type RunEvents } from "../events/emitter.js";
import type { HostDoor } from "../host/operations.js";
import { HostUnreachableError } from "../host/ssh.js";
import { redact, secretsFromEnv } from "../report/redact.js";
import { conclude, newSummary, type CommandName, type Outcome, type RunSummary } from "../report/summary.js";
import type { EngineDoor, OpenMode } from "../runner.js";
import { appendAudit } from "./audit.js";
import type { RunDeps } from "./deps.js";
import { stackHosts, type StackHost } from "./hosts.js";

export interface RunContext {
  readonly command: CommandName;
  readonly stackName: string;
  readonly summary: RunSummary;
  /** The run's progress lines: the same stream as `events` (masked, sent to every sink). */
  readonly log: Logger;
  /** The run's event stream (stages, the watch, notices): plain lines, the display, --events ndjson. */
  readonly events: RunEvents;
  readonly cancellation: Cancellation;
  readonly deps: RunDeps;
  /** How the stack is opened: select (must exist), deploy (created from its stack file), create. */
  readonly openMode: OpenMode;
  /** Every secret value this run has seen (stack config secrets, tokens): masked in its logs and summary. */
  readonly secrets: string[];
  /** Who started the run (the audit trail, the update messages). */
  readonly actor: Actor;
  engine?: EngineDoor;
  config?: StackConfig;
  /** The primary host (the lock, the probes); `hosts` holds every host of the stack. */
  host?: HostDoor;
  hosts?: StackHost[];
  /** Set once the run announced itself to its notifiers: tells them how it ended (stages/notify.ts). */
  notifier?: { ended(summary: RunSummary): Promise<void>; now(event: "paused"): void };
  /** Work for the way out; `urgent` work also runs on a second signal (lock releases). */
  onEnd(work: () => Promise<void> | void, opts?: { urgent?: boolean }): void;
}

/** Ends the run with an outcome (its exit code from the outcome table). */
export interface Stop {
  outcome: Outcome;
  messages: string[];
}

export const stop = (outcome: Outcome, ...messages: string[]): Stop => ({ outcome, messages });

export interface Stage<C extends RunContext = RunContext> {
  name: string;
  run(ctx: C): Promise<Stop | void>;
}

/** A stage: its name (in progress lines and the report's lastStage) and what it does. */
export function stage<C extends RunContext = RunContext>(name: string, run: (ctx: C) => Promise<Stop | void>): Stage<C> {
  return { name, run };
}

export interface RunOptions {
  stackName: string;
  log?: Logger | undefined;
  /** The run's event stream (the CLI's outputs); without it, events reach `log` as plain lines. */
  events?: RunEvents | undefined;
  cancellation?: Cancellation | undefined;
  deps: RunDeps;
  openMode?: OpenMode;
  /** Called with the run's summary as it starts (the CLI writes it on an urgent exit). */
  onStart?: ((summary: RunSummary) => void) | undefined;
  /** Lets tests watch each stage (e.g. signal the process mid-monitor); awaited before the stage runs. */
  onStage?: ((stage: string) => unknown) | undefined;
}

/** What a run keeps for its way out. */
export interface Ending {
  readonly ending: EndWork[];
}

/** A new run of `command`; `extra` holds the command's own fields (its request, options). */
export function newContext<C extends RunContext>(
  command: CommandName,
  opts: RunOptions,
  extra: Omit<C, keyof RunContext>,
): C & Ending {
  const ending: EndWork[] = [];
  const cancellation = opts.cancellation ?? new Cancellation();
  const secrets = secretsFromEnv();
  const events = runEventsFor(opts);
  events.maskWith(secrets);
  const base: RunContext & Ending = {
    command,
    stackName: opts.stackName,
    summary: newSummary(command, opts.stackName),
    secrets,
    actor: runActor(),
    log: events,
    events,
    cancellation,
    deps: opts.deps,
    openMode: opts.openMode ?? "select",
    ending,
    onEnd(work, o = {}) {
      ending.push({ work, deregister: o.urgent ? cancellation.onUrgent(work) : undefined });
    },
  };
  opts.onStart?.(base.summary);
  const release = "releaseId" in opts && typeof opts.releaseId === "string" ? opts.releaseId : undefined;
  events.emit({ type: "run-started", command, stack: opts.stackName, release, actor: base.actor.who });
  return Object.assign(base, extra) as C & Ending;
}

interface EndWork {
  work: () => Promise<void> | void;
  deregister: (() => void) | undefined;
}

/** Carries the run through `stages` in order until one ends it; returns the summary. */
export async function runStages<C extends RunContext>(
  ctx: C & Ending,
  stages: Stage<C>[],
  onStage?: (stage: string) => unknown,
): Promise<RunSummary> {
  const { summary, log, cancellation } = ctx;
  try {
    for (const stage of stages) {
      if (cancellation.signal.aborted) throw new CancelledError(`cancelled before ${stage.name}`);
      summary.lastStage = stage.name;
      await onStage?.(stage.name);
      const ended = await timedStage(summary, stage.name, () => inStage(ctx.events, stage.name, () => stage.run(ctx)));
      if (ended) {
        conclude(summary, ended.outcome, ...ended.messages);
        break;
      }
    }
    if (summary.outcome === "running") conclude(summary, "ok");
  } catch (err) {
    const outcome = outcomeOfError(err, cancellation.signal, summary.lastStage);
    conclude(summary, outcome, messageOf(err, outcome, summary.lastStage, cancellation.reason));
    if (outcome === "cancelled") {
      const hosts = stackHosts(ctx);
      for (const h of hosts) summary.messages.push(await whatRuns(h.door, hosts.length > 1 ? `host ${h.name}` : "The host"));
    }
  } finally {
    // Before the way out closes the host: who ran what, why, and how it ended.
    await appendAudit(ctx);
    for (const { work, deregister } of ctx.ending.reverse()) {
      deregister?.();
      try {
        await work();
      } catch (err) {
        summary.messages.push(`While finishing: ${firstLine(err)}`);
        log.warn(`while finishing: ${firstLine(err)}`);
      }
    }
    summary.finishedAt = new Date().toISOString();
    await ctx.notifier?.ended(summary).catch((err) => summary.messages.push(`Notifications: ${firstLine(err)}`));
    // Whatever leaked into a message (a host's error, an engine diagnostic) leaves masked.
    Object.assign(summary, redact(summary, ctx.secrets));
  }
  return summary;
}

/** Runs a stage and records its duration and how it ended in the summary's breakdown. */
async function timedStage<T>(summary: RunSummary, stage: string, run: () => Promise<T>): Promise<T> {
  const began = performance.now();
  let result: "done" | "ended" | "failed" = "failed";
  try {
    const ended = await run();
    result = ended ? "ended" : "done";
    return ended;
  } finally {
    (summary.stages ??= []).push({ stage, ms: Math.round(performance.now() - began), result });
  }
}

/** Stages that may have changed the host: once it stops answering there, what it runs is not known. */
const changingStages = new Set(["up", "monitor", "verdict", "rollback", "restore", "refresh", "watch"]);

/** The one mapping from an error to an outcome. */
function outcomeOfError(err: unknown, signal?: AbortSignal, stage?: string): Outcome {
  if (err instanceof CancelledError || signal?.aborted) return "cancelled";
  if (err instanceof ConfigError) return "invalid-config";
  if (err instanceof UsageError) return "usage";
  if (err instanceof ConcurrentUpdateError) return "lock-held";
  if (err instanceof HostUnreachableError && changingStages.has(stage ?? "")) return "host-unreachable";
  return "error";
}

function messageOf(err: unknown, outcome: Outcome, stage: string | undefined, reason: string | undefined): string {
  if (outcome === "cancelled") return `Cancelled (${reason ?? "signal"}) during ${stage ?? "the start"}: ${firstLine(err)}.`;
  if (outcome === "lock-held") return "Another update of this stack is running (the engine's update lock). Nothing was changed.";
  if (err instanceof ConfigError) return err.message;
  if (outcome === "host-unreachable") {
    // Nothing was seen after the host went away: claim nothing about what it runs.
    return (
      `The host stopped answering during ${stage ?? "the run"}: ${firstLine(err)}. What it runs now was not checked ` +
      "(the previous release, the new one, or a mix). Once it answers, the next deploy or rollback reads it and reconciles."
    );
  }
  return errorDetail(err);
}

/** After a cancel, what the host really runs: its record and its containers. */
async function whatRuns(host: HostDoor, who: string): Promise<string> {
  const bounded = <T>(p: Promise<T>) =>
    Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000).unref())]).catch(() => undefined);
  const [status, running] = await Promise.all([bounded(host.status()), bounded(host.running())]);
  const record = status ? `release ${status.current?.id ?? "none"} (last verified: ${status.verified?.id ?? "none"})` : "no readable deployment.json";
  const containers = running
    ? running.length
      ? running.map((c) => `${c.service} ${c.image} ${c.state}`).join(", ")
      : "no app containers"
    : "containers unknown (the host did not answer)";
  return `${who} runs now: ${record}; ${containers}.`;
}
