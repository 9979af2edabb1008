// The driver on shared durable state as a GitHub runner has it: the real CLI and engine, state in
// an S3 bucket (moto's S3 API on loopback, started here), GITHUB_ACTIONS=true. A file backend is
// refused there; S3 is accepted, and deploys and a rollback by hand work on it, the engine's
// update lock included (a rollback by itself on S3: runner-workflows.test.ts). Each step looks at the bucket and at the host.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../automation/common/process.js";
import { ExitCode } from "../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { releaseOf, verifiedReleases } from "../../automation/stages/releases.js";
import { engineLocks, type EngineLockFile } from "../../automation/toolchain/engine-locks.js";
import { driverStack, type DriverStack, e2eLog } from "../support/driver.js";
import { startS3Backend, type S3Backend } from "../support/s3-backend.js";
import { clearCorner, get, onHost, runningOnHost, target, testCorner } from "./components-support.js";

const corner = testCorner("s3", { backend: 19780, frontend: 19781 });
const stackName = `test-s3-${process.pid}`;
const log = e2eLog("e2e-s3-backend");
const lockPrefix = `.pulumi/locks/organization/awareness/${stackName}/`;
let s3: S3Backend;
let ds: DriverStack;

interface CliRun {
  code: number | null;
  stderr: string;
}

/** The driver's CLI as a runner step runs it: GITHUB_ACTIONS=true, the backend in PULUMI_BACKEND_URL. */
function cli(args: string[], backendUrl: string, whileRunning?: () => Promise<void>): Promise<CliRun> {
  const child = spawn(join(repoRoot, "node_modules", ".bin", "tsx"), [join(repoRoot, "automation", "cli.ts"), ...args, "--stack", stackName, "--report-dir", join(ds.dir, "reports")], {
    cwd: repoRoot,
    env: { ...process.env, ...ds.envVars, GITHUB_ACTIONS: "true", PULUMI_BACKEND_URL: backendUrl, AWARENESS_PROJECT_DIR: ds.dir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    log.info(d.toString().trimEnd());
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return (async () => {
    let done = false;
    const watching = whileRunning ? (async () => { while (!done) await whileRunning(); })() : undefined;
    const code = await exited;
    done = true;
    await watching;
    return { code, stderr };
  })();
}

const deployArgs = (id: string) => [
  "deploy", "--release", id, "--skip-ci-check", "--allow-dirty",
  ...Object.entries(target.releases[id]!).flatMap(([service, ref]) => ["--image", `${service}=${ref}`]),
];

/** What the host runs is exactly release `id`: its record, its containers, what the app answers. */
async function expectHostRuns(id: string): Promise<void> {
  const record = JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)) as { current: { id: string; images: Record<string, string> } };
  expect(record.current).toMatchObject({ id, images: target.releases[id] });
  const running = runningOnHost(corner.composeProject);
  expect(running.backend).toMatchObject({ image: target.releases[id]!.backend, state: "running" });
  expect(running.frontend).toMatchObject({ image: target.releases[id]!.frontend, state: "running" });
  const answer = await get(corner.ports.backend, "/api/version");
  expect(JSON.parse(answer.body)).toMatchObject({ version: id });
}

/** What the state in the bucket says was applied last (the newest successful update's release). */
async function releaseInState(): Promise<string | undefined> {
  const history = await (await ds.engine()).history();
  const last = history.filter((u) => u.result === "succeeded").sort((a, b) => b.version - a.version)[0];
  return last ? releaseOf(last)?.id : undefined;
}

/** A lock object as the CLI writes it, of `holder`, at a new key under the stack's lock prefix. */
async function plantLock(holder: EngineLockFile): Promise<string> {
  const key = `${lockPrefix}planted-${Date.now()}.json`;
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: JSON.stringify(holder) }));
  return key;
}

/** The update lock seen in the bucket while a run held it (filled by the first deploy). */
let seenLock: EngineLockFile | undefined;

beforeAll(async () => {
  clearCorner(corner);
  s3 = await startS3Backend({ port: 19790 });
  // This process reads the bucket too (the engine's lock check when a stack is opened here), as the CLI does.
  Object.assign(process.env, s3.env);
  ds = await driverStack(stackName, log, { backendUrl: s3.url, envVars: s3.env });
  await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
});

afterAll(async () => {
  clearCorner(corner);
  await ds?.cleanup();
  await s3?.stop();
});

describe("state in S3, on a GitHub runner", () => {
  it("a file backend is refused under GITHUB_ACTIONS, even for a throwaway test stack: exit 2, one message, nothing written", async () => {
    const state = join(ds.dir, "runner-disk");
    const run = await cli(deployArgs("v1"), `file://${state}`);
    expect(run.code, run.stderr).toBe(ExitCode.Usage);
    expect(run.stderr).toMatch(new RegExp(`Stack "${stackName}" would keep its state in a file backend \\(file://${state}\\) on this GitHub runner, whose disk is gone after the job`));
    expect(run.stderr).toContain("Set PULUMI_BACKEND_URL to shared durable state (s3://…, azblob://…, gs://…)");
    expect(existsSync(state)).toBe(false);
    expect(onHost(`test -e ${corner.appDir}/deployment.json && echo yes || echo no`).trim()).toBe("no");
  });

  it("v1 deploys on S3: verified; the stack, its history and its update lock (while it ran) are objects in the bucket", async () => {
    const run = await cli(deployArgs("v1"), s3.url, async () => {
      const locks = await engineLocks({ backendUrl: s3.url, stackName });
      seenLock ??= locks[0];
      await new Promise((r) => setTimeout(r, 50));
    });
    expect(run.code, run.stderr.slice(-3000)).toBe(ExitCode.Ok);
    await expectHostRuns("v1");
    expect(await releaseInState()).toBe("v1");
    expect((await verifiedReleases(await ds.engine())).map((v) => v.id)).toEqual(["v1"]);

    const keys = await s3.keys();
    expect(keys).toContain(`.pulumi/stacks/awareness/${stackName}.json`);
    expect(keys.filter((k) => k.startsWith(`.pulumi/history/awareness/${stackName}/`) && k.endsWith(".history.json")).length).toBeGreaterThan(0);
    // The engine held its update lock in the bucket while it ran (this machine, the CLI's pid) and released it.
    expect(seenLock, "no update lock was seen in the bucket during the deploy").toMatchObject({ hostname: hostname() });
    expect(await s3.keys(lockPrefix)).toEqual([]);
  });

  it("a second release (v7) deploys on S3 and is verified", async () => {
    const before = (await s3.keys(`.pulumi/history/awareness/${stackName}/`)).length;
    const run = await cli(deployArgs("v7"), s3.url);
    expect(run.code, run.stderr.slice(-3000)).toBe(ExitCode.Ok);
    await expectHostRuns("v7");
    expect(await releaseInState()).toBe("v7");
    expect((await verifiedReleases(await ds.engine())).map((v) => v.id)).toEqual(["v7", "v1"]);
    expect((await s3.keys(`.pulumi/history/awareness/${stackName}/`)).length).toBeGreaterThan(before);
  });

  it("another machine's update lock in the bucket is respected: exit 6, the host unchanged, the lock left alone", async () => {
    const key = await plantLock({ ...seenLock!, hostname: "runner-elsewhere", pid: 4242 });
    try {
      const run = await cli(deployArgs("v2"), s3.url);
      expect(run.code, run.stderr.slice(-3000)).toBe(ExitCode.LockHeld);
      expect(run.stderr).toContain("Another update of this stack is running (the engine's update lock)");
      await expectHostRuns("v7");
      expect(await s3.keys(lockPrefix)).toEqual([key]);
    } finally {
      await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    }
  });

  it("a rollback by hand clears a dead local run's update lock in the bucket and puts v1 back", async () => {
    const deadPid = spawnSync("true").pid!;
    const key = await plantLock({ ...seenLock!, pid: deadPid });
    const body = await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToString();
    expect(JSON.parse(body)).toMatchObject({ hostname: hostname(), pid: deadPid });

    const run = await cli(["rollback", "--reason", "v7 docs flaky", "--confirm", "ROLLBACK", "--to", "v1"], s3.url);
    expect(run.code, run.stderr.slice(-3000)).toBe(ExitCode.Ok);
    expect(run.stderr).toContain(`cleared a stale engine lock of stack ${stackName} left by pid ${deadPid}`);
    expect(await s3.keys(lockPrefix)).toEqual([]);
    await expectHostRuns("v1");
    expect(await releaseInState()).toBe("v1");
  });
  // A broken release rolling back by itself on S3: runner-workflows.test.ts (staging, through CI/CD).
});
