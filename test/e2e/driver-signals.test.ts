// Cancelling `up`: SIGTERM (a cancelled CI job) to the driver's CLI, and the driver's own
// deadline (a plugin that never returns). The driver cancels the engine
// update, releases both locks and exits; the next deploy recovers and converges.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/deploy.js";
import { repoRoot } from "../../automation/runner.js";
import { openSession } from "../../automation/session.js";
import { ExitCode } from "../../automation/summary.js";
import { applySandboxStackConfig } from "../sandbox/stack-config.js";
import { testEngineEnv } from "../support/plugins.js";
import { clearCorner, get, onHost, target, testCorner } from "./components-support.js";

const corner = testCorner("signals", { backend: 18380, frontend: 18381 });
const stackName = `test-signals-${process.pid}`;
const quiet = { info: () => {}, warn: () => {} };
let dir: string;
let base: Omit<DeployRequest, "releaseId">;

function listLocks(): string[] {
  const locks = join(dir, ".pulumi", "locks");
  try {
    return readdirSync(locks, { recursive: true }).map(String).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
}

beforeAll(async () => {
  clearCorner(corner);
  dir = await mkdtemp(join(tmpdir(), "awareness-signals-"));
  base = { stackName, workDir: dir, backendUrl: `file://${dir}`, envVars: await testEngineEnv(), skipCiCheck: true, allowDirty: true, log: quiet };
  const session = await openSession({ stackName, workDir: dir, backendUrl: base.backendUrl, envVars: base.envVars, log: quiet });
  await applySandboxStackConfig(session.stack, target, "v1", corner);
  session.close();
  const first = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
  expect(first.outcome).toBe("deployed-verified");
});

afterAll(async () => {
  clearCorner(corner);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("cancelling an update: SIGTERM, and the driver's own deadline", () => {
  it("cancels cleanly, and the next deploy converges", async () => {
    const images = target.releases.v1!;
    const args = [
      join(repoRoot, "automation", "cli.ts"), "deploy", "--stack", stackName, "--release", "v1-env2",
      "--image", `backend=${images.backend}`, "--image", `frontend=${images.frontend}`,
      "--env", "APP_ENV=interrupted", "--skip-ci-check", "--allow-dirty", "--report-dir", join(dir, "reports"),
    ];
    const child = spawn(join(repoRoot, "node_modules", ".bin", "tsx"), args, {
      cwd: repoRoot,
      env: { ...process.env, ...base.envVars, PULUMI_BACKEND_URL: base.backendUrl!, AWARENESS_PROJECT_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let signalled = false;
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      // The switch command is running on the host: interrupt it mid-flight.
      if (!signalled && /awareness-sandbox-switch (creating|updating)/.test(stderr)) {
        signalled = true;
        setTimeout(() => child.kill("SIGTERM"), 500);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(signalled, stderr.slice(-2000)).toBe(true);
    expect(stderr).toMatch(/SIGTERM: cancelling/);
    expect(code).not.toBe(ExitCode.Ok);
    // Both locks are free again.
    expect(onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim(), stderr.slice(-3000)).toBe("free");
    expect(listLocks()).toEqual([]);

    const next = await deploy({ ...base, releaseId: "v1-env2", images, env: { APP_ENV: "interrupted" } });
    expect(next.outcome, JSON.stringify(next.messages)).toBe("deployed-verified");
    expect(JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)).current.id).toBe("v1-env2");
    expect(onHost(`cat ${corner.appDir}/.env`)).toMatch(/APP_ENV='?interrupted'?\n/);
    expect((await get(corner.ports.backend, "/api/health")).status).toBe(200);
  });

  it("an update past the driver's deadline is cancelled, killed when it does not stop, and the next deploy converges", async () => {
    const images = target.releases.v1!;
    const started = Date.now();
    // The switch waits for the containers' healthchecks (several seconds): longer than the
    // 2 s deadline; remote commands are not interrupted by a cancel, so the kill after the
    // 1 s grace is what stops the engine.
    const late = await deploy({ ...base, releaseId: "v1-deadline", images, env: { APP_ENV: "deadline" }, upDeadlineMs: 2000, upGraceMs: 1000 });
    const took = Date.now() - started;
    expect(late.outcome).toBe("up-failed");
    expect(late.messages.join(" ")).toMatch(/did not finish within 2 s/);
    expect(late.up?.durationMs).toBeLessThan(10_000);
    expect(took).toBeLessThan(60_000);
    expect(onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim()).toBe("free");

    const next = await deploy({ ...base, releaseId: "v1-deadline", images, env: { APP_ENV: "deadline" } });
    expect(next.outcome, JSON.stringify(next.messages)).toBe("deployed-verified");
    expect(listLocks()).toEqual([]);
    expect(JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)).current.id).toBe("v1-deadline");
  });
});
