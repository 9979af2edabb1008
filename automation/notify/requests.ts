// Each vendor's request for one run event, as its API documents it:
// - webhook: our own signed JSON (see README "Notifications": X-Awareness-Signature);
// - Slack incoming webhook: POST {text, blocks} to the webhook URL;
// - Datadog Events API v1: POST https://api.<site>/api/v1/events with DD-API-KEY;
// - New Relic NerdGraph: POST https://api.newrelic.com/graphql (EU: api.eu.newrelic.com) with
//   API-Key, a changeTrackingCreateDeployment mutation (a deployment marker).
import { createHmac, randomUUID } from "node:crypto";
import type { NotifierConfig } from "../../components/config/notify.js";
import type { HttpRequest } from "./deliver.js";
import { titleOf, type RunEvent } from "./events.js";

const json = { "content-type": "application/json", "user-agent": "awareness-deploy" };

/** The signature of a webhook delivery: HMAC-SHA256, keyed with the secret, of "<timestamp>.<raw body>". */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

function webhookRequest(n: Extract<NotifierConfig, { kind: "webhook" }>, e: RunEvent, now: Date): HttpRequest {
  const body = JSON.stringify(e);
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    url: n.url,
    body,
    headers: {
      ...json,
      "x-awareness-event": e.event,
      "x-awareness-delivery": randomUUID(),
      "x-awareness-timestamp": timestamp,
      "x-awareness-signature": webhookSignature(n.secret, timestamp, body),
    },
  };
}

/** The lines a human reads under the title: why (a rollback's reason), then the run's messages. */
const whyAndMessages = (e: RunEvent) => [...(e.reason ? [`why: ${e.reason}`] : []), ...e.messages];

/** Slack's mrkdwn treats &, < and > as markup. */
const slackEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const slackEmoji: Readonly<Record<RunEvent["event"], string>> = {
  started: ":rocket:",
  blocked: ":no_entry:",
  verified: ":white_check_mark:",
  failed: ":x:",
  "rolled-back": ":rewind:",
  paused: ":double_vertical_bar:",
};

function slackRequest(n: Extract<NotifierConfig, { kind: "slack" }>, e: RunEvent): HttpRequest {
  const text = `${slackEmoji[e.event]} ${slackEscape(titleOf(e))}`;
  const details = [
    `*stack* ${slackEscape(e.stack)} · *command* ${e.command} · *by* ${slackEscape(e.actor)}`,
    ...(e.runUrl ? [`<${e.runUrl}|the CI run>`] : []),
  ];
  const blocks = [
    { type: "section", text: { type: "mrkdwn", text } },
    ...(whyAndMessages(e).length ? [{ type: "section", text: { type: "mrkdwn", text: slackEscape(whyAndMessages(e).join("\n")).slice(0, 2900) } }] : []),
    { type: "context", elements: details.map((d) => ({ type: "mrkdwn", text: d })) },
  ];
  return { url: n.url, headers: { ...json }, body: JSON.stringify({ text, blocks }) };
}

const datadogAlert: Readonly<Record<RunEvent["event"], "info" | "success" | "warning" | "error">> = {
  started: "info",
  blocked: "warning",
  verified: "success",
  failed: "error",
  "rolled-back": "warning",
  paused: "warning",
};

function datadogRequest(n: Extract<NotifierConfig, { kind: "datadog" }>, e: RunEvent): HttpRequest {
  const base = (n.url ?? `https://api.${n.site}`).replace(/\/+$/, "");
  const text = [e.headline, ...whyAndMessages(e), ...(e.runUrl ? [e.runUrl] : [])].join("\n").slice(0, 4000);
  const tags = [`stack:${e.stack}`, `event:${e.event}`, `command:${e.command}`, ...(e.release ? [`release:${e.release.id}`] : []), ...n.tags];
  const body = {
    title: titleOf(e).slice(0, 100),
    text,
    alert_type: datadogAlert[e.event],
    tags,
    // One group per stack and release in the event stream (Datadog caps the key at 100).
    aggregation_key: `awareness-${e.stack}-${e.release?.id ?? "none"}`.slice(0, 100),
    source_type_name: "my_apps",
  };
  return { url: `${base}/api/v1/events`, headers: { ...json, "dd-api-key": n.apiKey }, body: JSON.stringify(body) };
}

/** GraphQL string literals escape like JSON strings. */
const gqlString = (s: string) => JSON.stringify(s);

function newRelicRequest(n: Extract<NotifierConfig, { kind: "newrelic" }>, e: RunEvent): HttpRequest {
  const base = (n.url ?? (n.region === "EU" ? "https://api.eu.newrelic.com" : "https://api.newrelic.com")).replace(/\/+$/, "");
  const fields = [
    `version: ${gqlString(e.release?.id ?? "unknown")}`,
    `entityGuid: ${gqlString(n.entityGuid)}`,
    `description: ${gqlString(`${e.event}: ${e.headline}${e.reason ? ` (why: ${e.reason})` : ""}`.slice(0, 500))}`,
    `user: ${gqlString(e.actor)}`,
    ...(e.release?.gitSha ? [`commit: ${gqlString(e.release.gitSha)}`] : []),
  ];
  const query = `mutation { changeTrackingCreateDeployment(deployment: {${fields.join(", ")}}) { deploymentId } }`;
  return {
    url: `${base}/graphql`,
    headers: { ...json, "api-key": n.apiKey },
    body: JSON.stringify({ query }),
    // NerdGraph answers 200 with an `errors` list when the mutation is refused.
    check: (_status, text) => {
      try {
        const errors = (JSON.parse(text) as { errors?: { message?: string }[] }).errors;
        return errors?.length ? `NerdGraph refused the marker: ${errors.map((x) => x.message ?? "?").join("; ").slice(0, 300)}` : undefined;
      } catch {
        return "NerdGraph answered without JSON";
      }
    },
  };
}

export function requestFor(n: NotifierConfig, e: RunEvent, now: Date): HttpRequest {
  switch (n.kind) {
    case "webhook":
      return webhookRequest(n, e, now);
    case "slack":
      return slackRequest(n, e);
    case "datadog":
      return datadogRequest(n, e);
    case "newrelic":
      return newRelicRequest(n, e);
  }
}
