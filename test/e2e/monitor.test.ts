// The monitor end to end: the real engine, the real sandbox host, real HTTP probes, real
// notifications. The seed's three endpoints x 10 rounds = 30 checks at 95 % (one round a
// second): v7 fails 1 check of 30 and is verified; v8 fails 2, and the watch fails at the
// second (early: its rate can no longer be met), rolls back to the last verified release (v7).
// One local HTTP server plays the four notifier kinds; the host's audit.log lists the runs.
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { status } from "../../automation/commands/status.js";
import { runActor } from "../../automation/common/actor.js";
import { repoRoot } from "../../automation/common/process.js";
import { renderMarkdown } from "../../automation/report/markdown.js";
import { renderStatus } from "../../automation/report/status-text.js";
import { ExitCode, type RunSummary } from "../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { publishReports } from "../../automation/stages/publish.js";
import { parseAuditLog, type DeploymentStatus } from "../../components/host-commands/index.js";
import type { NotifierConfig } from "../../components/config/notify.js";
import { driverStack, type DriverStack } from "../support/driver.js";
import { httpRecorder, type Recorded, type Recorder } from "../support/http-recorder.js";
import { eventOf, expectDatadogEvent, expectNewRelicMarker, expectSignedWebhook, expectSlackMessage } from "../support/notify-requests.js";
import { clearCorner, get, onHost, target, testCorner } from "./components-support.js";

const corner = testCorner("monitor", { backend: 19580, frontend: 19581 });
const stackName = `test-monitor-${process.pid}`;
// A round a second for 10 s: the seed's 10 rounds x 3 endpoints = 30 checks, 1 failure tolerated at 95 %.
const monitor = { durationSeconds: 10, intervalSeconds: 1, consecutiveFailures: 3, successRate: 0.95 };
const logFile = join(repoRoot, ".reports", "e2e-monitor.log");
mkdirSync(dirname(logFile), { recursive: true });
const logged: string[] = [];
const log = {
  info: (line: string) => (logged.push(line), appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`)),
  warn: (line: string) => (logged.push(line), appendFileSync(logFile, `${new Date().toISOString()} warning: ${line}\n`)),
};

// The notifiers' secrets (Pulumi secrets in the stack config): none may show up in a log or report.
const webhookSecret = `whsec-${process.pid}-0123456789abcdef`;
const datadogKey = `dd-key-${process.pid}-5f4dcc3b5aa765d61d8327deb882cf99`;
const newRelicKey = `NRAK-${process.pid}-ABCDEFGHIJKLMNOPQRSTUVWXYZ`;
const entityGuid = "MXxBUE18QVBQTElDQVRJT058MQ";
const paths = { webhook: "/hooks/deploy", slack: `/slack/services/T000/B000/${process.pid}x`, datadog: "/datadog", newrelic: "/newrelic" };
const kinds = ["webhook", "slack", "datadog", "newrelic"] as const;

let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;
let receiver: Recorder;
let v1: RunSummary;
let v7: RunSummary | undefined;
let v8: RunSummary | undefined;

/** Deploys a sandbox release; it must end with `outcome` and its exit code. */
async function release(id: string, outcome: "deployed-verified" | "rolled-back"): Promise<RunSummary> {
  const s = await deploy({ ...base, releaseId: id, images: target.releases[id] });
  expect(s.outcome, explain(s)).toBe(outcome);
  expect(s.exitCode).toBe(outcome === "deployed-verified" ? ExitCode.Ok : ExitCode.FailedRolledBack);
  return s;
}

/** Why a run ended as it did (for assertion messages). */
function explain(s: RunSummary | undefined): string {
  const failed = (m: RunSummary["monitor"]) => (m?.rounds ?? []).filter((r) => !r.ok).map((r) => `round ${r.round + 1}: ${r.failures.join("; ")}`);
  return JSON.stringify({ outcome: s?.outcome, messages: s?.messages, failed: failed(s?.monitor), rollbackFailed: failed(s?.rollback?.monitor) }, null, 1);
}

function hostRecord(): DeploymentStatus {
  return JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)) as DeploymentStatus;
}

/** The corner's backend container: its image and how many /api/docs requests it has counted. */
function backendOnHost(): { image: string; docsRequests: number } {
  const id = onHost(
    `docker ps -q --filter label=com.docker.compose.project=${corner.composeProject} --filter label=com.docker.compose.service=backend`,
  ).trim();
  const image = onHost(`docker inspect -f '{{.Config.Image}}' ${id}`).trim();
  const docs = onHost(`docker exec ${id} cat /tmp/docs-count 2>/dev/null || echo 0`).trim();
  return { image, docsRequests: Number(docs) };
}

async function liveVersion(): Promise<string> {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : "down";
}

function notifiers(url: string): NotifierConfig[] {
  return [
    { kind: "webhook", url: `${url}${paths.webhook}`, secret: webhookSecret, timeoutSeconds: 5 },
    { kind: "slack", url: `${url}${paths.slack}`, timeoutSeconds: 5 },
    { kind: "datadog", apiKey: datadogKey, url: `${url}${paths.datadog}`, site: "datadoghq.com", tags: ["team:e2e"], timeoutSeconds: 5 },
    { kind: "newrelic", apiKey: newRelicKey, entityGuid, region: "US", url: `${url}${paths.newrelic}`, timeoutSeconds: 5 },
  ];
}

/** What the receiver got on one notifier's path, in order. */
function receivedBy(kind: (typeof kinds)[number]): Recorded[] {
  return receiver.requests.filter((r) => r.path.startsWith(paths[kind]));
}

beforeAll(async () => {
  clearCorner(corner);
  receiver = await httpRecorder((r) =>
    r.path.startsWith(paths.datadog)
      ? { status: 202, body: '{"status":"ok"}' }
      : r.path.startsWith(paths.newrelic)
        ? { status: 200, body: '{"data":{"changeTrackingCreateDeployment":{"deploymentId":"d-1"}}}' }
        : { status: 200, body: "ok" },
  );
  ds = await driverStack(stackName, log);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log };
  const engine = await ds.engine();
  await applySandboxStackConfig(engine, target, "v1", corner);
  // The verified baseline, on the sandbox's short default watch and before any notifier is configured.
  v1 = await release("v1", "deployed-verified");
  await engine.setConfig({
    "awareness:monitor": { value: JSON.stringify(monitor) },
    // One `--secret --path` makes the whole key secret: only its secret parts are masked (schema.ts secretPaths).
    "awareness:notify": { value: JSON.stringify(notifiers(receiver.url)), secret: true },
  });
});

afterAll(async () => {
  clearCorner(corner);
  await receiver?.close();
  await ds?.cleanup();
});

describe("the success rate per check, with an early verdict (30 checks, 95 %)", () => {
  it("v7 fails 1 check of 30: watched for all 10 rounds, verified; the report shows 29/30 checks passed", async () => {
    v7 = await release("v7", "deployed-verified");
    const m = v7.monitor!;
    expect(m.verdict).toMatchObject({ state: "passed", rounds: 10, checks: 30, failedChecks: 1, failedRounds: 1, longestFailureStreak: 1 });
    expect(m.rounds.map((r) => r.failures)).toEqual([[], ["/api/docs: HTTP 503"], [], [], [], [], [], [], [], []]);
    expect(m.series.map((p) => p.failed)).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    // A passed verdict waits out the window: the rate could still have been missed until then.
    expect(m.finishedAt - m.startedAt).toBeGreaterThanOrEqual(10_000);
    const markdown = renderMarkdown(v7);
    expect(markdown).toContain("✅ **Passed**: 9/10 rounds passed, 29/30 checks (96.7 %)");
    expect(markdown).toContain("fails after 3 bad rounds in a row or 2 failed checks of 30");
    // The host: v7 runs, recorded current and verified; its container counted exactly the monitor's 10 /api/docs probes.
    expect(hostRecord()).toMatchObject({ current: { id: "v7" }, verified: { id: "v7" } });
    expect(backendOnHost()).toEqual({ image: target.releases.v7!.backend, docsRequests: 10 });
    expect(await liveVersion()).toBe("v7");
  });

  it("v8 fails 2 checks of 30: the watch fails in the round of the 2nd failure, rolls back to the last verified release (v7), which runs again", async () => {
    expect(v7?.outcome, "needs v7 verified first").toBe("deployed-verified");
    v8 = await release("v8", "rolled-back");
    const m = v8.monitor!;
    expect(m.verdict).toMatchObject({ state: "failed", reason: "success-rate", rounds: 5, checks: 15, failedChecks: 2, longestFailureStreak: 1 });
    expect(m.verdict.state === "failed" && m.verdict.detail).toMatch(
      /^2 of 30 planned checks failed, at most 1 may for 95 %: the rate can no longer be met \(after 5 of 10 rounds\); last: \/api\/docs: HTTP 503$/,
    );
    // Decided in round 5 itself: no further round ran, and the watch ended before round 6 was due.
    expect(m.rounds.map((r) => r.failures)).toEqual([[], ["/api/docs: HTTP 503"], [], [], ["/api/docs: HTTP 503"]]);
    expect(m.finishedAt - m.rounds[4]!.startedAt).toBeLessThan(1_000);
    expect(m.finishedAt - m.startedAt).toBeLessThan(5_000 + 1_000);
    expect(renderMarkdown(v8)).toContain("Watch: failed (success-rate) at round 5 of 10");

    expect(v8.rollback).toMatchObject({ from: "v8", to: "v7" });
    expect(v8.rollback?.reason).toMatch(/^automatic: v8 failed its health check \(2 of 30 planned checks failed/);
    // v7 again, in a new container that counts from 1: its own 2nd /api/docs answer fails 1 check of 30, tolerated.
    expect(v8.rollback?.monitor?.verdict).toMatchObject({ state: "passed", checks: 30, failedChecks: 1 });
    expect(hostRecord()).toMatchObject({ current: { id: "v7" }, verified: { id: "v7" }, failed: { id: "v8" } });
    expect(backendOnHost()).toEqual({ image: target.releases.v7!.backend, docsRequests: 10 });
    expect(await liveVersion()).toBe("v7");
  });
});

describe("every notifier received its events during the real deploys", () => {
  // v7: started, verified; v8: started, failed, rolled-back (New Relic, by default: verified and rolled-back).
  const expected = {
    webhook: ["started v7", "verified v7", "started v8", "failed v8", "rolled-back v7"],
    slack: ["started v7", "verified v7", "started v8", "failed v8", "rolled-back v7"],
    datadog: ["started v7", "verified v7", "started v8", "failed v8", "rolled-back v7"],
    newrelic: ["verified v7", "rolled-back v7"],
  };

  it("the runs delivered every event and reported no failure", () => {
    expect(v8?.outcome, "needs the v7 and v8 deploys").toBe("rolled-back");
    expect(v7!.notifications).toEqual({ delivered: 7, failures: [] });
    expect(v8!.notifications).toEqual({ delivered: 10, failures: [] });
    expect(receiver.requests).toHaveLength(17);
  });

  it("the signed webhook: method, path, headers, the signature verified, the event as JSON", () => {
    const got = receivedBy("webhook").map((r) => expectSignedWebhook(r, paths.webhook, webhookSecret));
    expect(got.map((e) => `${e.event} ${e.release?.id}`)).toEqual(expected.webhook);
    const who = runActor().who;
    for (const e of got) expect(e).toMatchObject({ stack: stackName, command: "deploy", actor: who });
    expect(got.map((e) => e.outcome)).toEqual([undefined, "deployed-verified", undefined, "rolled-back", "rolled-back"]);
    expect(got.map((e) => e.exitCode)).toEqual([undefined, 0, undefined, 4, 4]);
    // The failure and the rollback say why, as the audit line does.
    const why = `rollback v8 -> v7: ${v8!.rollback!.reason}`;
    expect(got.map((e) => e.reason)).toEqual([undefined, undefined, undefined, why, why]);
    expect(got[3]!.reason).toMatch(/^rollback v8 -> v7: automatic: v8 failed its health check \(2 of 30 planned checks failed.*can no longer be met/);
    // Each delivery has its own id (a receiver drops duplicates by it).
    expect(new Set(receivedBy("webhook").map((r) => r.headers["x-awareness-delivery"])).size).toBe(5);
  });

  it("Slack: {text, blocks} to the incoming webhook's path", () => {
    const got = receivedBy("slack").map((r) => ({ body: expectSlackMessage(r, paths.slack), event: eventOf("slack", r) }));
    expect(got.map(({ body, event }) => `${event} ${/\] (\S+):/.exec(body.text)?.[1]}`)).toEqual(expected.slack);
    for (const { body } of got) expect(body.text).toContain(`[${stackName}]`);
    expect(JSON.stringify(got[3]!.body.blocks)).toContain("why: rollback v8 -&gt; v7: automatic: v8 failed its health check");
  });

  it("Datadog: /api/v1/events with DD-API-KEY; alert types and tags per event", () => {
    const got = receivedBy("datadog").map((r) => ({ body: expectDatadogEvent(r, paths.datadog, datadogKey), event: eventOf("datadog", r) }));
    expect(got.map(({ body, event }) => `${event} ${body.tags.find((t) => t.startsWith("release:"))?.slice(8)}`)).toEqual(expected.datadog);
    expect(got.map(({ body }) => body.alert_type)).toEqual(["info", "success", "info", "error", "warning"]);
    expect(got[3]!.body.text).toMatch(/^\S.*\nwhy: rollback v8 -> v7: automatic: v8 failed its health check/);
    for (const { body } of got) expect(body.tags).toEqual(expect.arrayContaining([`stack:${stackName}`, "command:deploy", "team:e2e"]));
  });

  it("New Relic: a changeTrackingCreateDeployment marker with API-Key, only where a release went live or came back", () => {
    const got = receivedBy("newrelic").map((r) => ({ body: expectNewRelicMarker(r, paths.newrelic, newRelicKey, entityGuid), event: eventOf("newrelic", r) }));
    expect(got.map(({ body, event }) => `${event} ${/version: "([^"]+)"/.exec(body.query)?.[1]}`)).toEqual(expected.newrelic);
    for (const { body } of got) expect(body.query).toContain(`user: ${JSON.stringify(runActor().who)}`);
  });

  it("no secret shows in the runs' logs, summaries or reports (nor in what other notifiers received)", async () => {
    const reportDir = join(ds.dir, "reports");
    for (const s of [v7!, v8!]) await publishReports(s, { reportDir, log });
    const reports = readdirSync(reportDir).map((f) => readFileSync(join(reportDir, f), "utf8"));
    expect(reports).toHaveLength(4);
    const slackUrl = `${receiver.url}${paths.slack}`;
    const texts = { log: logged.join("\n"), summaries: JSON.stringify([v7, v8]), reports: reports.join("\n") };
    for (const [where, text] of Object.entries(texts)) {
      for (const secret of [webhookSecret, datadogKey, newRelicKey, slackUrl]) expect(text, `${where} shows a secret`).not.toContain(secret);
    }
    // The log did tell the notifiers (the check above looked at a real log).
    expect(texts.log).toMatch(/telling 4 notifier\(s\) the run started/);
    for (const r of receiver.requests) {
      const others = [webhookSecret, datadogKey, newRelicKey].filter((s) => s !== r.headers["dd-api-key"] && s !== r.headers["api-key"]);
      for (const secret of others) expect(r.body).not.toContain(secret);
    }
  });
});

describe("the audit trail lists the runs", () => {
  it("status --audit shows each run of this file: who, command, release, outcome and the rollback's reason; the host's audit.log says the same", async () => {
    expect(v8?.outcome, "needs the v7 and v8 deploys").toBe("rolled-back");
    const { summary, report } = await status({ ...base, auditLimit: 20 });
    expect(summary.outcome, explain(summary)).toBe("ok");
    const who = runActor().who;
    const entries = report!.audit!.entries;
    expect(report!.audit!.malformed).toEqual([]);
    expect(entries.map((e) => [e.command, e.release, e.outcome, e.exitCode])).toEqual([
      ["deploy", "v8", "rolled-back", 4],
      ["deploy", "v7", "deployed-verified", 0],
      ["deploy", "v1", "deployed-verified", 0],
    ]);
    for (const e of entries) expect(e).toMatchObject({ who, stack: stackName });
    expect(entries.map((e) => e.startedAt)).toEqual([v8!.startedAt, v7!.startedAt, v1.startedAt]);
    expect(entries[0]!.reason).toMatch(/^rollback v8 -> v7: automatic: v8 failed its health check \(2 of 30 planned checks failed.*can no longer be met/);
    expect(entries.slice(1).map((e) => e.reason)).toEqual([undefined, undefined]);

    // What `status --audit` prints, newest first.
    const text = renderStatus(report!);
    expect(text).toContain("audit (newest first, 3 entries):");
    const lines = text.split("\n").filter((l) => / deploy v\d by /.test(l));
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`rolled-back +deploy v8 by ${literal(who)} \\(why: rollback v8 -> v7: automatic: `)),
      expect.stringMatching(new RegExp(`deployed-verified +deploy v7 by ${literal(who)}$`)),
      expect.stringMatching(new RegExp(`deployed-verified +deploy v1 by ${literal(who)}$`)),
    ]);

    // The host's file itself: one JSON line per run, oldest first, the same entries.
    const onDisk = parseAuditLog(onHost(`cat ${corner.appDir}/audit.log`));
    expect(onDisk.malformed).toEqual([]);
    expect(onDisk.entries).toEqual(entries);
    // who also prefixes each update message in the stack history.
    expect(report!.history.map((h) => h.message)).toEqual(expect.arrayContaining([`${who}: deploy v7`, `${who}: deploy v8`]));
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
