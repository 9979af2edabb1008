// The notification part of a stack's config (awareness:notify): who hears about a run's events
// (started, blocked, verified, failed, rolled-back, paused). Pure: no Pulumi, so the stack schema
// imports it and tests parse it directly. Absent = no notifications.
import { z } from "zod";

export const notifyEvents = ["started", "blocked", "verified", "failed", "rolled-back", "paused"] as const;
export type NotifyEvent = (typeof notifyEvents)[number];

export const notifyLimits = { notifiers: 10, url: 2048, secret: 4096, tags: 20, tag: 200 } as const;

// http is allowed so a notifier can point at a local relay (and tests at a local server).
const httpUrl = z
  .string()
  .max(notifyLimits.url, { message: `expected a URL of at most ${notifyLimits.url} characters`, abort: true })
  .refine((u) => {
    try {
      const url = new URL(u);
      return (url.protocol === "https:" || url.protocol === "http:") && !url.username && !url.password && !url.hash;
    } catch {
      return false;
    }
  }, "expected an http(s) URL without credentials or #fragment");

const secretText = (what: string) => z.string().min(1, `${what} must not be empty`).max(notifyLimits.secret, `at most ${notifyLimits.secret} characters`);

const common = {
  /** Names the notifier in the report (default: its kind and position). */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, "expected a short name (letters, digits, space . _ -)").optional(),
  /** Which events it receives (default: all, for newrelic: verified and rolled-back). */
  events: z.array(z.enum(notifyEvents)).min(1).max(notifyEvents.length).optional(),
  /** Each attempt's time limit. */
  timeoutSeconds: z.number().gt(0).max(60).default(10),
};

const webhookSchema = z.strictObject({
  kind: z.literal("webhook"),
  url: httpUrl,
  /** HMAC-SHA256 key of the X-Awareness-Signature header (a Pulumi secret). */
  secret: secretText("the webhook secret").min(16, "the webhook secret must be at least 16 characters"),
  ...common,
});

const slackSchema = z.strictObject({
  kind: z.literal("slack"),
  /** The incoming webhook URL (a Pulumi secret: whoever has it can post to the channel). */
  url: httpUrl,
  ...common,
});

const datadogSchema = z.strictObject({
  kind: z.literal("datadog"),
  /** DD-API-KEY (a Pulumi secret). */
  apiKey: secretText("the Datadog API key"),
  /** The Datadog site: the API is https://api.<site>. */
  site: z.string().regex(/^[a-z0-9]+(?:[.-][a-z0-9]+)*$/, "expected a Datadog site such as datadoghq.com or datadoghq.eu").default("datadoghq.com"),
  /** Overrides https://api.<site> (a proxy, a test server). */
  url: httpUrl.optional(),
  tags: z.array(z.string().regex(/^[^\s,]{1,200}$/, "expected a tag such as team:web (no blanks or commas)")).max(notifyLimits.tags).default([]),
  ...common,
});

const newRelicSchema = z.strictObject({
  kind: z.literal("newrelic"),
  /** A New Relic user API key for NerdGraph (a Pulumi secret). */
  apiKey: secretText("the New Relic API key"),
  /** The entity the deployment markers go to. */
  entityGuid: z.string().regex(/^[A-Za-z0-9+/=_-]{8,200}$/, "expected a New Relic entity GUID"),
  region: z.enum(["US", "EU"]).default("US"),
  /** Overrides https://api.newrelic.com (US) / https://api.eu.newrelic.com (EU). */
  url: httpUrl.optional(),
  ...common,
});

export const notifierSchema = z.discriminatedUnion("kind", [webhookSchema, slackSchema, datadogSchema, newRelicSchema], {
  error: "expected kind webhook, slack, datadog or newrelic",
});

export const notifySchema = z.array(notifierSchema).max(notifyLimits.notifiers, `at most ${notifyLimits.notifiers} notifiers`);

export type NotifierConfig = z.output<typeof notifierSchema>;

/** Paths inside awareness:notify that hold secrets (they must be Pulumi secrets, and are masked). */
export const notifySecretPaths: readonly string[] = ["notify.*.secret", "notify.*.apiKey", "notify.*.url"];

/** The secret fields a notifier of each kind has. */
export const notifierSecretFields: Readonly<Record<NotifierConfig["kind"], readonly string[]>> = {
  webhook: ["secret"],
  slack: ["url"],
  datadog: ["apiKey"],
  newrelic: ["apiKey"],
};
