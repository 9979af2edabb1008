// The committed workflows run by the runner harness (test/runner) against the sandbox, with the
// stack's state in the local S3 backend: the deploy job as CI/CD calls it, the status job, and
// rollback.yml in a separate run from a separate clone. Each run's step outcomes go to
// .reports/runner-workflows.json; its log to .reports/runner-workflows.log.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../automation/common/process.js";
import * as hc from "../../components/host-commands/index.js";
import { startS3Backend, type S3Backend } from "../support/s3-backend.js";
import { editStackSettings, runUserJob, wireUserRepo, type UserRepo } from "../support/runner-e2e.js";
import { stepOutcomes } from "../support/workflow-fixture.js";
import { clearCorner, get, onHost, target, testCorner } from "./components-support.js";

const corner = testCorner("runner-workflows", { backend: 19880, frontend: 19881 });
const layout: hc.HostLayout = { appDir: corner.appDir, composeProject: corner.composeProject, composeCommand: "docker compose" };
const logFile = join(repoRoot, ".reports", "runner-workflows.log");
const recorded: Record<string, unknown> = {};
let s3: S3Backend;
let repo: UserRepo;

const imagesInput = (release: string) => Object.entries(target.releases[release]!).map(([service, ref]) => `${service}=${ref}`).join(" ");
const hostLock = () => onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim();
const hostStatus = () => hc.parseDeploymentStatus(onHost(hc.readDeploymentStatus(layout)), "the sandbox");
const liveVersion = async () => {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : "down";
};

/** The deploy job of deploy.yml as CI/CD's push to main calls it (verify-ci passed, no approval job). */
const deployJob = (release: string, signal?: AbortSignal, from: UserRepo = repo) =>
  runUserJob(from, logFile, {
    ...(signal ? { signal } : {}),
    workflow: ".github/workflows/deploy.yml",
    job: "deploy",
    event: { name: "push", ref: "refs/heads/main", payload: { ref: "refs/heads/main", after: repo.sha } },
    inputs: { environment: "production", release, images: imagesInput(release), "require-approval": false },
    needs: { "verify-ci": { result: "success" }, approval: { result: "skipped" } },
  });

function record(name: string, run: Awaited<ReturnType<typeof runUserJob>>): void {
  recorded[name] = { result: run.result, steps: run.steps.map((s) => ({ name: s.name, outcome: s.outcome, error: s.error })), summary: run.summary, gh: run.ghCalls };
  writeFileSync(join(repoRoot, ".reports", "runner-workflows.json"), JSON.stringify(recorded, null, 2));
}

beforeAll(async () => {
  clearCorner(corner);
  mkdirSync(join(repoRoot, ".reports"), { recursive: true });
  writeFileSync(logFile, "");
  s3 = await startS3Backend({ port: 19882 });
  repo = await wireUserRepo(s3, target, corner, "runner-e2e-passphrase");
});

afterAll(async () => {
  clearCorner(corner);
  await s3?.stop();
});

describe("committed workflows under the runner harness", () => {
  it("deploy.yml's deploy job (as CI/CD calls it) deploys v1 to the sandbox, state in S3", async () => {
    const run = await deployJob("v1");
    record("deploy v1", run);
    expect(stepOutcomes(run), JSON.stringify(recorded["deploy v1"], null, 1)).toMatchObject({ deploy: "success/success" });
    expect(run.result).toBe("success");
    expect(run.steps.find((s) => s.id === "deploy")!.outputs).toMatchObject({ "exit-code": "0", reported: "true" });
    expect(run.summary).toContain("**Deploy to production:** exit 0");
    expect(hostStatus()?.current).toMatchObject({ id: "v1", images: target.releases.v1 });
    expect(await liveVersion()).toBe("v1");
    expect((await s3.keys(".pulumi/stacks/")).join(" ")).toMatch(/production/);
  });

  it("deployment-status.yml (dispatched for production): its environments job picks production, the matrix job reports the stack from S3", async () => {
    const dispatch = { event: { name: "workflow_dispatch", ref: "refs/heads/main" }, inputs: { environment: "production" } };
    const pick = await runUserJob(repo, logFile, { workflow: ".github/workflows/deployment-status.yml", job: "environments", ...dispatch });
    record("status environments", pick);
    expect(pick.result, JSON.stringify(recorded["status environments"], null, 1)).toBe("success");
    const list = pick.outputs.list!;
    expect(JSON.parse(list)).toEqual(["production"]);
    // GitHub runs each matrix combination as a job of its own: here the one the list names.
    const run = await runUserJob(repo, logFile, {
      workflow: ".github/workflows/deployment-status.yml",
      job: "status",
      ...dispatch,
      needs: { environments: { result: "success", outputs: { list } } },
      matrix: { environment: "production" },
    });
    record("status", run);
    expect(run.result, JSON.stringify(recorded.status, null, 1)).toBe("success");
    expect(run.summary).toContain("## Deployment status: production");
    expect(run.summary).toContain("v1");
  });

  it("a broken release (v2) deployed next rolls back by itself: exit 4 in the summary, no issue opened", async () => {
    const run = await deployJob("v2");
    record("deploy v2", run);
    expect(stepOutcomes(run), JSON.stringify(recorded["deploy v2"], null, 1)).toMatchObject({
      deploy: "failure/failure",
      __run_2: "success/success", // the outcome in the job summary (always)
      __run_3: "skipped/skipped", // no issue: the driver reported (and opened its own where it can)
      __run_4: "skipped/skipped", // the on-cancel clean-up
    });
    expect(run.steps.find((s) => s.id === "deploy")!.outputs).toMatchObject({ "exit-code": "4", reported: "true" });
    expect(run.summary).toContain("**Deploy to production:** exit 4: deploy failed and was rolled back");
    expect(run.ghCalls).toEqual([]);
    expect(run.result).toBe("failure");
    expect(hostStatus()?.current).toMatchObject({ id: "v1" });
    expect(await liveVersion()).toBe("v1");
  });

  it("rollback.yml refuses without ROLLBACK, then (a separate run, a separate clone) takes v7 back to v1", async () => {
    const dispatch = { name: "workflow_dispatch", ref: "refs/heads/main" };
    const inputs = { environment: "production", reason: "v7 misbehaves", confirm: "ROLLBACK" };
    const refused = await runUserJob(repo, logFile, { workflow: ".github/workflows/rollback.yml", job: "confirm", event: dispatch, inputs: { ...inputs, confirm: "yes" } });
    record("rollback confirm (refused)", refused);
    expect(refused.result).toBe("failure");
    expect(refused.steps[0]!.log).toContain("::error::Refused: type ROLLBACK");

    const v7 = await deployJob("v7");
    record("deploy v7", v7);
    expect(v7.result, JSON.stringify(recorded["deploy v7"], null, 1)).toBe("success");
    expect(await liveVersion()).toBe("v7");

    const run = await runUserJob(repo, logFile, {
      workflow: ".github/workflows/rollback.yml",
      job: "rollback",
      event: dispatch,
      inputs,
      needs: { confirm: { result: "success" } },
    });
    record("rollback", run);
    expect(run.result, JSON.stringify(recorded.rollback, null, 1)).toBe("success");
    expect(hostStatus()?.current).toMatchObject({ id: "v1", images: target.releases.v1 });
    expect(await liveVersion()).toBe("v1");
  });
  it("a deploy job cancelled mid-monitor (SIGINT, then SIGTERM, then SIGKILL as GitHub does) runs its clean-up: no lock left, the next run converges", async () => {
    // A monitor long enough to be cancelled in (the wiring's is 4 s): the user commits a 20 s one.
    const longer = await editStackSettings(repo, s3, target, corner, {
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
    expect(run.result, JSON.stringify(recorded["deploy v7 (cancelled mid-monitor)"], null, 1)).toBe("cancelled");
    expect(stepOutcomes(run)).toMatchObject({
      deploy: "cancelled/cancelled",
      __run_2: "success/success", // the outcome in the job summary (always)
      __run_3: "skipped/skipped", // failure() is false on a cancelled job: no issue
      __run_4: "success/success", // the on-cancel clean-up: this run's host lock, the engine lock
    });
    expect(hostLock()).toBe("free");
    expect(await s3.keys(".pulumi/locks/")).toEqual([]);
    const next = await deployJob("v1", undefined, longer);
    record("deploy v1 (after the cancelled run)", next);
    expect(next.result, JSON.stringify(recorded["deploy v1 (after the cancelled run)"], null, 1)).toBe("success");
    expect(hostStatus()?.current).toMatchObject({ id: "v1", images: target.releases.v1 });
    expect(hostLock()).toBe("free");
    expect(await liveVersion()).toBe("v1");
  });
});
