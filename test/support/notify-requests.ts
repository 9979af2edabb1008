// Each notifier kind's request as its vendor documents it (method, path, headers, body shape),
// checked on what a local server recorded; the unit tests and the e2e share these checks.
// Each returns the body it checked; `eventOf` reads the run event a request carries.
import { createHmac, timingSafeEqual } from "node:crypto";
import { expect } from "vitest";
import { notifyEvents, type NotifierConfig, type NotifyEvent } from "../../components/config/notify.js";
import type { RunEvent } from "../../automation/notify/events.js";
import type { Recorded } from "./http-recorder.js";

const bodyOf = <T>(r: Recorded) => JSON.parse(r.body) as T;

export type SlackMessage = { text: string; blocks: { type: string; text?: { type: string; text: string }; elements?: unknown[] }[] };
export type DatadogEvent = { title: string; text: string; alert_type: string; tags: string[]; aggregation_key: string; source_type_name: string };

/** Our signed webhook: JSON, the X-Awareness-* headers, and the signature verified as a receiver does. */
export function expectSignedWebhook(r: Recorded, path: string, secret: string): RunEvent {
  expect([r.method, r.path, r.headers["content-type"]]).toEqual(["POST", path, "application/json"]);
  expect(r.headers["x-awareness-delivery"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  // What a receiver does: recompute the HMAC over "<timestamp>.<raw body>", compare in constant time,
  // refuse a timestamp more than 5 minutes off.
  const timestamp = String(r.headers["x-awareness-timestamp"]);
  expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(300);
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(`${timestamp}.${r.body}`).digest("hex")}`);
  const got = Buffer.from(String(r.headers["x-awareness-signature"]));
  expect(got.length === expected.length && timingSafeEqual(got, expected), "the signature verifies").toBe(true);
  const body = bodyOf<RunEvent>(r);
  expect(r.headers["x-awareness-event"]).toBe(body.event);
  return body;
}

/** Slack's incoming webhook: POST {text, blocks} (mrkdwn sections, context elements) to its URL. */
export function expectSlackMessage(r: Recorded, path: string): SlackMessage {
  expect([r.method, r.path, r.headers["content-type"]]).toEqual(["POST", path, "application/json"]);
  const body = bodyOf<SlackMessage>(r);
  expect(Object.keys(body).sort()).toEqual(["blocks", "text"]);
  expect(body.blocks.length).toBeGreaterThan(0);
  for (const b of body.blocks) {
    expect(["section", "context"]).toContain(b.type);
    if (b.type === "section") expect(b.text).toMatchObject({ type: "mrkdwn", text: expect.any(String) });
    else expect(b.elements!.length).toBeGreaterThan(0);
  }
  return body;
}

/** Datadog Events API v1: POST <base>/api/v1/events with DD-API-KEY, the documented fields and their caps. */
export function expectDatadogEvent(r: Recorded, basePath: string, apiKey: string): DatadogEvent {
  expect([r.method, r.path, r.headers["dd-api-key"], r.headers["content-type"]]).toEqual(["POST", `${basePath}/api/v1/events`, apiKey, "application/json"]);
  const body = bodyOf<DatadogEvent>(r);
  expect(Object.keys(body).sort()).toEqual(["aggregation_key", "alert_type", "source_type_name", "tags", "text", "title"]);
  expect(["error", "warning", "info", "success"]).toContain(body.alert_type);
  expect(body.title.length).toBeLessThanOrEqual(100);
  expect(body.aggregation_key.length).toBeLessThanOrEqual(100);
  return body;
}

/** New Relic NerdGraph: POST <base>/graphql with API-Key, one changeTrackingCreateDeployment mutation on the entity. */
export function expectNewRelicMarker(r: Recorded, basePath: string, apiKey: string, entityGuid: string): { query: string } {
  expect([r.method, r.path, r.headers["api-key"], r.headers["content-type"]]).toEqual(["POST", `${basePath}/graphql`, apiKey, "application/json"]);
  const body = bodyOf<{ query: string }>(r);
  expect(Object.keys(body)).toEqual(["query"]);
  expect(body.query).toMatch(/^mutation \{ changeTrackingCreateDeployment\(deployment: \{.*\}\) \{ deploymentId \} \}$/);
  expect(body.query).toContain(`entityGuid: ${JSON.stringify(entityGuid)}`);
  return body;
}

/** The run event a request carries, read where each format shows it. */
export function eventOf(kind: NotifierConfig["kind"], r: Recorded): NotifyEvent | undefined {
  const found = {
    webhook: () => String(r.headers["x-awareness-event"]),
    slack: () => /^\S+ \[[^\]]*\] \S+: (\S+) \(/.exec(bodyOf<SlackMessage>(r).text)?.[1],
    datadog: () => bodyOf<DatadogEvent>(r).tags.find((t) => t.startsWith("event:"))?.slice("event:".length),
    newrelic: () => /description: "([a-z-]+): /.exec(bodyOf<{ query: string }>(r).query)?.[1],
  }[kind]();
  return notifyEvents.find((e) => e === found);
}
