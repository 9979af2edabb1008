// The runner harness runs a whole workflow: jobs in `needs` order with outputs handed on, a
// failed or skipped need skipping the default `if:`, a called reusable workflow with the caller's
// inputs, event and name, only the secrets passed (plus its environment's), and an environment
// whose reviewers did not approve failing its job. Real processes on fixture repositories.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { flattenJobs, runWorkflow, type RunWorkflowOptions } from "../runner/workflow-run.js";
import { fixtureRepo } from "../support/workflow-fixture.js";

const called = `name: Called
on:
  workflow_call:
    inputs:
      target: { type: string, required: true }
      flag: { type: boolean, default: true }
jobs:
  first:
    runs-on: ubuntu-24.04
    environment: \${{ inputs.target }}
    steps:
      - run: echo "wf=$GITHUB_WORKFLOW event=$GITHUB_EVENT_NAME target=\${{ inputs.target }} flag=\${{ inputs.flag }} repo-secret=[\${{ secrets.REPO_ONLY }}] env-secret=[\${{ secrets.ENV_ONLY }}]"
  second:
    needs: first
    runs-on: ubuntu-24.04
    steps:
      - run: echo "after first"
  gated:
    if: inputs.flag
    runs-on: ubuntu-24.04
    steps:
      - run: echo "flag was true"
`;

const caller = (failBuild: boolean): string => `name: Pipeline
on: push
jobs:
  build:
    runs-on: ubuntu-24.04
    outputs:
      made: \${{ steps.make.outputs.made }}
    steps:
      - id: make
        run: |
          echo "made=artifact-1" >> "$GITHUB_OUTPUT"
          ${failBuild ? "exit 1" : "true"}
  use:
    needs: build
    runs-on: ubuntu-24.04
    steps:
      - run: echo "got \${{ needs.build.outputs.made }}"
  after-use:
    needs: use
    runs-on: ubuntu-24.04
    steps:
      - run: echo "after use"
  on-failure:
    needs: build
    if: failure()
    runs-on: ubuntu-24.04
    steps:
      - run: echo "build failed"
  stage:
    needs: build
    uses: ./.github/workflows/called.yml
    with:
      target: staging
      flag: false
  prod:
    needs: [build, stage]
    uses: ./.github/workflows/called.yml
    secrets: inherit
    with:
      target: production
`;

/** Every runner folder a test made, removed when the file ends. */
const runnerRoots: string[] = [];
afterAll(() => runnerRoots.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function run(failBuild: boolean, extra: Partial<RunWorkflowOptions> = {}) {
  const repo = fixtureRepo({ ".github/workflows/pipeline.yml": caller(failBuild), ".github/workflows/called.yml": called });
  return runWorkflow({
    repo: repo.dir,
    sha: repo.sha,
    workflow: ".github/workflows/pipeline.yml",
    repository: "octo/fixture",
    event: { name: "push", ref: "refs/heads/main" },
    runnerRoot: runnerRoots[runnerRoots.push(mkdtempSync(join(tmpdir(), "runner-root-"))) - 1]!,
    secrets: { REPO_ONLY: "repo-secret-value", GITHUB_TOKEN: "ghs_fixture" },
    environments: {
      staging: { secrets: { ENV_ONLY: "staging-secret-value" } },
      production: { secrets: { ENV_ONLY: "production-secret-value" }, reviewers: true },
    },
    approvals: { production: true },
    ...extra,
  });
}

describe("runner harness: a whole workflow", () => {
  it("runs jobs in needs order, hands outputs on, calls a reusable workflow with its inputs, the caller's event and name, and only the secrets passed", async () => {
    const record = await run(false);
    const jobs = flattenJobs(record);
    const results = Object.fromEntries(Object.entries(jobs).map(([id, j]) => [id, j.result]));
    expect(results).toEqual({
      build: "success", use: "success", "after-use": "success", "on-failure": "skipped",
      stage: "success", "stage/first": "success", "stage/second": "success", "stage/gated": "skipped",
      prod: "success", "prod/first": "success", "prod/second": "success", "prod/gated": "success",
    });
    expect(record.result).toBe("success");
    const log = (id: string) => ("steps" in jobs[id]! ? (jobs[id] as { steps: { log: string }[] }).steps.map((s) => s.log).join("") : "");
    expect(log("use")).toContain("got artifact-1");
    // Not inherited: the repository secret is empty; the environment's own secret is there (masked in logs).
    expect(log("stage/first")).toContain("wf=Pipeline event=push target=staging flag=false repo-secret=[] env-secret=[***]");
    // Inherited: both; the input's declared default filled in.
    expect(log("prod/first")).toContain("wf=Pipeline event=push target=production flag=true repo-secret=[***] env-secret=[***]");
    expect((jobs["prod/first"] as { environment?: string }).environment).toBe("production");
  });

  it("a failed job skips the jobs that need it (and theirs), runs its failure() job, and fails the run", async () => {
    const record = await run(true);
    const results = Object.fromEntries(Object.entries(flattenJobs(record)).map(([id, j]) => [id, j.result]));
    expect(results).toEqual({ build: "failure", use: "skipped", "after-use": "skipped", "on-failure": "success", stage: "skipped", prod: "skipped" });
    expect(record.result).toBe("failure");
  });

  it("an environment whose reviewers did not approve fails its job before any step", async () => {
    const record = await run(false, { approvals: {} });
    const jobs = flattenJobs(record);
    expect(jobs["prod/first"]).toMatchObject({ result: "failure", steps: [], error: "the deployment to 'production' was not approved by a reviewer" });
    expect(jobs["prod/second"]!.result).toBe("skipped");
    expect(jobs["prod/gated"]!.result).toBe("success");
    expect(jobs.prod!.result).toBe("failure");
    expect(record.result).toBe("failure");
  });
});
