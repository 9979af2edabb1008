// Cancelling a run with a real signal to the driver's CLI, at the worst moments: mid-update,
// mid-watch, mid-rollback, and a second signal. Each run must end within the grace period
// with the host lock and the engine lock free and its outcome recorded; the next plain run
// converges. Also the driver's own deadline, and `status` of a stack that does not exist.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { repoRoot } from "../../automation/common/process.js";
import { ExitCode, type RunSummary } from "../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { unverifiedTag } from "../../automation/stages/releases.js";
import { releaseArgs, runDriverCli, type CliRun } from "../support/cli-run.js";
import { driverStack, type DriverStack } from "../support/driver.js";
import { clearCorner, get, onHost, target, testCorner } from "./components-support.js";

const corner = testCorner("signals", { backend: 18380, frontend: 18381 });
const stackName = `test-signals-${process.pid}`;
const quiet = { info: () => {}, warn: () => {} };
/** The CLI's grace period after the first signal (its default is 30 s). */
const graceSeconds = 30;
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;

function engineLocks(): string[] {
  try {
    return readdirSync(join(ds.dir, ".pulumi", "locks"), { recursive: true }).map(String).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
}

const hostLock = () => onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim();
const hostRecord = () => JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)) as { current: { id: string } | null; verified: { id: string } | null };

const runCli = (args: string[], when: (stderr: string) => boolean, signals: NodeJS.Signals[] = ["SIGTERM"], gapMs = 300) =>
  runDriverCli({ ds, stackName, graceSeconds }, args, when, signals, gapMs);

/** The end state every cancelled run must leave: both locks free, the outcome recorded. */
function expectCancelledCleanly(run: CliRun): void {
  const story = run.stderr.slice(-3000);
  expect(run.afterSignal, story).toBeGreaterThanOrEqual(0);
  expect(run.code, story).toBe(ExitCode.Cancelled);
  expect(run.afterSignal, story).toBeLessThan(graceSeconds);
  expect(hostLock(), story).toBe("free");
  expect(engineLocks(), story).toEqual([]);
  expect(run.report?.outcome, story).toBe("cancelled");
  expect(run.report?.exitCode).toBe(ExitCode.Cancelled);
}

beforeAll(async () => {
  clearCorner(corner);
  ds = await driverStack(stackName, quiet);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
  const first = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
  expect(first.outcome, first.messages.join(" ")).toBe("deployed-verified");
});

afterAll(async () => {
  clearCorner(corner);
  await ds?.cleanup();
});

describe("a signal reaches every stage", () => {
  it("SIGTERM mid-update: the engine stops after the step in flight, both locks are free, the next deploy converges", async () => {
    const images = target.releases.v1!;
    // The switch command is running on the host: interrupt it mid-flight.
    const run = await runCli(releaseArgs("v1-env2", images, "interrupted"), (e) => /switch (creating|updating)/.test(e));
    expectCancelledCleanly(run);
    expect(run.stderr).toMatch(/SIGTERM: cancelling/);
    expect(run.report?.lastStage).toBe("up");
    expect(run.report?.messages.join(" ")).toMatch(/The host runs now: release/);

    const next = await deploy({ ...base, releaseId: "v1-env2", images, env: { APP_ENV: "interrupted" } });
    expect(next.outcome, JSON.stringify(next.messages)).toBe("deployed-verified");
    expect(hostRecord().current?.id).toBe("v1-env2");
    expect(onHost(`cat ${corner.appDir}/.env`)).toMatch(/APP_ENV='?interrupted'?\n/);
  });

  it("SIGTERM mid-watch: the watch stops, the release stays live and is recorded unverified, both locks are free", async () => {
    const images = target.releases.v1!;
    const run = await runCli(releaseArgs("v1-watch", images, "watched"), (e) => /monitor: round 2 ok/.test(e));
    expectCancelledCleanly(run);
    expect(run.afterSignal).toBeLessThan(10);
    expect(run.report?.lastStage).toBe("monitor");
    expect(run.report?.monitor?.verdict).toMatchObject({ state: "failed", reason: "aborted" });
    expect(run.report?.messages.join(" ")).toMatch(/v1-watch stays live, recorded as unverified \("cancelled during the watch"\)/);
    // The host runs the unwatched release; it is not verified anywhere.
    expect(hostRecord().current?.id).toBe("v1-watch");
    expect(hostRecord().verified?.id).toBe("v1-env2");
    expect((await (await ds.engine()).tags())[unverifiedTag]).toMatch(/^v1-watch@\d+$/);
    expect((await get(corner.ports.backend, "/api/health")).status).toBe(200);
  });

  it("SIGTERM mid-rollback: the rollback's update is cancelled, the report says what runs, the next deploy converges", async () => {
    // v2 fails its watch; the automatic rollback to the last verified release starts.
    const run = await runCli(releaseArgs("v2", target.releases.v2!), (e) => {
      const at = e.indexOf("re-applying");
      return at >= 0 && /switch (creating|updating)/.test(e.slice(at));
    });
    expectCancelledCleanly(run);
    expect(run.report?.lastStage).toBe("rollback");
    const said = run.report?.messages.join(" ") ?? "";
    expect(said, said).toMatch(/the rollback to v1-env2 was cancelled/);
    expect(said).toMatch(/The host runs now: release \S+ \(last verified: v1-env2\); backend \S+ \w+/);

    const next = await deploy({ ...base, releaseId: "v1-after", images: target.releases.v1, env: { APP_ENV: "after" } });
    expect(next.outcome, JSON.stringify(next.messages)).toBe("deployed-verified");
    expect(hostRecord().current?.id).toBe("v1-after");
    expect(engineLocks()).toEqual([]);
  });

  it("a second signal exits at once, locks released", async () => {
    const images = target.releases.v1!;
    const run = await runCli(releaseArgs("v1-twice", images, "twice"), (e) => /switch (creating|updating)/.test(e), ["SIGTERM", "SIGTERM"]);
    expectCancelledCleanly(run);
    expect(run.stderr).toMatch(/second SIGTERM: releasing the locks and stopping the engine now/);
    expect(run.afterSignal).toBeLessThan(15);

    const next = await deploy({ ...base, releaseId: "v1-twice", images, env: { APP_ENV: "twice" } });
    expect(next.outcome, JSON.stringify(next.messages)).toBe("deployed-verified");
    expect(hostRecord().current?.id).toBe("v1-twice");
  });

  it("an update past the driver's deadline is cancelled, killed when it does not stop, and the next deploy converges", async () => {
    const images = target.releases.v1!;
    const started = Date.now();
    // The switch waits for the containers' healthchecks (several seconds): longer than the
    // 2 s deadline; remote commands are not interrupted by a cancel, so the kill after the
    // 1 s grace is what stops the engine.
    const late = await deploy({ ...base, releaseId: "v1-deadline", images, env: { APP_ENV: "deadline" }, upDeadlineMs: 2000, upGraceMs: 1000 });
    // The outcome is decided on the host, once the orphaned switch finished: still the previous
    // release (killed before the swap) -> up-failed; moved on -> the release failed and the
    // last verified one was brought back. Either way the host runs the last verified release.
    const said = JSON.stringify(late);
    expect(["up-failed", "rolled-back"], said).toContain(late.outcome);
    expect(said).toMatch(/did not finish within 2 s/);
    expect(late.up?.durationMs).toBeLessThan(10_000);
    expect(hostRecord().current?.id).toBe("v1-twice");
    // A bound, not a benchmark: far below an unbounded hang, with room for two e2e files at once on 2 cores.
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(hostLock()).toBe("free");

    const next = await deploy({ ...base, releaseId: "v1-deadline", images, env: { APP_ENV: "deadline" } });
    expect(next.outcome, JSON.stringify(next.messages)).toBe("deployed-verified");
    expect(engineLocks()).toEqual([]);
    expect(hostRecord().current?.id).toBe("v1-deadline");
  });
});

describe("stacks are selected, never created by accident", () => {
  it("status of a stack that does not exist exits 2, names the stacks that exist, and creates nothing", async () => {
    const stacksDir = join(ds.dir, ".pulumi", "stacks", "awareness");
    const before = readdirSync(stacksDir).sort();
    const child = spawn(join(repoRoot, "node_modules", ".bin", "tsx"), [join(repoRoot, "automation", "cli.ts"), "status", "--stack", "nosuch", "--report-dir", join(ds.dir, "r")], {
      cwd: repoRoot,
      // "nosuch" is no local stack name: its file backend needs the operator's explicit opt-in.
      env: { ...process.env, ...ds.envVars, PULUMI_BACKEND_URL: ds.backendUrl, AWARENESS_ALLOW_FILE_BACKEND: "1", AWARENESS_PROJECT_DIR: ds.dir, PULUMI_CONFIG_PASSPHRASE: "x" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    expect(code, stderr).toBe(ExitCode.Usage);
    expect(stderr).toMatch(new RegExp(`No stack "nosuch".*Stacks that exist: .*${stackName}`));
    expect(readdirSync(stacksDir).sort()).toEqual(before);
  });

  it("a real stack without shared state is refused before anything opens: exit 2, one message naming what to set", async () => {
    const child = spawn(join(repoRoot, "node_modules", ".bin", "tsx"), [join(repoRoot, "automation", "cli.ts"), "status", "--stack", "production", "--report-dir", join(ds.dir, "r")], {
      cwd: repoRoot,
      env: { ...process.env, ...ds.envVars, PULUMI_BACKEND_URL: "", PULUMI_ACCESS_TOKEN: "", AWARENESS_PROJECT_DIR: ds.dir, PULUMI_CONFIG_PASSPHRASE: "x" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    expect(code, stderr).toBe(ExitCode.Usage);
    expect(stderr).toMatch(/Stack "production" would keep its state in a file backend .*Set PULUMI_BACKEND_URL to shared durable state/);
  });
});
