// The run's notifications: one stage announces the run ("started") once it holds the lock,
// and leaves a hook the run loop calls at the very end with the outcome's events (from the
// outcome table's names: notify/events.ts). Notifiers never change the outcome or exit code.
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { notifierSecretFields, type NotifierConfig } from "../../components/config/notify.js";
import { ConfigError } from "../../components/config/parse.js";
import { eventsAtEnd, runEvent, type NotifyEvent } from "../notify/events.js";
import { describeFailure, sendEvents, type SendOptions, type SendResult } from "../notify/notifiers.js";
import type { RunSummary } from "../report/summary.js";
import { stage, type RunContext } from "./run.js";

/** The notifiers' secret fields must be Pulumi secrets (encrypted in the stack file, masked in the run). */
export function requireSecretNotifierFields(notifiers: readonly NotifierConfig[], config: ConfigMap): void {
  if (config["awareness:notify"]?.secret) return;
  const problems = notifiers.flatMap((n, i) =>
    notifierSecretFields[n.kind].map((field) => ({
      key: `awareness:notify[${i}].${field}`,
      message: `must be a Pulumi secret: pulumi config set --secret --path 'awareness:notify[${i}].${field}' …`,
    })),
  );
  if (problems.length) throw new ConfigError(problems);
}

export type NotifyOptions = Partial<Omit<SendOptions, "secrets">>;

/** Announces the run and registers what its end sends (`options`: tests shorten the retries' pauses). */
export function announceRun(options: NotifyOptions = {}) {
  return stage("notify", async (ctx: RunContext) => {
    const notifiers = ctx.config?.notify ?? [];
    if (notifiers.length === 0) return;
    requireSecretNotifierFields(notifiers, await ctx.engine!.getConfig());
    const send = (summary: RunSummary, events: readonly NotifyEvent[]) =>
      sendEvents(notifiers, events.map((e) => runEvent(e, summary, new Date(), ctx.actor)), { ...options, secrets: ctx.secrets });
    // Not awaited: a slow notifier must not hold the deploy; the end waits for it.
    const sent = [send(ctx.summary, ["started"])];
    ctx.log.info(`  telling ${notifiers.length} notifier(s) the run started`);
    ctx.notifier = {
      // Mid-run events (a pause) go at once, with the run as it is then.
      now: (event) => void sent.push(send(structuredClone(ctx.summary), [event])),
      async ended(summary) {
        const results = [...(await Promise.all(sent)), await send(summary, eventsAtEnd(summary.command, summary.outcome))];
        report(ctx, summary, results);
      },
    };
  });
}

function report(ctx: RunContext, summary: RunSummary, results: SendResult[]): void {
  const failures = results.flatMap((r) => r.failures);
  summary.notifications = { delivered: results.reduce((n, r) => n + r.delivered, 0), failures };
  for (const f of failures) {
    summary.messages.push(describeFailure(f));
    ctx.log.warn(describeFailure(f));
  }
}
