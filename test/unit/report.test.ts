import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runMonitor, type MonitorReport } from "../../automation/monitor/monitor.js";
import type { Prober } from "../../automation/monitor/probers.js";
import { defaultMonitorPolicy } from "../../automation/monitor/policy.js";
import { ExitCode } from "../../automation/report/exit-codes.js";
import {
  failureIssueFor,
  formatDuration,
  headline,
  nextSteps,
  renderMarkdown,
  table,
} from "../../automation/report/markdown.js";
import { redact, redactText, secretMask } from "../../automation/report/redact.js";
import { reportStamp, writeReports } from "../../automation/report/write.js";
import { ExitCode as SummaryExitCode, type RunSummary } from "../../automation/report/summary.js";
import { fakeClock } from "../support/fake-clock.js";

const t0 = Date.UTC(2026, 0, 1, 10, 0, 0);
const secretToken = "ghp_s3cr3t_token_value_1234567890";

/** A real monitor run on the fake clock: round k passes when `passes(k)`. */
async function monitorRun(passes: (round: number) => boolean, start = t0): Promise<MonitorReport> {
  const clock = fakeClock(start);
  const prober: Prober = {
    async probe(round) {
      const startedAt = clock.now();
      clock.advance(120);
      return ["/api/health", "/api/docs"].map((endpoint) =>
        passes(round) || endpoint === "/api/docs"
          ? { round, endpoint, startedAt, ok: true, status: 200, latencyMs: 120 }
          : { round, endpoint, startedAt, ok: false, status: 502, latencyMs: 120, error: "HTTP 502" },
      );
    },
  };
  return runMonitor({ policy: { ...defaultMonitorPolicy }, prober, clock });
}

function baseSummary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    command: "deploy",
    stack: "sandbox",
    outcome: "deployed-verified",
    exitCode: ExitCode.Ok,
    release: {
      id: "r42",
      gitSha: "abc1234",
      images: { backend: "127.0.0.1:5000/awareness/backend@sha256:aaaa", nginx: "nginx:1.27" },
      env: { LOG_LEVEL: "info" },
    },
    prechecks: [
      { name: "ci-status", ok: true, detail: "ci-cd.yml run succeeded" },
      { name: "disk", ok: true, detail: "12 GB free" },
      { name: "git-clean", ok: true, detail: "not a git checkout", skipped: true },
    ],
    preview: { ops: { same: 5, update: 2, replace: 0 }, plan: ["~ update command:remote:Command switch"], blocked: [] },
    up: { result: "succeeded", durationMs: 42_500, update: 7, changes: { update: 2 } },
    startedAt: "2026-01-01T09:59:00.000Z",
    finishedAt: "2026-01-01T10:05:30.000Z",
    messages: ["r42 is live and verified."],
    ...overrides,
  };
}

describe("renderMarkdown", () => {
  it("heads with the command, release, stack and outcome", async () => {
    const summary = baseSummary({ monitor: await monitorRun(() => true) });
    const md = renderMarkdown(summary);
    expect(md.split("\n")[0]).toBe("## ✅ deploy r42 on sandbox: deployed and verified");
    expect(md).toContain("**Exit code** 0 · **Took** 6 min 30 s");
    expect(md).toContain("> r42 is live and verified.");
    expect(headline(baseSummary({ outcome: "blocked", exitCode: ExitCode.Blocked }))).toBe(
      "⚠️ deploy r42 on sandbox: blocked before any change",
    );
  });

  it("tables the images, prechecks (pass, fail, skipped) and preview operations", () => {
    const md = renderMarkdown(
      baseSummary({
        outcome: "blocked",
        exitCode: ExitCode.Blocked,
        prechecks: [
          { name: "ci-status", ok: false, detail: "ci-cd.yml run failed: https://github.example/run/9" },
          { name: "disk", ok: true, detail: "12 GB free" },
          { name: "git-clean", ok: true, detail: "not a git checkout", skipped: true },
        ],
        preview: { ops: { same: 5, replace: 1, delete: 0 }, plan: [], blocked: ["replace docker:index/container:Container db"] },
      }),
    );
    expect(md).toContain(
      [
        "| Service | Image |",
        "| --- | --- |",
        "| backend | `127.0.0.1:5000/awareness/backend@sha256:aaaa` |",
        "| nginx | `nginx:1.27` |",
      ].join("\n"),
    );
    expect(md).toContain(
      [
        "| Check | Result | Detail |",
        "| --- | --- | --- |",
        "| ci-status | ❌ fail | ci-cd.yml run failed: https://github.example/run/9 |",
        "| disk | ✅ pass | 12 GB free |",
        "| git-clean | ⏭️ skipped | not a git checkout |",
      ].join("\n"),
    );
    expect(md).toContain(["| Operation | Resources |", "| --- | --- |", "| same | 5 |", "| replace | 1 |"].join("\n"));
    expect(md).not.toContain("| delete |");
    expect(md).toContain("- replace docker:index/container:Container db");
    expect(md).toContain("1. Check the CI/CD workflow status of the commit.");
  });

  it("condenses the monitor: verdict, policy, one mark per round, failed rounds in detail", async () => {
    const monitor = await monitorRun((round) => round !== 3 && round !== 6);
    const md = renderMarkdown(baseSummary({ outcome: "rolled-back", exitCode: ExitCode.FailedRolledBack, monitor }));
    expect(md).toContain(
      "❌ **Failed** (success-rate): 2 of 20 planned checks failed, at most 1 may for 95 %: the rate can no longer be met (after 7 of 10 rounds); " +
        "last: /api/health: HTTP 502. 5/7 rounds passed, 12/14 checks (85.7 %), longest failure streak 1",
    );
    expect(md).toContain("Policy: 5 min, a round every 30 s (10 planned), fails after 3 bad rounds in a row or 2 failed checks of 20 (95 % of checks)");
    expect(md).toContain("Rounds: `✓✓✓✗✓✓✗`");
    expect(md).toContain("| 4 | +1 min 30 s | 120 ms | /api/health: HTTP 502 |");
    expect(md).toContain(`first failure at ${new Date(t0 + 90_000).toISOString()}`);
  });

  it("shows the rollback with its own monitor and the troubleshooting steps", async () => {
    const failed = await monitorRun((round) => round < 1 || round === 2);
    const after = await monitorRun(() => true, t0 + 600_000);
    const summary = baseSummary({
      outcome: "rolled-back",
      exitCode: ExitCode.FailedRolledBack,
      monitor: failed,
      rollback: {
        from: "r42",
        to: "r41",
        reason: "automatic: r42 failed its health check",
        up: { result: "succeeded", durationMs: 9_000, update: 8 },
        monitor: after,
      },
    });
    const md = renderMarkdown(summary, { sshTarget: "ubuntu@server" });
    expect(md).toContain("### Rollback\n\nFrom `r42` to `r41`. Reason: automatic: r42 failed its health check");
    expect(md).toContain("Result: **succeeded** in 9 s (update 8).");
    expect(md).toContain("#### Health monitor after the rollback\n\n✅ **Passed**: 10/10 rounds passed, 20/20 checks (100 %)");
    expect(md).toContain("Rounds: `✓✗✓✗`");
    expect(md).toContain('`ssh ubuntu@server "cd /opt/awareness && docker compose ps -a && docker compose logs --tail 200"`');
  });

  it("sends the operator to the backups when no healthy release could be brought back", () => {
    const steps = nextSteps(baseSummary({ outcome: "rollback-failed", exitCode: ExitCode.FailedNoRollback }), {
      sshTarget: "ubuntu@server",
      appDir: "/srv/app",
    });
    expect(steps[0]).toBe("**The app may be down: act now.**");
    expect(steps).toContain(
      'Ensure backups exist: `ssh ubuntu@server "ls -la /srv/app/backups/*/"` (one set per switch, each with a manifest.json naming its release).',
    );
    expect(steps.join("\n")).toContain("`restore` command");
  });

  it("shows a restore: the set, its release, what it replaced and the set that undoes it", () => {
    const md = renderMarkdown(
      baseSummary({
        command: "restore",
        outcome: "restored",
        restore: { set: "20261127T060000Z-v1", release: "v1", from: "v2", backup: "backups/20261127T070000Z-v2" },
      }),
    );
    expect(md).toContain(
      "### Restore\n\nBackup set `20261127T060000Z-v1` (release `v1`) replaced `v2`, whose files are now the set `backups/20261127T070000Z-v2` (restore it to undo this).\n",
    );
  });

  it("never renders a secret: masked in messages and details, env values left out", () => {
    const summary = baseSummary({
      outcome: "error",
      exitCode: ExitCode.Unexpected,
      release: { id: "r42", images: { backend: "b:1" }, env: { API_KEY: "plain-value-xyz" } },
      prechecks: [{ name: "ci-status", ok: false, detail: `401 for token ${secretToken}` }],
      messages: [`git push https://x:${secretToken}@github.com failed`],
    });
    const md = renderMarkdown(summary, { secrets: [secretToken] });
    expect(md).not.toContain(secretToken);
    expect(md).toContain(`401 for token ${secretMask}`);
    expect(md).toContain(`https://x:${secretMask}@github.com`);
    expect(md).toContain("Env keys: `API_KEY`");
    expect(md).not.toContain("plain-value-xyz");
  });

  it("keeps a table intact when a value holds a pipe, a line break or HTML", () => {
    expect(table(["A", "B"], [["x|y", "line1\nline2 <b>"]])).toBe("| A | B |\n| --- | --- |\n| x\\|y | line1<br>line2 &lt;b> |");
  });

  it("formats durations for people", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(42_500)).toBe("42.5 s");
    expect(formatDuration(300_000)).toBe("5 min");
    expect(formatDuration(3_725_000)).toBe("1 h 2 min 5 s");
  });
});

describe("redact", () => {
  it("masks secrets deep in a structure, whole lines of multi-line secrets, and not short values", () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n-----END OPENSSH PRIVATE KEY-----";
    const value = { a: [`x ${secretToken} y`], b: { c: "line b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE leaked" }, n: 3 };
    expect(redact(value, [secretToken, key, "ab"])).toEqual({
      a: [`x ${secretMask} y`],
      b: { c: `line ${secretMask} leaked` },
      n: 3,
    });
    expect(value.a[0]).toContain(secretToken);
    expect(redactText("ab cd", ["ab"])).toBe("ab cd");
  });
});

describe("failureIssueFor", () => {
  it("makes an issue only for failures, with a title stable per release and stack", () => {
    expect(failureIssueFor(baseSummary())).toBeUndefined();
    expect(failureIssueFor(baseSummary({ outcome: "blocked", exitCode: ExitCode.Blocked }))).toBeUndefined();
    const issue = failureIssueFor(baseSummary({ outcome: "rolled-back", exitCode: ExitCode.FailedRolledBack }));
    expect(issue?.title).toBe("Deployment failed: r42 on sandbox");
    expect(issue?.labels).toEqual(["deployment-failure"]);
    expect(issue?.body.split("\n")[0]).toBe("## ❌ deploy r42 on sandbox: failed, rolled back to the last verified release");
  });
});

describe("writeReports", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "reports-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes <stamp>-<command>.md and .json, masking the environment's secret variables", async () => {
    const monitor = await monitorRun(() => true);
    const summary = baseSummary({ monitor, messages: [`used ${secretToken}`] });
    const written = await writeReports(summary, { dir: join(dir, "nested"), env: { GITHUB_TOKEN: secretToken } });

    expect(written).toEqual({
      markdownPath: join(dir, "nested", "2026-01-01T09-59-00Z-deploy.md"),
      jsonPath: join(dir, "nested", "2026-01-01T09-59-00Z-deploy.json"),
    });
    const md = await readFile(written.markdownPath, "utf8");
    const jsonText = await readFile(written.jsonPath, "utf8");
    expect(md).toBe(renderMarkdown(summary, { secrets: [secretToken] }));
    expect(md).not.toContain(secretToken);
    expect(jsonText).not.toContain(secretToken);
    const json = JSON.parse(jsonText) as RunSummary;
    expect(json.messages).toEqual([`used ${secretMask}`]);
    expect(json.monitor?.rounds).toHaveLength(10);
    expect(json.monitor?.rounds[0]?.samples).toHaveLength(2);
    expect(await readdir(join(dir, "nested"))).toHaveLength(2);
  });

  it("appends the Markdown to $GITHUB_STEP_SUMMARY, keeping what is there", async () => {
    const stepSummary = join(dir, "step-summary.md");
    await writeFile(stepSummary, "# Earlier step\n");
    const env = { GITHUB_STEP_SUMMARY: stepSummary };
    const first = await writeReports(baseSummary(), { dir, env });
    await writeReports(baseSummary({ command: "status", outcome: "ok" }), { dir, env });

    expect(first.stepSummaryPath).toBe(stepSummary);
    const content = await readFile(stepSummary, "utf8");
    expect(content.startsWith("# Earlier step\n## ✅ deploy r42 on sandbox: deployed and verified")).toBe(true);
    expect(content).toContain("## ✅ status r42 on sandbox: done");
  });

  it("does not touch a job summary when $GITHUB_STEP_SUMMARY is unset", async () => {
    const written = await writeReports(baseSummary(), { dir, env: {} });
    expect(written.stepSummaryPath).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(["2026-01-01T09-59-00Z-deploy.json", "2026-01-01T09-59-00Z-deploy.md"]);
  });

  it("stamps reports by the run's start, safe for file names", () => {
    expect(reportStamp("2026-03-04T05:06:07.890Z")).toBe("2026-03-04T05-06-07Z");
  });
});

describe("exit codes", () => {
  it("are distinct, each explained, and the same as the driver's summary module uses", () => {
    const values = Object.values(ExitCode);
    expect(new Set(values).size).toBe(values.length);
    expect(values).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(SummaryExitCode).toEqual(ExitCode);
  });
});
