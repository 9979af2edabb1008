// `--events ndjson` end to end: the real CLI as a subprocess, the real engine and sandbox host.
// stdout is read line by line as it arrives: the events must stream while the run goes (not
// come all at the end), in the order of the run, and end with the summary, whose exit code is
// the process's. Progress stays on stderr (plain lines: no terminal here).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../automation/common/process.js";
import type { RunEvent } from "../../automation/events/types.js";
import { ExitCode } from "../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { driverStack, type DriverStack } from "../support/driver.js";
import { clearCorner, get, onHost, target, testCorner } from "./components-support.js";

const corner = testCorner("events", { backend: 19480, frontend: 19481 });
const stackName = `test-events-${process.pid}`;
const endpoints = ["/api/health", "/api/docs", "/api/auth/status"];
let ds: DriverStack;

interface StreamedRun {
  code: number | null;
  stderr: string;
  /** Each stdout line as it arrived, with the time it did. */
  lines: { text: string; at: number }[];
  exitedAt: number;
}

function runCli(args: string[]): Promise<StreamedRun> {
  const child = spawn(join(repoRoot, "node_modules", ".bin", "tsx"), [join(repoRoot, "automation", "cli.ts"), ...args, "--stack", stackName, "--report-dir", join(ds.dir, "reports")], {
    cwd: repoRoot,
    env: { ...process.env, ...ds.envVars, PULUMI_BACKEND_URL: ds.backendUrl, AWARENESS_PROJECT_DIR: ds.dir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: StreamedRun["lines"] = [];
  createInterface({ input: child.stdout }).on("line", (text) => lines.push({ text, at: Date.now() }));
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr, lines, exitedAt: Date.now() })));
}

beforeAll(async () => {
  clearCorner(corner);
  ds = await driverStack(stackName, { info: () => {}, warn: () => {} });
  // A short watch: 3 rounds of 1 s (9 checks; one failed check tolerated).
  const monitor = { durationSeconds: 3, intervalSeconds: 1, consecutiveFailures: 3, successRate: 0.85 };
  await applySandboxStackConfig(await ds.engine(), target, "v1", { ...corner, overrides: { "awareness:monitor": monitor } });
});

afterAll(async () => {
  clearCorner(corner);
  await ds?.cleanup();
});

describe("deploy --events ndjson", () => {
  it("streams the run's events on stdout as they happen, and ends with the summary and the process's exit code", async () => {
    const images = Object.entries(target.releases.v1!).flatMap(([service, ref]) => ["--image", `${service}=${ref}`]);
    const run = await runCli(["deploy", "--release", "v1", ...images, "--skip-ci-check", "--allow-dirty", "--events", "ndjson"]);
    const story = run.stderr.slice(-3000);
    expect(run.code, story).toBe(ExitCode.Ok);

    // stdout holds events only, one JSON object a line, numbered in order.
    const events = run.lines.map((l) => JSON.parse(l.text) as RunEvent);
    expect(events.map((e) => [e.v, e.seq])).toEqual(events.map((_, i) => [1, i + 1]));
    const at = (pred: (e: RunEvent) => boolean) => {
      const i = events.findIndex(pred);
      expect(i, `no such event in ${events.map((e) => e.type).join(",")}`).toBeGreaterThanOrEqual(0);
      return i;
    };

    // Streamed: the first line came long before the process ended, and the watch's events
    // arrived a round apart, not in one burst at the end.
    expect(events[0]).toMatchObject({ type: "run-started", command: "deploy", stack: stackName, release: "v1" });
    const watchStarted = at((e) => e.type === "watch-started");
    const verdict = at((e) => e.type === "verdict");
    expect(run.lines[0]!.at).toBeLessThan(run.exitedAt - 2_000);
    expect(run.lines[verdict]!.at - run.lines[watchStarted]!.at).toBeGreaterThanOrEqual(1_500);

    // The stages in order, each ended before the next started; up, monitor and verdict among them.
    const stages = events.filter((e) => e.type === "stage-started").map((e) => (e as { stage: string }).stage);
    expect(stages.slice(-3)).toEqual(["up", "monitor", "verdict"]);
    expect(stages.slice(0, 2)).toEqual(["open stack", "config"]);
    for (const stage of ["up", "monitor", "verdict"]) {
      const started = at((e) => e.type === "stage-started" && e.stage === stage);
      const ended = at((e) => e.type === "stage-ended" && e.stage === stage);
      expect(ended).toBeGreaterThan(started);
      expect(events[ended]).toMatchObject({ ok: true, ms: expect.any(Number) });
    }

    // Every round probed every endpoint, and was judged after its probes.
    expect(events[watchStarted]).toMatchObject({ release: "v1", plannedRounds: 3, checksPerRound: 3, intervalMs: 1000 });
    const rounds = events.filter((e) => e.type === "round");
    expect(rounds.map((r) => [r.round, r.ok])).toEqual([[1, true], [2, true], [3, true]]);
    for (const round of [1, 2, 3]) {
      const probes = events.filter((e) => e.type === "probe" && e.round === round);
      expect(probes.map((p) => p.type === "probe" && [p.check, p.kind, p.ok, p.status])).toEqual(endpoints.map((e) => [e, "http", true, 200]));
      expect(events.findLastIndex((e) => e.type === "probe" && e.round === round)).toBeLessThan(at((e) => e.type === "round" && e.round === round));
    }
    expect(events[verdict]).toMatchObject({ release: "v1", state: "passed", early: false, round: 3, checks: 9, failedChecks: 0 });
    expect(verdict).toBeLessThan(at((e) => e.type === "stage-started" && e.stage === "verdict"));

    // The last line: the run ended, with the summary; its exit code is the process's.
    const last = events.at(-1)!;
    expect(last).toMatchObject({ type: "run-ended", outcome: "deployed-verified", exitCode: run.code, summary: { outcome: "deployed-verified", exitCode: run.code } });
    expect(events.filter((e) => e.type === "run-ended")).toHaveLength(1);
    // Secrets stay masked: the stack's SSH key never reaches stdout.
    const key = (await (await ds.engine()).getConfig())["awareness:sshPrivateKey"]!.value.split("\n")[1]!;
    expect(run.lines.map((l) => l.text).join("\n")).not.toContain(key);

    // The progress went to stderr as plain lines (no terminal here), and the host really runs v1.
    expect(run.stderr).toMatch(/^== monitor$/m);
    expect(run.stderr).toMatch(/^monitor: round 3 ok$/m);
    expect(JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`))).toMatchObject({ current: { id: "v1" }, verified: { id: "v1" } });
    expect((await get(corner.ports.backend, "/api/health")).status).toBe(200);
  });

  it("--events with --json, or an unknown format, is refused as usage (exit 2) before anything runs", async () => {
    const both = await runCli(["status", "--events", "ndjson", "--json"]);
    expect(both.code).toBe(ExitCode.Usage);
    expect(both.stderr).toContain("--events and --json both want stdout");
    expect(both.lines).toEqual([]);
    const unknown = await runCli(["status", "--events", "xml"]);
    expect(unknown.code).toBe(ExitCode.Usage);
    expect(unknown.stderr).toContain('--events: unknown format "xml"');
  });
});
