// The committed workflows run by the runner harness (test/runner) as GitHub runs them, against
// the sandbox, with the stacks' state in the local S3 backend, from a user's repository wired to
// two sandbox corners (staging, production): pushes to main run the whole CI/CD workflow (tests,
// image build and push, staging, then production once approved); the status workflow reports;
// rollback.yml runs in a separate run from a separate clone; a deploy job is cancelled
// mid-monitor. Each run's job and step outcomes go to .reports/runner-workflows.json; the steps'
// output to .reports/runner-workflows.log.
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../automation/common/process.js";
import * as hc from "../../components/host-commands/index.js";
import type { JobRecord } from "../runner/types.js";
import { flattenJobs, type WorkflowRunRecord } from "../runner/workflow-run.js";
import { startS3Backend, type S3Backend } from "../support/s3-backend.js";
import { commitChange, editStackSettings, runUserJob, runUserWorkflow, wireUserRepo, type UserRepo, type WiredStack } from "../support/runner-e2e.js";
import { stepOutcomes } from "../support/workflow-fixture.js";
import { clearCorner, get, onHost, target, testCorner } from "./components-support.js";

const production: WiredStack = { stack: "production", corner: testCorner("runner-workflows", { backend: 19880, frontend: 19881 }), passphrase: "runner-e2e-production" };
const staging: WiredStack = { stack: "staging", corner: testCorner("runner-staging", { backend: 19883, frontend: 19884 }), passphrase: "runner-e2e-staging" };
const logFile = join(repoRoot, ".reports", "runner-workflows.log");
const recorded: Record<string, unknown> = {};
let s3: S3Backend;
let repo: UserRepo;
/** The repository after the first push (its release is what production runs afterwards). */
let firstPush: UserRepo;
/** The repository with production's monitor lengthened to 20 s (set by the cancel test). */
let longerMonitor: UserRepo;

const layoutOf = (wired: WiredStack): hc.HostLayout => ({ appDir: wired.corner.appDir, composeProject: wired.corner.composeProject, composeCommand: "docker compose" });
const hostLock = () => onHost(`test -d ${production.corner.appDir}/.deploy-lock && echo held || echo free`).trim();
const hostStatus = (wired: WiredStack = production) => hc.parseDeploymentStatus(onHost(hc.readDeploymentStatus(layoutOf(wired))), "the sandbox");
const liveVersion = async (wired: WiredStack = production) => {
  const r = await get(wired.corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : "down";
};
const push = { name: "push", ref: "refs/heads/main" };
const pushEvent = (at: UserRepo) => ({ ...push, payload: { ref: push.ref, after: at.sha } });
/** The user's commit of a backend change: the version the app reports, and its behaviour. */
const backendChange = (version: string, behaviour = "healthy") => ({
  "app/backend/Dockerfile": (old: string) => old.replace(/^ARG APP_VERSION=.*$/m, `ARG APP_VERSION=${version}`).replace(/^ARG BEHAVIOUR=.*$/m, `ARG BEHAVIOUR=${behaviour}`),
});

/** deploy.yml's deploy job as CI/CD calls it (its verify-ci passed, no approval job), for a sandbox backend image. */
const deployJob = (release: string, signal?: AbortSignal, from: UserRepo = repo) =>
  runUserJob(from, logFile, {
    ...(signal ? { signal } : {}),
    workflow: ".github/workflows/deploy.yml",
    job: "deploy",
    callerWorkflowName: "CI/CD",
    event: pushEvent(from),
    inputs: { environment: "production", release, images: `backend=${target.releases[release]!.backend}`, "require-approval": false },
    needs: { "verify-ci": { result: "success" }, approval: { result: "skipped" } },
    approvals: { production: true },
  });

/**
 * SIGKILL to the process group of every process working in `dir` (the step's shell, npx, the
 * driver; the engine and its plugins are in the same group): how many groups were killed.
 */
function killStepGroups(dir: string): number {
  const groups = new Set<number>();
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)) continue;
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      groups.add(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]));
    } catch {
      // gone already
    }
  }
  for (const group of groups) process.kill(-group, "SIGKILL");
  return groups.size;
}

const jobResults = (run: WorkflowRunRecord) => Object.fromEntries(Object.entries(flattenJobs(run)).map(([id, job]) => [id, job.result]));
const job = (run: WorkflowRunRecord, id: string) => flattenJobs(run)[id] as JobRecord;

function record(name: string, run: JobRecord | WorkflowRunRecord): void {
  const steps = (j: JobRecord) => ({ result: j.result, error: j.error, steps: j.steps.map((s) => ({ name: s.name, outcome: s.outcome, error: s.error })), summary: j.summary });
  recorded[name] = "workflowName" in run ? Object.fromEntries(Object.entries(flattenJobs(run)).map(([id, j]) => [id, "steps" in j ? steps(j) : j])) : steps(run);
  writeFileSync(join(repoRoot, ".reports", "runner-workflows.json"), JSON.stringify(recorded, null, 2));
}
const shown = (name: string) => JSON.stringify(recorded[name], null, 1);

beforeAll(async () => {
  for (const wired of [production, staging]) clearCorner(wired.corner);
  mkdirSync(join(repoRoot, ".reports"), { recursive: true });
  writeFileSync(logFile, "");
  s3 = await startS3Backend({ port: 19882 });
  repo = await wireUserRepo(s3, target, [production, staging]);
});

afterAll(async () => {
  for (const wired of [production, staging]) clearCorner(wired.corner);
  await s3?.stop();
});

describe("committed workflows under the runner harness", () => {
  it("a push to main runs CI/CD: install and test, build and push the backend, deploy its digest to staging, then to production once approved", async () => {
    firstPush = commitChange(repo, backendChange("2026.11.28-1"), "Backend 2026.11.28-1");
    const run = await runUserWorkflow(firstPush, logFile, { workflow: ".github/workflows/ci-cd.yml", event: pushEvent(firstPush), approvals: { production: true } });
    record("push 1: CI/CD", run);
    expect(jobResults(run), shown("push 1: CI/CD")).toEqual({
      test: "success",
      preview: "skipped",
      build: "success",
      "deploy-staging": "success",
      "deploy-staging/verify-ci": "success",
      "deploy-staging/approval": "skipped",
      "deploy-staging/deploy": "success",
      "deploy-production": "success",
      "deploy-production/verify-ci": "success",
      "deploy-production/approval": "skipped",
      "deploy-production/deploy": "success",
    });
    expect(run.result).toBe("success");
    const images = job(run, "build").outputs.images!;
    const backendRef = `${target.registry}/octo/awareness/backend@`;
    expect(images).toMatch(new RegExp(`^backend=${backendRef.replace(/[./]/g, "\\$&")}sha256:[0-9a-f]{64}$`));
    expect(job(run, "deploy-staging/deploy").summary).toContain("**Deploy to staging:** exit 0");
    expect(job(run, "deploy-production/deploy").summary).toContain("**Deploy to production:** exit 0");
    // The driver's own report in the job summary, with where its time went, stage by stage.
    expect(job(run, "deploy-production/deploy").summary).toMatch(/### Stages[\s\S]*\| preview \| [\d.]+ m?s \|[\s\S]*\| monitor \| [\d.]+ m?s \|/);
    // The same digest on both hosts, the release named by the commit; the state of both stacks in the bucket.
    for (const wired of [staging, production]) {
      expect(hostStatus(wired)?.current, wired.stack).toMatchObject({ id: firstPush.sha, images: { backend: images.slice("backend=".length) } });
      expect(await liveVersion(wired), wired.stack).toBe("2026.11.28-1");
    }
    const stacks = (await s3.keys(".pulumi/stacks/")).join(" ");
    expect(stacks).toMatch(/production/);
    expect(stacks).toMatch(/staging/);
  });

  it("deployment-status.yml (dispatched for production): its environments job picks production, the matrix job reports the stack from S3", async () => {
    const dispatch = { event: { name: "workflow_dispatch", ref: "refs/heads/main" }, inputs: { environment: "production" } };
    const pick = await runUserJob(firstPush, logFile, { workflow: ".github/workflows/deployment-status.yml", job: "environments", ...dispatch });
    record("status environments", pick);
    expect(pick.result, shown("status environments")).toBe("success");
    const list = pick.outputs.list!;
    expect(JSON.parse(list)).toEqual(["production"]);
    // GitHub runs each matrix combination as a job of its own: here the one the list names.
    const run = await runUserJob(firstPush, logFile, {
      workflow: ".github/workflows/deployment-status.yml",
      job: "status",
      ...dispatch,
      needs: { environments: { result: "success", outputs: { list } } },
      matrix: { environment: "production" },
    });
    record("status", run);
    expect(run.result, shown("status")).toBe("success");
    expect(run.environment).toBe("production-status");
    expect(run.summary).toContain("## Deployment status: production");
    expect(run.summary).toContain(firstPush.sha);
  });

  it("a broken backend pushed next: staging rolls back by itself (exit 4), production is never deployed", async () => {
    const broken = commitChange(firstPush, backendChange("2026.11.28-2", "broken-auth"), "Backend 2026.11.28-2");
    const run = await runUserWorkflow(broken, logFile, { workflow: ".github/workflows/ci-cd.yml", event: pushEvent(broken), approvals: { production: true } });
    record("push 2 (broken): CI/CD", run);
    expect(jobResults(run), shown("push 2 (broken): CI/CD")).toMatchObject({
      test: "success",
      build: "success",
      "deploy-staging": "failure",
      "deploy-staging/deploy": "failure",
      "deploy-production": "skipped",
    });
    expect(run.result).toBe("failure");
    const deploy = job(run, "deploy-staging/deploy");
    expect(stepOutcomes(deploy)).toMatchObject({ deploy: "failure/failure" });
    expect(deploy.steps.find((s) => s.id === "deploy")!.outputs).toMatchObject({ "exit-code": "4", reported: "true" });
    expect(deploy.summary).toContain("**Deploy to staging:** exit 4: deploy failed and was rolled back");
    expect(run.ghCalls).toEqual([]); // the driver reported; no workflow issue on top
    expect(hostStatus(staging)?.current).toMatchObject({ id: firstPush.sha });
    expect(await liveVersion(staging)).toBe("2026.11.28-1");
    expect(hostStatus(production)?.current).toMatchObject({ id: firstPush.sha });
    expect(await liveVersion(production)).toBe("2026.11.28-1");
  });

  it("a deploy job cancelled mid-monitor (SIGINT, then SIGTERM, then SIGKILL as GitHub does) runs its clean-up: no lock left (host, engine)", async () => {
    // A monitor long enough to be cancelled in (the wiring's is 4 s): the user commits a 20 s one.
    const longer = await editStackSettings(firstPush, "production", {
      "awareness:monitor": { durationSeconds: 20, intervalSeconds: 0.5, consecutiveFailures: 3, successRate: 0.95 },
    }, "A longer monitor");
    const from = readFileSync(logFile, "utf8").length;
    const cancel = new AbortController();
    // Cancel once the driver says its monitor began (the release is live, the host lock held).
    const watching = expect
      .poll(() => readFileSync(logFile, "utf8").slice(from).includes("== monitor"), { timeout: 600_000, interval: 250 })
      .toBe(true)
      .then(() => cancel.abort());
    const run = await deployJob("v7", cancel.signal, longer);
    await watching;
    record("deploy v7 (cancelled mid-monitor)", run);
    expect(run.result, shown("deploy v7 (cancelled mid-monitor)")).toBe("cancelled");
    expect(stepOutcomes(run)).toMatchObject({
      deploy: "cancelled/cancelled",
      __run_2: "success/success", // the outcome in the job summary (always)
      __run_3: "skipped/skipped", // failure() is false on a cancelled job: no issue
      __run_4: "success/success", // the on-cancel clean-up: this run's host lock, the engine lock
    });
    expect(hostLock()).toBe("free");
    expect(await s3.keys(".pulumi/locks/")).toEqual([]);
    longerMonitor = longer;
  });

  it("rollback.yml refuses without ROLLBACK, then (a separate run, a separate clone) takes the cancelled v7 back to the pushed release", async () => {
    expect(await liveVersion()).toBe("v7"); // left live, unverified, by the cancelled deploy
    const dispatch = { name: "workflow_dispatch", ref: "refs/heads/main" };
    const inputs = { environment: "production", reason: "v7's watch was cancelled", confirm: "ROLLBACK" };
    const rollbackRun = (confirm: string) =>
      runUserWorkflow(longerMonitor, logFile, { workflow: ".github/workflows/rollback.yml", event: dispatch, inputs: { ...inputs, confirm }, approvals: { production: true } });
    const refused = await rollbackRun("yes");
    record("rollback.yml (refused)", refused);
    expect(jobResults(refused), shown("rollback.yml (refused)")).toEqual({ confirm: "failure", rollback: "skipped" });
    expect(job(refused, "confirm").steps[0]!.log).toContain("::error::Refused: type ROLLBACK");

    const run = await rollbackRun("ROLLBACK");
    record("rollback.yml", run);
    expect(jobResults(run), shown("rollback.yml")).toEqual({ confirm: "success", rollback: "success" });
    expect(hostStatus()?.current).toMatchObject({ id: firstPush.sha });
    expect(await liveVersion()).toBe("2026.11.28-1");
  });

  it("a deploy job killed during its up (as a lost runner: SIGKILL, no clean-up) leaves both locks; unlock.yml clears them; the next deploy converges", async () => {
    const from = readFileSync(logFile, "utf8").length;
    const since = () => readFileSync(logFile, "utf8").slice(from);
    // Once the engine holds its update lock in the bucket, every process of the step is killed.
    const killing = expect
      .poll(async () => since().includes("== up") && (await s3.keys(".pulumi/locks/")).length > 0, { timeout: 600_000, interval: 200 })
      .toBe(true)
      .then(() => killStepGroups(/checked out [0-9a-f]+ into (\S+)/.exec(since())![1]!));
    const run = await deployJob("v7", undefined, longerMonitor);
    expect(await killing).toBeGreaterThan(0);
    record("deploy v7 (killed during up)", run);
    expect(run.result, shown("deploy v7 (killed during up)")).toBe("failure");
    expect(stepOutcomes(run)).toMatchObject({
      deploy: "failure/failure",
      __run_3: "success/success", // the driver did not report: the workflow opens the issue
      __run_4: "skipped/skipped", // not cancelled: no clean-up
    });
    expect(run.ghCalls.map((c) => c.slice(0, 2))).toEqual([["issue", "create"]]);
    expect(hostLock()).toBe("held");
    expect(await s3.keys(".pulumi/locks/")).not.toEqual([]);

    const unlock = await runUserWorkflow(longerMonitor, logFile, {
      workflow: ".github/workflows/unlock.yml",
      event: { name: "workflow_dispatch", ref: "refs/heads/main" },
      inputs: { environment: "production", reason: "the deploy's runner was killed", confirm: "UNLOCK", engine: true },
      approvals: { production: true },
    });
    record("unlock.yml", unlock);
    expect(jobResults(unlock), shown("unlock.yml")).toEqual({ confirm: "success", unlock: "success" });
    expect(hostLock()).toBe("free");
    expect(await s3.keys(".pulumi/locks/")).toEqual([]);

    const next = await deployJob("v1", undefined, longerMonitor);
    record("deploy v1 (after the unlock)", next);
    expect(next.result, shown("deploy v1 (after the unlock)")).toBe("success");
    expect(hostStatus()?.current).toMatchObject({ id: "v1", images: { backend: target.releases.v1!.backend } });
    expect(hostLock()).toBe("free");
    expect(await liveVersion()).toBe("v1");
  });
});
