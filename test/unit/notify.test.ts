// Notifications against real local HTTP servers: each vendor's request checked against its
// documented API (method, path, headers, body shape), the webhook signature verified as a
// receiver would, bounded retries, failures reported, secrets masked.
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { notifierSchema, type NotifierConfig } from "../../components/config/notify.js";
import { ConfigError, parseStackConfig } from "../../components/config/parse.js";
import { runActor } from "../../automation/common/actor.js";
import { eventsAtEnd, runEvent, type RunEvent } from "../../automation/notify/events.js";
import { sendEvents } from "../../automation/notify/notifiers.js";
import { requestFor } from "../../automation/notify/requests.js";
import { secretValuesIn } from "../../automation/report/redact.js";
import { newSummary, conclude } from "../../automation/report/summary.js";
import { secretPaths } from "../../components/config/schema.js";
import { httpRecorder, type Answer, type Recorded, type Recorder } from "../support/http-recorder.js";
import { eventOf, expectDatadogEvent, expectNewRelicMarker, expectSignedWebhook, expectSlackMessage } from "../support/notify-requests.js";

const servers: Recorder[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function server(answer?: (req: Recorded, n: number) => Answer): Promise<Recorder> {
  const s = await httpRecorder(answer);
  servers.push(s);
  return s;
}

const webhookSecret = "whsec-0123456789abcdef";
const apiKey = "dd-key-5f4dcc3b5aa765d61d8327deb882cf99";
const nrKey = "NRAK-ABCDEFGHIJKLMNOPQRSTUVWXYZ1";

function rolledBackSummary() {
  const s = newSummary("deploy", "production");
  s.release = { id: "v42", gitSha: "0123456789abcdef0123456789abcdef01234567", images: {}, env: {} };
  s.rollback = { from: "v42", to: "v41", reason: "health check failed" };
  conclude(s, "rolled-back", "v42 failed its health check: 2 failed checks of 30.");
  return s;
}
const actor = runActor({ GITHUB_ACTIONS: "true", GITHUB_ACTOR: "octocat", GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "acme/app", GITHUB_RUN_ID: "7" });
const event = (name: RunEvent["event"]) => runEvent(name, rolledBackSummary(), new Date("2026-11-27T18:00:00Z"), actor);
const notifier = (value: Record<string, unknown>): NotifierConfig => notifierSchema.parse(value);
const quick = { secrets: [webhookSecret, apiKey, nrKey], backoffMs: 5 };

describe("events of a run", () => {
  it("maps outcomes to events; only deploy, rollback and restore notify", () => {
    expect(eventsAtEnd("deploy", "rolled-back")).toEqual(["failed", "rolled-back"]);
    expect(eventsAtEnd("deploy", "deployed-verified")).toEqual(["verified"]);
    expect(eventsAtEnd("deploy", "blocked")).toEqual(["blocked"]);
    expect(eventsAtEnd("rollback", "rollback-done")).toEqual(["rolled-back"]);
    expect(eventsAtEnd("deploy", "lock-held")).toEqual([]);
    expect(eventsAtEnd("deploy", "cancelled")).toEqual([]);
    expect(eventsAtEnd("precheck", "blocked")).toEqual([]);
  });

  it("a rolled-back event names the release that runs again", () => {
    expect(event("rolled-back").release?.id).toBe("v41");
    expect(event("failed").release?.id).toBe("v42");
    expect(event("failed").runUrl).toBe("https://github.com/acme/app/actions/runs/7");
    expect(event("failed").actor).toBe("octocat (GitHub Actions run 7)");
  });

  it("an ended event says why the run rolled back, as its audit line does; started says nothing yet", () => {
    expect(event("failed").reason).toBe("rollback v42 -> v41: health check failed");
    expect(event("rolled-back").reason).toBe("rollback v42 -> v41: health check failed");
    expect(event("started").reason).toBeUndefined();
  });
});

describe("each vendor's request, checked by a local server against its documented API", () => {
  it("webhook: JSON body, signature over timestamp.body verified by the receiver", async () => {
    const s = await server();
    const n = notifier({ kind: "webhook", url: `${s.url}/hooks/deploy`, secret: webhookSecret });
    const result = await sendEvents([n], [event("failed")], quick);
    expect(result).toEqual({ delivered: 1, failures: [] });
    const [r] = s.requests;
    const body = expectSignedWebhook(r!, "/hooks/deploy", webhookSecret);
    expect(eventOf("webhook", r!)).toBe("failed");
    // Another secret or a changed body does not verify.
    const timestamp = String(r!.headers["x-awareness-timestamp"]);
    expect(`sha256=${createHmac("sha256", "another-secret-of-16").update(`${timestamp}.${r!.body}`).digest("hex")}`).not.toBe(r!.headers["x-awareness-signature"]);
    expect(`sha256=${createHmac("sha256", webhookSecret).update(`${timestamp}.${r!.body} `).digest("hex")}`).not.toBe(r!.headers["x-awareness-signature"]);
    expect(body).toMatchObject({ event: "failed", stack: "production", command: "deploy", outcome: "rolled-back", release: { id: "v42" }, actor: "octocat (GitHub Actions run 7)" });
  });

  it("slack: POST {text, blocks} to the incoming webhook URL", async () => {
    const s = await server();
    const n = notifier({ kind: "slack", url: `${s.url}/services/T000/B000/XXXX` });
    expect((await sendEvents([n], [event("rolled-back")], quick)).delivered).toBe(1);
    const body = expectSlackMessage(s.requests[0]!, "/services/T000/B000/XXXX");
    expect(eventOf("slack", s.requests[0]!)).toBe("rolled-back");
    expect(body.text).toContain("v41");
    expect(body.blocks[1]!.text!.text).toContain("why: rollback v42 -&gt; v41: health check failed");
  });

  it("datadog: POST /api/v1/events with DD-API-KEY and {title, text, alert_type, tags, aggregation_key, source_type_name}", async () => {
    const s = await server(() => ({ status: 202, body: '{"status":"ok"}' }));
    const n = notifier({ kind: "datadog", apiKey, url: s.url, tags: ["team:web"] });
    expect((await sendEvents([n], [event("failed")], quick)).delivered).toBe(1);
    const body = expectDatadogEvent(s.requests[0]!, "", apiKey);
    expect(eventOf("datadog", s.requests[0]!)).toBe("failed");
    expect(body.alert_type).toBe("error");
    expect(body.text.split("\n").slice(0, 2)).toEqual([event("failed").headline, "why: rollback v42 -> v41: health check failed"]);
    expect(body.tags).toEqual(expect.arrayContaining(["stack:production", "event:failed", "release:v42", "team:web"]));
  });

  it("datadog's URL comes from its site (default datadoghq.com)", () => {
    expect(requestFor(notifier({ kind: "datadog", apiKey }), event("failed"), new Date()).url).toBe("https://api.datadoghq.com/api/v1/events");
    expect(requestFor(notifier({ kind: "datadog", apiKey, site: "datadoghq.eu" }), event("failed"), new Date()).url).toBe("https://api.datadoghq.eu/api/v1/events");
  });

  it("new relic: POST /graphql with API-Key and a changeTrackingCreateDeployment mutation", async () => {
    const s = await server(() => ({ status: 200, body: '{"data":{"changeTrackingCreateDeployment":{"deploymentId":"d-1"}}}' }));
    const n = notifier({ kind: "newrelic", apiKey: nrKey, entityGuid: "MXxBUE18QVBQTElDQVRJT058MQ", url: s.url });
    // Its default events: verified and rolled-back only.
    expect((await sendEvents([n], [event("failed"), event("rolled-back")], quick)).delivered).toBe(1);
    expect(s.requests).toHaveLength(1);
    const body = expectNewRelicMarker(s.requests[0]!, "", nrKey, "MXxBUE18QVBQTElDQVRJT058MQ");
    expect(eventOf("newrelic", s.requests[0]!)).toBe("rolled-back");
    expect(body.query).toContain('version: "v41"');
    expect(body.query).toContain('user: "octocat (GitHub Actions run 7)"');
    expect(body.query).toMatch(/description: "rolled-back: [^"]+ \(why: rollback v42 -> v41: health check failed\)"/);
  });

  it("new relic's URL by region, and a refused mutation (200 with errors) is a failure, not retried", async () => {
    const base = { kind: "newrelic", apiKey: nrKey, entityGuid: "MXxBUE18QVBQTElDQVRJT058MQ" };
    expect(requestFor(notifier(base), event("verified"), new Date()).url).toBe("https://api.newrelic.com/graphql");
    expect(requestFor(notifier({ ...base, region: "EU" }), event("verified"), new Date()).url).toBe("https://api.eu.newrelic.com/graphql");
    const s = await server(() => ({ status: 200, body: '{"errors":[{"message":"entity not found"}]}' }));
    const result = await sendEvents([notifier({ ...base, url: s.url })], [event("rolled-back")], quick);
    expect(result.failures).toEqual([{ notifier: "newrelic #1", event: "rolled-back", attempts: 1, error: expect.stringContaining("entity not found") }]);
  });
});

describe("bounded retries; failures reported, never thrown", () => {
  it("a 503 then a 200: delivered on the second attempt", async () => {
    const s = await server((_r, n) => (n === 1 ? { status: 503 } : { status: 200 }));
    const result = await sendEvents([notifier({ kind: "webhook", url: s.url, secret: webhookSecret })], [event("failed")], quick);
    expect(result).toEqual({ delivered: 1, failures: [] });
    expect(s.requests).toHaveLength(2);
  });

  it("always 500: three attempts, then reported; a 400 is not retried", async () => {
    const down = await server(() => ({ status: 500, body: "boom" }));
    const wrong = await server(() => ({ status: 400, body: "invalid_payload" }));
    const result = await sendEvents(
      [notifier({ kind: "webhook", url: down.url, secret: webhookSecret }), notifier({ kind: "slack", url: wrong.url, name: "team chat" })],
      [event("failed")],
      quick,
    );
    expect(down.requests).toHaveLength(3);
    expect(wrong.requests).toHaveLength(1);
    expect(result.failures).toEqual([
      { notifier: "webhook #1", event: "failed", attempts: 3, error: "HTTP 500: boom" },
      { notifier: "team chat", event: "failed", attempts: 1, error: "HTTP 400: invalid_payload" },
    ]);
  });

  it("no answer within the timeout, or a refused connection: retried, then reported", async () => {
    const silent = await server(() => "hang");
    const closed = await server();
    const closedUrl = closed.url;
    await closed.close();
    servers.splice(servers.indexOf(closed), 1);
    const started = Date.now();
    const result = await sendEvents(
      [notifier({ kind: "webhook", url: silent.url, secret: webhookSecret, timeoutSeconds: 0.2 }), notifier({ kind: "datadog", apiKey, url: closedUrl })],
      [event("failed")],
      quick,
    );
    expect(silent.requests).toHaveLength(3);
    expect(result.failures.map((f) => [f.notifier, f.attempts])).toEqual([["webhook #1", 3], ["datadog #2", 3]]);
    expect(result.failures[0]!.error).toBe("no answer within 200 ms");
    expect(result.failures[1]!.error).toMatch(/ECONNREFUSED/);
    // All at once and bounded: three 0.2 s attempts, not one notifier after the other.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("secrets are masked in what is sent and in what is reported", async () => {
    const s = await server((r) => ({ status: 401, body: `bad key ${String(r.headers["dd-api-key"])}` }));
    const e = { ...event("failed"), messages: [`the app printed ${apiKey} as it died`] };
    const result = await sendEvents([notifier({ kind: "datadog", apiKey, url: s.url })], [e], quick);
    expect(s.requests[0]!.body).not.toContain(apiKey);
    expect(s.requests[0]!.body).toContain("the app printed *** as it died");
    expect(result.failures[0]!.error).toBe("HTTP 401: bad key ***");
  });
});

describe("awareness:notify in the stack config", () => {
  const base = {
    "awareness:hosts": JSON.stringify([{ host: "10.0.0.5", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHFakeHostKeyForUnitTestsOnly0123456789abc" }]),
    "awareness:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----",
    "awareness:services": JSON.stringify({ backend: {} }),
    "awareness:release": JSON.stringify({ id: "v1", images: { backend: "registry.test/backend:v1" } }),
  };
  const problems = (notify: unknown) => {
    try {
      parseStackConfig({ ...base, "awareness:notify": JSON.stringify(notify) });
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems;
    }
  };

  it("accepts the four kinds, with defaults", () => {
    const cfg = parseStackConfig({
      ...base,
      "awareness:notify": JSON.stringify([
        { kind: "webhook", url: "https://hooks.example.com/deploy", secret: webhookSecret, events: ["failed", "rolled-back"] },
        { kind: "slack", url: "https://hooks.slack.com/services/T/B/X" },
        { kind: "datadog", apiKey },
        { kind: "newrelic", apiKey: nrKey, entityGuid: "MXxBUE18QVBQTElDQVRJT058MQ", region: "EU" },
      ]),
    });
    expect(cfg.notify.map((n) => n.kind)).toEqual(["webhook", "slack", "datadog", "newrelic"]);
    expect(cfg.notify[2]).toMatchObject({ site: "datadoghq.com", timeoutSeconds: 10, tags: [] });
    expect(parseStackConfig(base).notify).toEqual([]);
  });

  it("refuses bad entries naming the key, never showing a secret", () => {
    expect(problems([{ kind: "pager" }]).map((p) => p.key)).toEqual(["awareness:notify[0].kind"]);
    const short = problems([{ kind: "webhook", url: "https://x.example", secret: "short-secret" }]);
    expect(short.map((p) => [p.key, p.shown])).toEqual([["awareness:notify[0].secret", "[secret]"]]);
    expect(problems([{ kind: "webhook", url: "ftp://x", secret: webhookSecret }]).map((p) => p.key)).toEqual(["awareness:notify[0].url"]);
    expect(problems([{ kind: "datadog", apiKey, events: ["exploded"] }]).map((p) => p.key)).toEqual(["awareness:notify[0].events[0]"]);
    expect(problems([{ kind: "newrelic", apiKey: nrKey }])[0]).toMatchObject({ key: "awareness:notify[0].entityGuid", message: "is required but not set" });
  });

  it("only the notifiers' secret fields join the run's secrets (plain words stay readable)", () => {
    const notify = [{ kind: "webhook", url: "https://hooks.example.com/deploy", secret: webhookSecret, events: ["failed"] }, { kind: "datadog", apiKey }];
    const values = secretValuesIn({ "awareness:notify": { value: JSON.stringify(notify), secret: true } }, secretPaths);
    expect(values.sort()).toEqual([apiKey, "https://hooks.example.com/deploy", webhookSecret].sort());
    // A key named whole (secretEnv) or not named at all keeps every string secret.
    const whole = secretValuesIn({ "awareness:secretEnv": { value: JSON.stringify({ A: "alpha-secret" }), secret: true } }, secretPaths);
    expect(whole).toEqual(['{"A":"alpha-secret"}', "alpha-secret"]);
    expect(secretValuesIn({ "awareness:other": { value: '["x-secret"]', secret: true } }, secretPaths)).toEqual(['["x-secret"]', "x-secret"]);
  });
});
