// The committed workflows run by the runner harness (test/runner) against the sandbox, with the
// stack's state in the local S3 backend: the deploy job as CI/CD calls it, the status job, and
// rollback.yml in a separate run from a separate clone. Each run's step outcomes go to
// .reports/runner-workflows.json; its log to .reports/runner-workflows.log.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../automation/common/process.js";
import * as hc from "../../components/host-commands/index.js";
import { startS3Backend, type S3Backend } from "../support/s3-backend.js";
import { runUserJob, wireUserRepo, type UserRepo } from "../support/runner-e2e.js";
import { stepOutcomes } from "../support/workflow-fixture.js";
import { clearCorner, get, onHost, target, testCorner } from "./components-support.js";

const corner = testCorner("runner-workflows", { backend: 19880, frontend: 19881 });
const layout: hc.HostLayout = { appDir: corner.appDir, composeProject: corner.composeProject, composeCommand: "docker compose" };
const logFile = join(repoRoot, ".reports", "runner-workflows.log");
const recorded: Record<string, unknown> = {};
let s3: S3Backend;
let repo: UserRepo;

const imagesInput = (release: string) => Object.entries(target.releases[release]!).map(([service, ref]) => `${service}=${ref}`).join(" ");
const hostStatus = () => hc.parseDeploymentStatus(onHost(hc.readDeploymentStatus(layout)), "the sandbox");
const liveVersion = async () => {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : "down";
};

/** The deploy job of deploy.yml as CI/CD's push to main calls it (verify-ci passed, no approval job). */
const deployJob = (release: string) =>
  runUserJob(repo, logFile, {
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
    expect(run.steps.find((s) => s.id === "deploy")!.outputs).toEqual({ "exit-code": "0" });
    expect(run.summary).toContain("**Deploy to production:** exit 0");
    expect(hostStatus()?.current).toMatchObject({ id: "v1", images: target.releases.v1 });
    expect(await liveVersion()).toBe("v1");
    expect((await s3.keys(".pulumi/stacks/")).join(" ")).toMatch(/production/);
  });
});
