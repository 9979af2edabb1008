// Sends run events to the configured notifiers: all notifiers at once, each one's events in
// order, every delivery bounded (deliver.ts). A notifier that fails is reported, never thrown:
// a notification outage must not change a deploy's outcome.
import type { NotifierConfig } from "../../components/config/notify.js";
import { redact } from "../report/redact.js";
import { defaultDelivery, deliver, type DeliveryOptions } from "./deliver.js";
import type { NotifyEvent, RunEvent } from "./events.js";
import { requestFor } from "./requests.js";

/** Default events per kind: a deployment marker only where a release went live or came back. */
const defaultEvents: Readonly<Record<NotifierConfig["kind"], readonly NotifyEvent[] | "all">> = {
  webhook: "all",
  slack: "all",
  datadog: "all",
  newrelic: ["verified", "rolled-back"],
};

export function wants(n: NotifierConfig, event: NotifyEvent): boolean {
  const events = n.events ?? defaultEvents[n.kind];
  return events === "all" || events.includes(event);
}

export function notifierName(n: NotifierConfig, index: number): string {
  return n.name ?? `${n.kind} #${index + 1}`;
}

/** One event a notifier could not take. */
export interface NotifyFailure {
  notifier: string;
  event: NotifyEvent;
  attempts: number;
  error: string;
}

export interface SendOptions extends Partial<Omit<DeliveryOptions, "timeoutMs">> {
  /** Masked out of every payload and error. */
  secrets: readonly string[];
  now?: () => Date;
}

export interface SendResult {
  delivered: number;
  failures: NotifyFailure[];
}

export async function sendEvents(notifiers: readonly NotifierConfig[], events: readonly RunEvent[], opts: SendOptions): Promise<SendResult> {
  let delivered = 0;
  const failures = await Promise.all(
    notifiers.map(async (n, i) => {
      const mine: NotifyFailure[] = [];
      for (const e of events) {
        if (!wants(n, e.event)) continue;
        const request = requestFor(n, redact(e, opts.secrets), opts.now?.() ?? new Date());
        const result = await deliver(request, {
          attempts: opts.attempts ?? defaultDelivery.attempts,
          backoffMs: opts.backoffMs ?? defaultDelivery.backoffMs,
          timeoutMs: n.timeoutSeconds * 1000,
          sleep: opts.sleep,
        });
        if (result.ok) delivered++;
        else mine.push({ notifier: notifierName(n, i), event: e.event, attempts: result.attempts, error: result.error ?? "failed" });
      }
      return mine;
    }),
  );
  return { delivered, failures: redact(failures.flat(), opts.secrets) };
}

export function describeFailure(f: NotifyFailure): string {
  return `Notifier ${f.notifier} did not take "${f.event}" (${f.attempts} attempt${f.attempts === 1 ? "" : "s"}): ${f.error}. The outcome stands.`;
}
