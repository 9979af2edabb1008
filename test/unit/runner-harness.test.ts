// The runner harness on small fixture workflows: expressions, if:, outputs, env files, shells,
// continue-on-error, timeouts, unknown uses:. Real processes, no sandbox.
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixtureRepo, runFixtureJob, stepOutcomes } from "../support/workflow-fixture.js";

const workflow = (jobs: string, top = ""): string => `name: Fixture\non: [push, workflow_dispatch]\n${top}jobs:\n${jobs}`;

describe("runner harness", () => {
  it("evaluates ${{ }} in env and run with workflow < job < GITHUB_ENV < step precedence, and masks secrets", async () => {
    const repo = fixtureRepo({
      ".github/workflows/env.yml": workflow(
        `  env-job:
    runs-on: ubuntu-24.04
    env:
      LEVEL: job
      FROM_JOB: \${{ github.ref_name }}-seen-by-job
    steps:
      - run: |
          echo "LEVEL=from-env-file" >> "$GITHUB_ENV"
          { echo "NOTE<<END"; echo "two"; echo "lines"; echo "END"; } >> "$GITHUB_ENV"
      - id: show
        env:
          STEP_ONLY: \${{ github.event_name }}/\${{ github.repository }}/\${{ runner.os }}
        run: |
          echo "level=$LEVEL from_job=$FROM_JOB step=$STEP_ONLY ci=$CI actions=$GITHUB_ACTIONS"
          echo "note=$NOTE" | tr '\\n' ' '
          echo "secret is \${{ secrets.TOKEN }}"
          test -d "$RUNNER_TEMP" && test -d "$RUNNER_TOOL_CACHE" && test -f "$GITHUB_EVENT_PATH"
`,
        "env:\n  FROM_WORKFLOW: wf\n  LEVEL: workflow\n",
      ),
    });
    const record = await runFixtureJob(repo, "env.yml", "env-job", { secrets: { TOKEN: "s3cr3t-value" } });
    expect(record.steps.map((s) => s.error ?? s.outcome), record.steps[1]!.log).toEqual(["success", "success"]);
    expect(record.result).toBe("success");
    const log = record.steps[1]!.log;
    expect(log).toContain("level=from-env-file from_job=main-seen-by-job step=push/octo/fixture/Linux ci=true actions=true");
    expect(log).toContain("note=two lines");
    expect(log).toContain("secret is ***");
    expect(log).not.toContain("s3cr3t-value");
  });

  it("hands step outputs (incl. heredoc) to later steps and to job outputs; GITHUB_PATH and the summary", async () => {
    const repo = fixtureRepo({
      ".github/workflows/out.yml": workflow(`  out:
    runs-on: ubuntu-24.04
    outputs:
      joined: \${{ steps.make.outputs.single }}+\${{ steps.make.outputs.multi }}
    steps:
      - id: make
        run: |
          echo "single=one" >> "$GITHUB_OUTPUT"
          printf 'multi<<EOF\\na\\nb\\nEOF\\n' >> "$GITHUB_OUTPUT"
          mkdir -p "$RUNNER_TEMP/tools" && printf '#!/bin/sh\\necho tool-ran\\n' > "$RUNNER_TEMP/tools/mytool" && chmod +x "$RUNNER_TEMP/tools/mytool"
          echo "$RUNNER_TEMP/tools" >> "$GITHUB_PATH"
          echo "## made" >> "$GITHUB_STEP_SUMMARY"
      - run: |
          echo "got \${{ steps.make.outputs.single }} [\${{ steps.make.outputs.multi }}] outcome=\${{ steps.make.outcome }}"
          mytool
`),
    });
    const record = await runFixtureJob(repo, "out.yml", "out");
    expect(record.result).toBe("success");
    expect(record.steps[0]!.outputs).toEqual({ single: "one", multi: "a\nb" });
    expect(record.steps[1]!.log).toContain("got one [a\nb] outcome=success");
    expect(record.steps[1]!.log).toContain("tool-ran");
    expect(record.outputs).toEqual({ joined: "one+a\nb" });
    expect(record.summary).toBe("## made\n");
  });

  it("runs `shell: bash` with pipefail and the default shell without it; working-directory is relative to the workspace", async () => {
    const repo = fixtureRepo({
      "sub/marker": "here\n",
      ".github/workflows/shell.yml": workflow(`  shells:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8
        with:
          persist-credentials: false
      - id: default-shell
        run: false | true
      - id: bash-shell
        shell: bash
        run: false | true
      - id: in-sub
        if: always()
        working-directory: sub
        run: cat marker
      - id: python
        if: always()
        shell: python3 {0}
        run: print("py", 6 * 7)
`),
    });
    const record = await runFixtureJob(repo, "shell.yml", "shells");
    expect(stepOutcomes(record)).toMatchObject({
      "default-shell": "success/success",
      "bash-shell": "failure/failure",
      "in-sub": "success/success",
      python: "success/success",
    });
    expect(record.steps.find((s) => s.id === "in-sub")!.log).toContain("here");
    expect(record.steps.find((s) => s.id === "python")!.log).toContain("py 42");
    expect(record.result).toBe("failure");
  });

  it("applies if: with success(), failure(), always(), step outcomes, continue-on-error and inputs", async () => {
    const repo = fixtureRepo({
      ".github/workflows/if.yml": `name: If
on:
  workflow_dispatch:
    inputs:
      flag: {type: boolean, default: false}
      word: {type: string, required: true}
jobs:
  conditions:
    runs-on: ubuntu-24.04
    steps:
      - id: soft-fail
        continue-on-error: true
        run: exit 3
      - id: after-soft
        run: echo "soft outcome \${{ steps.soft-fail.outcome }} conclusion \${{ steps.soft-fail.conclusion }}"
      - id: by-input
        if: inputs.flag
        run: echo flagged
      - id: word
        if: inputs.word == 'go'
        run: exit 1
      - id: normal
        run: echo not reached
      - id: on-failure
        if: failure() && steps.word.outcome == 'failure'
        run: echo handling
      - id: always
        if: always()
        run: echo always
      - id: bad-expression
        if: always() && fromJSON('{')
        run: echo never
`,
    });
    const record = await runFixtureJob(repo, "if.yml", "conditions", {
      event: { name: "workflow_dispatch", ref: "refs/heads/main" },
      inputs: { word: "go" },
    });
    expect(stepOutcomes(record)).toEqual({
      "soft-fail": "failure/success",
      "after-soft": "success/success",
      "by-input": "skipped/skipped",
      word: "failure/failure",
      normal: "skipped/skipped",
      "on-failure": "success/success",
      always: "success/success",
      "bad-expression": "failure/failure",
    });
    expect(record.steps[1]!.log).toContain("soft outcome failure conclusion success");
    expect(record.steps[0]!.exitCode).toBe(3);
    expect(record.result).toBe("failure");
  });

  it("reports a step its own signal ended as the runner does: exit code 128 + the signal", async () => {
    const repo = fixtureRepo({
      ".github/workflows/killed.yml": workflow(`  killed:
    runs-on: ubuntu-24.04
    steps:
      - run: kill -KILL $$
`),
    });
    const record = await runFixtureJob(repo, "killed.yml", "killed");
    expect(record.steps[0]).toMatchObject({ outcome: "failure", exitCode: 137, error: "Process completed with exit code 137." });
    expect(record.result).toBe("failure");
  });

  it("refuses an undeclared input and a missing required one", async () => {
    const repo = fixtureRepo({
      ".github/workflows/in.yml": "name: In\non:\n  workflow_dispatch:\n    inputs:\n      need: {type: string, required: true}\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: true\n",
    });
    await expect(runFixtureJob(repo, "in.yml", "j", { inputs: { other: "x" } })).rejects.toThrow("input 'other' is not declared");
    await expect(runFixtureJob(repo, "in.yml", "j")).rejects.toThrow("input 'need' is required");
  });

  it("skips a job whose if: is false, and fails a step past its timeout-minutes", async () => {
    const repo = fixtureRepo({
      ".github/workflows/t.yml": workflow(`  skipped:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-24.04
    steps:
      - run: true
  slow:
    runs-on: ubuntu-24.04
    steps:
      - id: sleepy
        timeout-minutes: 0.005
        run: sleep 30
      - id: cleanup
        if: failure()
        run: echo cleaned
`),
    });
    expect((await runFixtureJob(repo, "t.yml", "skipped")).result).toBe("skipped");
    const record = await runFixtureJob(repo, "t.yml", "slow", { cancelDelays: { sigtermAfterMs: 200, sigkillAfterMs: 200 } });
    expect(stepOutcomes(record)).toEqual({ sleepy: "failure/failure", cleanup: "success/success" });
    expect(record.steps[0]!.error).toContain("timed out");
    expect(record.steps[0]!.signals).toEqual(["SIGINT"]);
  });

  it("fails a step loudly on a uses: without a stand-in (an unpinned or unknown action)", async () => {
    const repo = fixtureRepo({
      ".github/workflows/u.yml": workflow(`  u:
    runs-on: ubuntu-24.04
    steps:
      - id: unknown
        uses: actions/checkout@v4
      - id: next
        run: echo not reached
`),
    });
    const record = await runFixtureJob(repo, "u.yml", "u");
    expect(stepOutcomes(record)).toEqual({ unknown: "failure/failure", next: "skipped/skipped" });
    expect(record.steps[0]!.error).toContain("no stand-in for 'uses: actions/checkout@v4'");
  });

  it("checks out the run's commit into an empty workspace and puts the harness's Node on PATH", async () => {
    const repo = fixtureRepo({
      "hello.txt": "from the fixture\n",
      ".github/workflows/co.yml": workflow(`  co:
    runs-on: ubuntu-24.04
    steps:
      - id: before
        run: ls -A | wc -l
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8
        with:
          persist-credentials: false
      - id: node
        uses: actions/setup-node@a0853c24544627f65ddf259abe73b1d18a591444
        with:
          node-version: "${process.versions.node.split(".")[0]}"
      - run: |
          git rev-parse HEAD
          node --version
          command -v node
`),
    });
    const record = await runFixtureJob(repo, "co.yml", "co");
    expect(record.result).toBe("success");
    expect(record.steps[0]!.log.trim()).toBe("0");
    expect(readFileSync(join(record.workspace, "hello.txt"), "utf8")).toBe("from the fixture\n");
    expect(existsSync(join(record.workspace, ".git"))).toBe(true);
    const log = record.steps[3]!.log;
    expect(log).toContain(repo.sha);
    expect(log).toContain(`v${process.versions.node}`);
    expect(log).toMatch(/tool-cache\/node\/[\d.]+\/x64\/bin\/node/);
    expect(record.steps[2]!.outputs).toEqual({ "node-version": `v${process.versions.node}` });
  });

  it("installs the Pulumi CLI as pulumi/actions does (tool cache + GITHUB_PATH), refusing another version", async () => {
    const cli = join(mkdtempSync(join(tmpdir(), "fake-cli-")), "pulumi");
    writeFileSync(cli, '#!/bin/sh\necho v3.274.1\n');
    chmodSync(cli, 0o755);
    const install = (version: string) => `      - uses: pulumi/actions@df5a93ad715135263c732ba288301bd044c383c0
        with:
          pulumi-version: ${version}
`;
    const repo = fixtureRepo({
      ".github/workflows/p.yml": workflow(`  right:
    runs-on: ubuntu-24.04
    steps:
${install("3.274.1")}      - run: command -v pulumi && pulumi version
  wrong:
    runs-on: ubuntu-24.04
    steps:
${install("3.200.0")}`),
    });
    const right = await runFixtureJob(repo, "p.yml", "right", { standIns: { pulumiCli: cli } });
    expect(right.result).toBe("success");
    expect(right.steps[1]!.log).toMatch(/tool-cache\/pulumi\/3\.274\.1\/x64\/pulumi\nv3\.274\.1/);
    const wrong = await runFixtureJob(repo, "p.yml", "wrong", { standIns: { pulumiCli: cli } });
    expect(wrong.steps[0]!.error).toContain("pulumi-version 3.200.0 asked for, the local CLI is 3.274.1");
  });
});
