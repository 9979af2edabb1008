// The runner harness's cancellation (GitHub's SIGINT → SIGTERM → SIGKILL to the step's process
// group) and its `${{ }}` interpolation where GitHub's parser package falls short.
import { describe, expect, it } from "vitest";
import { cancelDelays } from "../runner/process.js";
import { fixtureRepo, runFixtureJob, stepOutcomes } from "../support/workflow-fixture.js";

const cancelWorkflow = `name: Cancel
on: push
jobs:
  long:
    runs-on: ubuntu-24.04
    steps:
      - id: stubborn
        shell: bash
        run: |
          trap 'echo got-INT' INT
          trap 'echo got-TERM' TERM
          (trap '' INT TERM; sleep 60; echo child-survived) &
          echo ready
          while true; do sleep 0.05 || true; done
      - id: polite
        run: echo not after a cancel
      - id: on-cancel
        if: cancelled()
        run: echo "cleaning up, job status \${{ job.status }}"
      - id: always
        if: always()
        run: echo always
      - id: on-failure
        if: failure()
        run: echo not on a cancel
`;

describe("runner harness cancellation", () => {
  it("uses GitHub's documented delays: SIGTERM 7.5 s after SIGINT, SIGKILL 2.5 s later", () => {
    expect(cancelDelays).toEqual({ sigtermAfterMs: 7_500, sigkillAfterMs: 2_500 });
  });

  it("sends SIGINT, SIGTERM, then SIGKILL to the whole step group, then runs only cancelled()/always() steps", async () => {
    const repo = fixtureRepo({ ".github/workflows/cancel.yml": cancelWorkflow });
    const abort = new AbortController();
    let output = "";
    const record = await runFixtureJob(repo, "cancel.yml", "long", {
      signal: abort.signal,
      cancelDelays: { sigtermAfterMs: 300, sigkillAfterMs: 300 },
      log: (text) => {
        output += text;
        if (output.includes("ready") && !abort.signal.aborted) abort.abort();
      },
    });
    const stubborn = record.steps[0]!;
    expect(stubborn.signals).toEqual(["SIGINT", "SIGTERM", "SIGKILL"]);
    expect(stubborn.log).toContain("got-INT");
    expect(stubborn.log).toContain("got-TERM");
    expect(stubborn.log).not.toContain("child-survived");
    expect(stepOutcomes(record)).toEqual({
      stubborn: "cancelled/cancelled",
      polite: "skipped/skipped",
      "on-cancel": "success/success",
      always: "success/success",
      "on-failure": "skipped/skipped",
    });
    expect(record.result).toBe("cancelled");
  });

  it("stops after SIGINT when the step exits on it", async () => {
    const repo = fixtureRepo({ ".github/workflows/cancel.yml": cancelWorkflow.replace("trap 'echo got-INT' INT", "trap 'echo got-INT; exit 130' INT") });
    const abort = new AbortController();
    const record = await runFixtureJob(repo, "cancel.yml", "long", {
      signal: abort.signal,
      cancelDelays: { sigtermAfterMs: 5_000, sigkillAfterMs: 5_000 },
      log: (text) => text.includes("ready") && abort.abort(),
    });
    expect(record.steps[0]!.signals).toEqual(["SIGINT"]);
    expect(record.steps[0]!.exitCode).toBe(130);
  });
});

describe("runner harness interpolation", () => {
  it("keeps a block scalar's heredoc and quotes intact around ${{ }}", async () => {
    const repo = fixtureRepo({
      ".github/workflows/q.yml": `name: Q
on: push
jobs:
  q:
    runs-on: ubuntu-24.04
    steps:
      - run: |
          cat <<EOF
          sha \${{ github.sha }} it's 'one' 'two'
          EOF
          tr ' ' '_' <<< "a b c"
`,
    });
    const record = await runFixtureJob(repo, "q.yml", "q");
    expect(record.result).toBe("success");
    expect(record.steps[0]!.log).toBe(`sha ${repo.sha} it's 'one' 'two'\na_b_c\n`);
  });
});
