// The pause's host commands run for real with /bin/sh in a temp app dir: deployment.json's
// "paused" record (set only on the current release, ended by a verdict or a clear), and the
// decision file (refused unless that release is paused, written atomically, taken once).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as hc from "../../components/host-commands/index.js";

const runSh = (script: string) => {
  const r = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const record = (id: string) =>
  JSON.stringify({ id, gitSha: null, images: { backend: `ghcr.io/acme/backend@sha256:${"a".repeat(64)}` }, composeSha256: "c".repeat(64), composeCommand: "docker compose", deployedAt: "2026-11-27T06:00:00Z" });

function appWithV2(): hc.HostLayout {
  const layout: hc.HostLayout = { appDir: join(mkdtempSync(join(tmpdir(), "pause-")), "app"), composeProject: "awareness", composeCommand: "docker compose" };
  mkdirSync(layout.appDir);
  writeFileSync(
    join(layout.appDir, "deployment.json"),
    `{\n  "schema": 1,\n  "current": ${record("v2")},\n  "previous": ${record("v1")},\n  "verified": ${record("v1")},\n  "updatedAt": "2026-11-27T06:00:00Z"\n}\n`,
  );
  return layout;
}

const paused = (id: string): hc.PausedRecord => ({
  id,
  reason: `v2 failed its health check ("/api/auth/status" 500) it's bad; $(touch /tmp/pwned)`,
  pausedAt: "2026-11-27T06:01:00Z",
  deadline: "2026-11-27T06:31:00Z",
  onTimeout: "abort",
  promote: 'npm run driver -- promote --stack production --release v2 --reason "<why>"',
  abort: 'npm run driver -- abort --stack production --release v2 --reason "<why>"',
});

const statusOf = (layout: hc.HostLayout) => hc.parseDeploymentStatus(runSh(hc.readDeploymentStatus(layout)).stdout)!;
const decision = (release: string, decisionName: "promote" | "abort" = "promote"): hc.PauseDecisionFile => ({
  decision: decisionName,
  release,
  by: "alice@laptop",
  reason: "it's fine; `rm -rf /`",
  decidedAt: "2026-11-27T06:05:00Z",
});

describe("the pause on the host", () => {
  it("marks the current release paused (exactly as given), and refuses another release (exit 4)", () => {
    const layout = appWithV2();
    expect(runSh(hc.markReleasePaused(layout, paused("v1")))).toMatchObject({ code: hc.notPausedExitCode, stderr: expect.stringContaining("v1 is not the current release") });
    expect(statusOf(layout).paused).toBeNull();
    expect(runSh(hc.markReleasePaused(layout, paused("v2")))).toMatchObject({ code: 0, stdout: "paused\n" });
    expect(statusOf(layout)).toMatchObject({ current: { id: "v2" }, verified: { id: "v1" }, paused: paused("v2") });
  });

  it("a decision is refused unless its release is paused, is written atomically, and is taken once", () => {
    const layout = appWithV2();
    expect(runSh(hc.writePauseDecision(layout, decision("v2")))).toMatchObject({ code: hc.notPausedExitCode, stderr: expect.stringContaining("v2 is not paused") });
    runSh(hc.markReleasePaused(layout, paused("v2")));
    expect(runSh(hc.writePauseDecision(layout, decision("v3"))).code).toBe(hc.notPausedExitCode);
    expect(runSh(hc.writePauseDecision(layout, decision("v2")))).toMatchObject({ code: 0, stdout: "decided\n" });
    expect(readdirSync(layout.appDir).filter((f) => f.includes("pause"))).toEqual([hc.pauseDecisionFileName]);
    expect(hc.parsePauseDecision(runSh(hc.takePauseDecision(layout)).stdout)).toEqual(decision("v2"));
    expect(existsSync(join(layout.appDir, hc.pauseDecisionFileName))).toBe(false);
    expect(hc.parsePauseDecision(runSh(hc.takePauseDecision(layout)).stdout)).toBeUndefined();
    expect(() => hc.writePauseDecision(layout, { ...decision("v2"), reason: "two\nlines" })).toThrow(/one line/);
  });

  it("a new pause removes a decision an earlier one left; a verdict or a clear ends the pause", () => {
    const layout = appWithV2();
    runSh(hc.markReleasePaused(layout, paused("v2")));
    runSh(hc.writePauseDecision(layout, decision("v2")));
    runSh(hc.markReleasePaused(layout, paused("v2")));
    expect(runSh(hc.takePauseDecision(layout)).stdout).toBe("");
    expect(runSh(hc.markReleaseVerified(layout, "v2")).code).toBe(0);
    expect(statusOf(layout)).toMatchObject({ verified: { id: "v2" }, paused: null });
    runSh(hc.markReleasePaused(layout, paused("v2")));
    expect(runSh(hc.markReleaseFailed(layout, "v2", "aborted by alice")).code).toBe(0);
    expect(statusOf(layout)).toMatchObject({ failed: { id: "v2" }, paused: null });
    runSh(hc.markReleasePaused(layout, paused("v2")));
    expect(runSh(hc.clearReleasePause(layout, "v2"))).toMatchObject({ code: 0, stdout: "cleared\n" });
    expect(statusOf(layout).paused).toBeNull();
    expect(existsSync("/tmp/pwned")).toBe(false);
  });
});
