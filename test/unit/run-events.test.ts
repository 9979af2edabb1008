// The run's event stream: the order a (fake) deploy emits its events in, the plain lines made
// from them, the ndjson writer, the terminal display as pure functions and on a fake stream,
// and when the display is chosen. In-memory engine and host, fake clock: no waiting.
import { createHash } from "node:crypto";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { deploy } from "../../automation/commands/deploy.js";
import { command } from "../../automation/common/cli-args.js";
import { UsageError } from "../../automation/common/errors.js";
import { inStage, RunEvents } from "../../automation/events/emitter.js";
import { CliOutput, ndjsonSink, outputChoice } from "../../automation/events/output.js";
import { chooseProgress, ProgressDisplay } from "../../automation/events/progress-display.js";
import { emptyView, foldEvent, renderView } from "../../automation/events/progress-view.js";
import type { RunEvent, RunEventBody } from "../../automation/events/types.js";
import type { Prober } from "../../automation/monitor/probers.js";
import { newSummary, conclude } from "../../automation/report/summary.js";
import { sandboxStackConfig, type SandboxTarget } from "../../automation/sandbox/target.js";
import { fakeClock } from "../support/fake-clock.js";
import { fakeDeps, FakeStack } from "../support/fake-engine.js";
import { FakeHost } from "../support/fake-host.js";

const hex = (s: string) => createHash("sha256").update(s).digest("hex");
const imagesOf = (id: string) => ({
  backend: `registry.test:5000/awareness-backend@sha256:${hex(`backend ${id}`)}`,
  frontend: `registry.test:5000/awareness-frontend@sha256:${hex(`frontend ${id}`)}`,
});
const endpoints = ["/api/health", "/api/docs", "/api/auth/status"];

/** A stack on an in-memory host whose probes fail while it runs v2; deploys with the given outputs. */
function fakeWorld() {
  const target: SandboxTarget = {
    ssh: { host: "10.0.0.5", port: 22, user: "deploy", privateKeyPath: "/dev/null", hostPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHFakeHostKeyForUnitTestsOnly0123456789abc t1", knownHostsPath: "/dev/null" },
    registry: "registry.test:5000",
    appDir: "/opt/awareness",
    composeCommands: ["docker compose"],
    app: { baseUrl: "http://127.0.0.1:18080", ports: { backend: 18080, frontend: 18081 } },
    releases: { v1: imagesOf("v1"), v2: imagesOf("v2") },
    tags: {},
  };
  const config = sandboxStackConfig(target, "v1", {});
  config["awareness:sshPrivateKey"] = { value: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n", secret: true };
  const clock = fakeClock();
  const host = new FakeHost({ now: () => clock.now() });
  const stack = new FakeStack("sandbox", config, { host });
  const prober: Prober = {
    async probe(round) {
      const ok = host.currentId !== "v2";
      return endpoints.map((endpoint) => ({ round, endpoint, startedAt: clock.now(), ok, latencyMs: 12, ...(ok ? { status: 200 } : { status: 503, error: "HTTP 503" }) }));
    },
  };
  const deps = fakeDeps({ stack, host, clock, prober: () => prober, ciStatus: async () => ({ state: "success", runUrl: "https://ci.test/runs/1" }) });
  return (id: string, outputs: { events?: RunEvents; log?: { info(l: string): void; warn(l: string): void } }) =>
    deploy({ stackName: "sandbox", deps, releaseId: id, gitSha: hex(id).slice(0, 40), images: imagesOf(id), ...outputs });
}

function recorded(): { events: RunEvents; seen: RunEvent[] } {
  const events = new RunEvents();
  const seen: RunEvent[] = [];
  events.on((e) => seen.push(e));
  return { events, seen };
}

const indexOf = (seen: RunEvent[], pred: (e: RunEvent) => boolean, from = 0) => {
  const i = seen.findIndex((e, n) => n >= from && pred(e));
  expect(i, "event not found").toBeGreaterThanOrEqual(0);
  return i;
};

describe("the event sequence of a run", () => {
  it("a deploy that fails its watch and rolls back: started, stages, probes, rounds, verdict, rollback, ended, in that order", async () => {
    const run = fakeWorld();
    expect((await run("v1", {})).outcome).toBe("deployed-verified");
    const { events, seen } = recorded();
    const summary = await run("v2", { events });
    events.end(summary);

    expect(seen.every((e, i) => e.v === 1 && e.seq === i + 1)).toBe(true);
    expect(seen[0]).toMatchObject({ type: "run-started", command: "deploy", stack: "sandbox", release: "v2" });
    expect((seen[0] as { actor: string }).actor).toMatch(/\S/);
    expect(seen.at(-1)).toMatchObject({ type: "run-ended", outcome: "rolled-back", exitCode: summary.exitCode, summary: { outcome: "rolled-back" } });

    // Each stage is started, then ended, before the next starts.
    const stageEvents = seen.filter((e) => e.type === "stage-started" || e.type === "stage-ended");
    const started = stageEvents.filter((e) => e.type === "stage-started").map((e) => (e as { stage: string }).stage);
    expect(stageEvents.map((e) => (e as { stage: string }).stage)).toEqual(started.flatMap((s) => [s, s]));
    expect(started.slice(-4)).toEqual(["up", "monitor", "verdict", "rollback"]);
    expect(stageEvents.at(-1)).toMatchObject({ type: "stage-ended", stage: "rollback", ok: true, endsRun: true });

    const monitor = indexOf(seen, (e) => e.type === "stage-started" && e.stage === "monitor");
    const watch = indexOf(seen, (e) => e.type === "watch-started", monitor);
    expect(seen[watch]).toMatchObject({ release: "v2", plannedRounds: 8, checksPerRound: 3, allowedFailedChecks: 1, tolerance: "fails after 3 bad rounds in a row or 2 failed checks of 24" });
    const probes = seen.slice(watch + 1, watch + 4);
    expect(probes.map((p) => p.type === "probe" && [p.round, p.check, p.kind, p.ok, p.status])).toEqual(endpoints.map((e) => [1, e, "http", false, 503]));
    expect(seen[watch + 4]).toMatchObject({ type: "round", round: 1, ok: false, failed: 3, checks: 3, failedChecks: 3, consecutiveFailures: 1, verdict: "failed" });
    expect(seen[watch + 5]).toMatchObject({ type: "verdict", release: "v2", state: "failed", reason: "success-rate", early: true, round: 1 });
    expect(seen[watch + 6]).toMatchObject({ type: "stage-ended", stage: "monitor" });

    const rollback = indexOf(seen, (e) => e.type === "rollback-started");
    expect(seen[rollback]).toMatchObject({ to: "v1", reason: expect.stringContaining("v2 failed its health check") });
    const second = indexOf(seen, (e) => e.type === "watch-started", rollback);
    expect(seen[second]).toMatchObject({ release: "v1" });
    const passed = indexOf(seen, (e) => e.type === "verdict", second);
    expect(seen[passed]).toMatchObject({ release: "v1", state: "passed", early: false, round: 8, rounds: 8, failedChecks: 0 });
    expect(seen.filter((e, i) => i > second && i < passed && e.type === "round")).toHaveLength(8);
    expect(seen[indexOf(seen, (e) => e.type === "rollback-ended", passed)]).toMatchObject({ to: "v1", ok: true });
  });

  it("the plain lines (a logger without a stream, CI's stderr) are written from the same events, as before", async () => {
    const run = fakeWorld();
    await run("v1", {});
    const lines: string[] = [];
    await run("v2", { log: { info: (l) => lines.push(l), warn: (l) => lines.push(`warning: ${l}`) } });
    expect(lines.filter((l) => l.startsWith("== ")).slice(-5)).toEqual(["== up", "== monitor", "== verdict", "== rollback", "== rollback to v1"]);
    expect(lines).toContain("monitor: watching v2 for 4 s, a round every 0.5 s of 3 endpoints (fails after 3 bad rounds in a row or 2 failed checks of 24)");
    expect(lines).toContain("monitor: round 1 FAILED (/api/health: HTTP 503; /api/docs: HTTP 503; /api/auth/status: HTTP 503)");
    expect(lines.find((l) => l.startsWith("monitor: FAILED: "))).toMatch(/\(0\/1 rounds ok, 0\/3 checks, 0 %\)$/);
    expect(lines).toContain("monitor: PASSED (8/8 rounds ok, 24/24 checks, 100 %)");
    expect(lines.find((l) => l.startsWith("  re-applying v1 (config of update "))).toMatch(/: automatic: v2 failed its health check/);
  });
});

describe("--events ndjson", () => {
  it("writes one JSON line per event as it is emitted, the secrets masked, the summary last", () => {
    const chunks: string[] = [];
    const events = new RunEvents(() => new Date(Date.UTC(2026, 0, 1)));
    const secrets = ["hunter2-token"];
    events.maskWith(secrets);
    events.on(ndjsonSink({ write: (c) => chunks.push(c) > 0 }));
    events.info("line one\nline two");
    expect(chunks).toHaveLength(1); // written at once, not at the end
    secrets.push("learnt-later-secret"); // a secret the run learns from the stack config
    events.warn("the token hunter2-token and learnt-later-secret leaked");
    const summary = newSummary("deploy", "sandbox");
    conclude(summary, "deployed-verified", "v2 is live (learnt-later-secret)");
    events.end(summary);

    expect(chunks.every((c) => c.endsWith("\n") && c.indexOf("\n") === c.length - 1)).toBe(true);
    const parsed = chunks.map((c) => JSON.parse(c) as RunEvent);
    expect(parsed[0]).toEqual({ v: 1, seq: 1, at: "2026-01-01T00:00:00.000Z", type: "notice", level: "info", message: "line one\nline two" });
    expect(parsed[1]).toMatchObject({ type: "notice", level: "warning", message: "the token *** and *** leaked" });
    expect(parsed[2]).toMatchObject({ type: "run-ended", outcome: "deployed-verified", exitCode: 0, headline: expect.any(String), summary: { messages: ["v2 is live (***)"] } });
    expect(chunks.join("")).not.toMatch(/hunter2|learnt-later/);
  });

  it("a stage that throws still ends (ok: false, it ends the run), timed", async () => {
    const { events, seen } = recorded();
    await expect(inStage(events, "up", async () => Promise.reject(new Error("engine died")))).rejects.toThrow("engine died");
    await inStage(events, "config", async () => undefined);
    expect(seen.map((e) => e.type === "stage-ended" && [e.stage, e.ok, e.endsRun, typeof e.ms])).toEqual([false, ["up", false, true, "number"], false, ["config", true, false, "number"]]);
  });

  it("a sink that cannot write does not stop the others (or the run)", () => {
    const events = new RunEvents();
    const seen: string[] = [];
    events.on(() => {
      throw new Error("EPIPE");
    });
    events.on((e) => seen.push(e.type));
    events.info("still here");
    expect(seen).toEqual(["notice"]);
  });

  it("a bad format, --events with --json, or a bad --progress is a usage error before anything runs", () => {
    expect(() => outputChoice({ events: "xml" }, {}, {})).toThrow(new UsageError('--events: unknown format "xml" (known: ndjson)'));
    expect(() => outputChoice({ events: "ndjson", json: true }, {}, {})).toThrow(UsageError);
    expect(() => outputChoice({ progress: "loud" }, {}, {})).toThrow(/--progress: expected plain, fancy or auto/);
    expect(outputChoice({ events: "ndjson" }, { isTTY: false }, {})).toEqual({ ndjson: true, progress: "plain" });
  });

  it("every command takes --events and --progress; with --events stdout carries only events, a command's printed result goes to stderr", () => {
    const o = command("status", "").parse(["--events", "ndjson", "--progress", "plain"], { from: "user" }).opts();
    expect(o).toMatchObject({ events: "ndjson", progress: "plain" });
    const stdout: string[] = [];
    const stderr: string[] = [];
    const output = new CliOutput({ stdout: { write: (c) => stdout.push(c) > 0 }, stderr: { write: (c) => stderr.push(c) > 0, isTTY: false } });
    output.configure(o, {});
    output.events.info("progress");
    output.print("the status report\n");
    output.end(newSummary("status", "sandbox"));
    expect(stdout.map((l) => (JSON.parse(l) as RunEvent).type)).toEqual(["notice", "run-ended"]);
    expect(stderr).toEqual(["progress\n", "the status report\n"]);
  });
});

// ---- the display ----

let seq = 0;
const ev = (body: RunEventBody): RunEvent => ({ v: 1, seq: ++seq, at: "2026-01-01T00:00:00.000Z", ...body }) as RunEvent;
const plan: RunEventBody = {
  type: "watch-started",
  release: "v2",
  durationMs: 300_000,
  intervalMs: 30_000,
  plannedRounds: 10,
  checksPerRound: 3,
  checksText: "3 endpoints",
  consecutiveFailures: 3,
  allowedFailedChecks: 1,
  plannedChecks: 30,
  tolerance: "fails after 3 bad rounds in a row or 2 failed checks of 30",
};
const round = (n: number, ok: boolean, failedChecks: number, streak: number): RunEventBody => ({
  type: "round",
  round: n,
  ok,
  failures: ok ? [] : ["/api/health: HTTP 503"],
  passed: ok ? 3 : 2,
  failed: ok ? 0 : 1,
  checks: n * 3,
  failedChecks,
  successRate: 1 - failedChecks / (n * 3),
  consecutiveFailures: streak,
  verdict: "watching",
});

describe("the progress display", () => {
  const fold = (bodies: RunEventBody[], at: (i: number) => number) => bodies.reduce((view, b, i) => foldEvent(view, ev(b), at(i)), emptyView());

  it("renders finished stages with their times, the running one with the spinner, and the watch's rounds and what it still tolerates", () => {
    const view = fold(
      [
        { type: "stage-started", stage: "precheck" },
        { type: "stage-ended", stage: "precheck", ms: 1234, ok: true, endsRun: false },
        { type: "stage-started", stage: "monitor" },
        plan,
        round(1, true, 0, 0),
        round(2, true, 0, 0),
        round(3, true, 0, 0),
        round(4, false, 1, 1),
        { type: "notice", level: "info", message: "  a detail of the running stage" },
      ],
      () => 10_000,
    );
    expect(renderView(view, 13_000, "⠋")).toEqual([
      "stage ✓ precheck 1.2s",
      "stage ⠋ monitor 3.0s",
      "watch v2 round 4/10 ✓✓✓✗ · 11/12 checks ok · fails after 1 more failed check or 2 bad rounds in a row",
      "  a detail of the running stage",
    ]);
    // Narrow terminals get cut lines, never wrapped ones.
    expect(renderView(view, 13_000, "⠋", 20).every((l) => l.length <= 20)).toBe(true);
  });

  it("renders the verdict (early or at the end) and the rollback", () => {
    const view = fold(
      [
        { type: "stage-started", stage: "monitor" },
        plan,
        round(1, false, 1, 1),
        round(2, false, 2, 2),
        { type: "verdict", release: "v2", state: "failed", reason: "success-rate", detail: "the rate can no longer be met", early: true, round: 2, rounds: 2, failedRounds: 2, checks: 6, failedChecks: 2, successRate: 4 / 6 },
        { type: "stage-ended", stage: "monitor", ms: 60_500, ok: true, endsRun: false },
        { type: "stage-started", stage: "rollback" },
        { type: "rollback-started", to: "v1", how: "config of update 3", reason: "automatic" },
      ],
      () => 0,
    );
    expect(renderView(view, 2_000, "⠙")).toEqual([
      "stage ✓ monitor 1m01s",
      "stage ⠙ rollback 2.0s",
      "watch v2 round 2/10 ✗✗ · 4/6 checks ok · ✗ failed (early, at round 2): the rate can no longer be met",
      "rollback ⠙ to v1",
    ]);
  });

  it("on a stream (no terminal needed): warnings stay above the live area, the final frame and the lines after the stages stay", () => {
    const writes: string[] = [];
    let now = 0;
    const display = new ProgressDisplay({ write: (c) => writes.push(c) > 0, columns: 100, rows: 30 }, () => now);
    const feed = (b: RunEventBody) => display.sink(ev(b));
    feed({ type: "stage-started", stage: "lock" });
    feed({ type: "notice", level: "warning", message: "the lock was stale: broken" });
    now = 700;
    feed({ type: "stage-ended", stage: "lock", ms: 700, ok: true, endsRun: false });
    feed({ type: "notice", level: "info", message: "✅ deploy v2 on sandbox: deployed and verified" });
    feed({ type: "run-ended", outcome: "deployed-verified", exitCode: 0, headline: "deployed and verified", summary: newSummary("deploy", "sandbox") });
    const screen = stripVTControlCharacters(writes.join(""));
    expect(screen).toContain("warning: the lock was stale: broken\n");
    const final = screen.lastIndexOf("stage ✓ lock 0.7s");
    expect(final).toBeGreaterThan(screen.indexOf("warning: the lock was stale"));
    expect(screen.indexOf("✅ deploy v2 on sandbox: deployed and verified\n")).toBeGreaterThan(final);
  });

  it("a command's printed result (stdout, the same screen) comes below the finished area, never inside it", () => {
    const screen: string[] = [];
    const write = (c: string) => screen.push(c) > 0;
    const output = new CliOutput({ stdout: { write }, stderr: { write, isTTY: true, columns: 80, rows: 24 } });
    output.configure({}, {});
    output.events.emit({ type: "stage-started", stage: "status" });
    output.events.emit({ type: "stage-ended", stage: "status", ms: 300, ok: true, endsRun: false });
    output.print("live: v2 (verified)\n");
    output.end(newSummary("status", "sandbox"));
    expect(stripVTControlCharacters(screen.join(""))).toMatch(/stage ✓ status 0\.3s\n?live: v2 \(verified\)\n$/);
    // Nothing is drawn after it (a redraw would move the cursor up into the printed text).
    expect(screen.at(-1)).toBe("live: v2 (verified)\n");
  });

  it("auto is in place only on a terminal outside CI; plain and fancy force it", () => {
    expect(chooseProgress("auto", { isTTY: true }, {})).toBe("fancy");
    expect(chooseProgress("auto", { isTTY: false }, {})).toBe("plain");
    expect(chooseProgress("auto", { isTTY: undefined }, {})).toBe("plain");
    expect(chooseProgress("auto", { isTTY: true }, { CI: "true" })).toBe("plain");
    expect(chooseProgress("auto", { isTTY: true }, { GITHUB_ACTIONS: "true" })).toBe("plain");
    expect(chooseProgress("auto", { isTTY: true }, { TERM: "dumb" })).toBe("plain");
    expect(chooseProgress("fancy", { isTTY: false }, { CI: "true" })).toBe("fancy");
    expect(chooseProgress("plain", { isTTY: true }, {})).toBe("plain");
  });
});
