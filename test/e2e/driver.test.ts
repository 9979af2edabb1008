// The driver end to end: the real engine, the real sandbox host, real HTTP probes. Each
// scenario deploys one of the sandbox's releases and looks at what really happened on the
// host (deployment.json, running containers, what the app answers) and in the stack.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { precheck } from "../../automation/commands/precheck.js";
import { preview } from "../../automation/commands/preview.js";
import { restore } from "../../automation/commands/restore.js";
import { rollback } from "../../automation/commands/rollback.js";
import { status } from "../../automation/commands/status.js";
import { GitHubRest } from "../../automation/github/rest.js";
import { ExitCode, type RunSummary } from "../../automation/report/summary.js";
import { verifiedReleases } from "../../automation/stages/releases.js";
import { publishReports } from "../../automation/stages/publish.js";
import type { CiStatusSource } from "../../automation/stages/prechecks.js";
import type { RunDeps, RunEngine } from "../../automation/stages/deps.js";
import { applySandboxStackConfig, sandboxStackConfig } from "../../automation/sandbox/target.js";
import { driverStack, type DriverStack, e2eLog } from "../support/driver.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { clearCorner, get, onHost, runningOnHost, target, testCorner } from "./components-support.js";

const corner = testCorner("driver", { backend: 18280, frontend: 18281 });
const stackName = `test-driver-${process.pid}`;
// The driver's progress goes to a log file (ignored by git), for when an assertion needs a story.
const quiet = e2eLog("e2e-driver");
let dir: string;
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;

/** Why a run ended as it did: its messages and every failed monitor round (for assertion messages). */
function explain(s: RunSummary): string {
  const failed = (m: RunSummary["monitor"]) =>
    (m?.rounds ?? []).filter((r) => !r.ok).map((r) => `round ${r.round} +${r.startedAt - m!.startedAt} ms: ${r.failures.join("; ")}`);
  return JSON.stringify({ messages: s.messages, failed: failed(s.monitor), rollbackFailed: failed(s.rollback?.monitor), up: s.up }, null, 1);
}

/** What the app answers: its release, or "down". */
async function liveVersion(): Promise<string> {
  const r = await get(corner.ports.backend, "/api/version");
  if (r.status !== 200) return "down";
  return (JSON.parse(r.body) as { version: string }).version;
}

function hostStatus(): { current: { id: string } | null; verified: { id: string; images: Record<string, string> } | null } {
  return JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`));
}

const release = (id: string, extra: Partial<DeployRequest> & { ciStatus?: CiStatusSource } = {}) => {
  const { ciStatus, ...rest } = extra;
  return deploy({ ...base, releaseId: id, images: target.releases[id], ...(ciStatus ? { deps: { ...base.deps, ciStatus } } : {}), ...rest });
};

async function withConfig<T>(values: Record<string, unknown>, run: () => Promise<T>): Promise<T> {
  const engine = await ds.engine();
  const before = await engine.getConfig();
  try {
    await engine.setConfig(
      Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: typeof v === "string" ? v : JSON.stringify(v) }])),
    );
    return await run();
  } finally {
    await engine.setConfig(Object.fromEntries(Object.keys(values).map((k) => [k, before[k]!])));
  }
}

beforeAll(async () => {
  clearCorner(corner);
  ds = await driverStack(stackName, quiet);
  dir = ds.dir;
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
});

afterAll(async () => {
  clearCorner(corner);
  await ds?.cleanup();
});

describe("deploy, monitor, verdict", () => {
  it("v1 is deployed, passes the monitor and becomes verified", async () => {
    const s = await release("v1");
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    expect(s.exitCode).toBe(ExitCode.Ok);
    expect(s.monitor?.verdict.state).toBe("passed");
    expect(s.monitor?.rounds.length).toBe(8); // 4 s every 0.5 s
    expect(await liveVersion()).toBe("v1");
    const host = hostStatus();
    expect(host.current?.id).toBe("v1");
    expect(host.verified?.id).toBe("v1");
    expect(Object.values(host.verified!.images)).toEqual(expect.arrayContaining(Object.values(target.releases.v1!)));
    expect(s.prechecks.every((p) => p.ok)).toBe(true);
  });

  it("v2 fails a check in every round: at the second failed check the rate can no longer be met, and it rolls back to v1 by itself; a failure issue is opened", async () => {
    const github: FakeGitHub = await startFakeGitHub();
    try {
      const s = await release("v2");
      expect(s.outcome, explain(s)).toBe("rolled-back");
      expect(s.exitCode).toBe(ExitCode.FailedRolledBack);
      // 8 rounds of 3 endpoints = 24 checks, 95 %: one failed check is tolerated, the second decides.
      expect(s.monitor?.verdict).toMatchObject({ state: "failed", reason: "success-rate", failedChecks: 2 });
      expect(s.monitor?.rounds).toHaveLength(2);
      expect(s.monitor?.rounds.every((r) => r.failures.some((f) => f.includes("/api/auth/status")))).toBe(true);
      expect(s.rollback).toMatchObject({ from: "v2", to: "v1" });
      expect(s.rollback?.monitor?.verdict.state).toBe("passed");
      expect(await liveVersion()).toBe("v1");
      expect(hostStatus().current?.id).toBe("v1");

      const gh = new GitHubRest({ baseUrl: github.url, token: github.token });
      await publishReports(s, { reportDir: join(dir, "reports"), repo: { owner: "acme", repo: "awareness" }, github: gh, log: quiet });
      expect(github.issues).toHaveLength(1);
      expect(github.issues[0]!.title).toBe(`Deployment failed: v2 on ${stackName}`);
      expect(github.issues[0]!.body).toContain("/api/auth/status");
    } finally {
      await github.close();
    }
  });

  it("v3 (flaky) never fails 3 rounds in a row but is rolled back on its success rate", async () => {
    // v3 fails every 5th /api/health request (probes and Docker's healthcheck share the count),
    // so how many of the default 8 rounds fail varies with timing. A 16-round watch at 98 % (0 of
    // 48 checks tolerated) fails it for sure, on the rate, at its first failed check.
    const monitor = { durationSeconds: 8, intervalSeconds: 0.5, consecutiveFailures: 3, successRate: 0.98 };
    const s = await withConfig({ "awareness:monitor": monitor }, () => release("v3"));
    expect(s.outcome, explain(s)).toBe("rolled-back");
    expect(s.monitor?.verdict).toMatchObject({ state: "failed", reason: "success-rate", failedChecks: 1 });
    const v = s.monitor!.verdict as { successRate: number; longestFailureStreak: number };
    expect(v.successRate).toBeLessThan(0.98);
    expect(v.longestFailureStreak).toBeLessThan(3);
    expect(await liveVersion()).toBe("v1");
  });

  it("v4 (slow) answers after the probe timeout: timeouts count as failures, rolled back", async () => {
    // v4 answers after 3 s, past the 1.5 s probe timeout (and its own image healthcheck's
    // 3 s): the switch does not wait for health here, so only the monitor can catch it.
    const services = sandboxStackConfig(target, "v4", { ...corner, waitHealthy: false })["awareness:services"]!.value;
    const s = await withConfig({ "awareness:services": services }, () => release("v4"));
    expect(s.outcome, explain(s)).toBe("rolled-back");
    // Every endpoint times out: the first round's 3 failed checks are more than the 1 of 24 the
    // rate tolerates, so the watch fails there, without waiting for a streak.
    expect(s.monitor?.verdict).toMatchObject({ state: "failed", reason: "success-rate", failedChecks: 3 });
    expect(s.monitor?.rounds.length).toBe(1);
    expect(s.monitor?.rounds.every((r) => r.failures.length === 3 && r.failures.every((f) => /timeout after 1500 ms/.test(f)))).toBe(true);
    expect(await liveVersion()).toBe("v1");
  });

  it("probing from the host itself over SSH (probeMode ssh) catches v2 the same way", async () => {
    const health = {
      baseUrl: `http://127.0.0.1:${corner.ports.backend}`,
      endpoints: ["/api/health", "/api/docs", "/api/auth/status"],
      probeTimeoutSeconds: 1.5,
      probeMode: "ssh",
    };
    const s = await withConfig({ "awareness:health": health }, () => release("v2"));
    expect(s.outcome, explain(s)).toBe("rolled-back");
    expect(s.monitor?.verdict).toMatchObject({ state: "failed", reason: "success-rate", failedChecks: 2 });
    expect(s.monitor?.rounds[0]?.failures.join(" ")).toMatch(/\/api\/auth\/status.*500/);
    expect(s.rollback?.monitor?.verdict.state).toBe("passed");
    expect(await liveVersion()).toBe("v1");
  });

  it("v5 never starts: the update fails, v1 keeps serving, nothing to roll back", async () => {
    const s = await release("v5");
    expect(s.outcome, explain(s)).toBe("up-failed");
    expect(s.exitCode).toBe(ExitCode.FailedRolledBack);
    expect(s.monitor).toBeUndefined();
    expect(s.up?.error).toMatch(/service backend/);
    expect(await liveVersion()).toBe("v1");
    expect(hostStatus().current?.id).toBe("v1");
  });

  it("the up is held to the preview's plan: config changed between preview and up is refused, the host untouched", async () => {
    // The run's own engine, so the test can change its config after the preview, as another
    // hand (or a bug in a later stage) would; the up must then do nothing the preview did not show.
    let runEngine: RunEngine | undefined;
    const deps: RunDeps = { ...ds.deps, openEngine: async (args) => (runEngine = await ds.deps.openEngine(args)) };
    const releaseKey = "awareness:release";
    const before = onHost(`cat ${corner.appDir}/deployment.json`);
    const containers = () => JSON.stringify(runningOnHost(corner.composeProject));
    const running = containers();
    let planSeen: { text: string; dir: string } | undefined;
    const s = await release("v6-planned", {
      images: target.releases.v1,
      deps,
      onStage: async (stage) => {
        if (stage !== "up") return;
        const config = await runEngine!.getConfig();
        const previewed = JSON.parse(config[releaseKey]!.value) as { images: Record<string, string> };
        const changed = { ...previewed, images: { ...previewed.images, backend: target.releases.v2!.backend } };
        await runEngine!.setConfig({ [releaseKey]: { value: JSON.stringify(changed), secret: false } });
        const dir = readdirSync(tmpdir()).filter((d) => d.startsWith("awareness-plan-")).map((d) => join(tmpdir(), d)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
        planSeen = { text: readFileSync(join(dir, "plan.json"), "utf8"), dir };
        // The plan holds the stack's inputs: every secret in it is encrypted.
        for (const v of Object.values(config).filter((c) => c.secret)) expect(planSeen.text).not.toContain(v.value.slice(0, 40));
      },
    });
    expect(s.preview?.heldToPlan).toBe(true);
    expect(s.outcome, explain(s)).toBe("up-failed");
    expect(s.up?.error ?? "").toMatch(/violates plan/);
    expect(planSeen?.text).toContain("resourcePlans");
    expect(existsSync(planSeen!.dir)).toBe(false); // removed when the run ended
    // The host: the same release current and verified (the refused one noted as failed), the same containers, still v1.
    const was = JSON.parse(before) as Record<string, unknown>;
    const now = JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)) as Record<string, unknown> & { failed: { id: string; reason: string } };
    expect({ current: now.current, verified: now.verified, previous: now.previous }).toEqual({ current: was.current, verified: was.verified, previous: was.previous });
    expect(now.failed.id).toBe("v6-planned");
    expect(now.failed.reason).toMatch(/violates plan/);
    expect(containers()).toBe(running);
    expect(await liveVersion()).toBe("v1");
  });
});

describe("blocked before any change", () => {
  async function expectUntouched(run: () => Promise<RunSummary>): Promise<RunSummary> {
    const before = onHost(`cat ${corner.appDir}/deployment.json`);
    const s = await run();
    expect(s.outcome, explain(s)).toBe("blocked");
    expect(s.exitCode).toBe(ExitCode.Blocked);
    expect(onHost(`cat ${corner.appDir}/deployment.json`)).toBe(before);
    expect(await liveVersion()).toBe("v1");
    return s;
  }

  it("an image missing from the registry", async () => {
    const s = await expectUntouched(() =>
      release("v6", { images: { backend: `${target.registry}/awareness-backend:no-such-tag` } }),
    );
    expect(s.prechecks.find((p) => p.name === "images in registry")).toMatchObject({ ok: false });
  });

  it("the commit's CI/CD run failed", async () => {
    const github = await startFakeGitHub();
    try {
      const sha = "0123456789abcdef0123456789abcdef01234567";
      github.seedRun("acme", "awareness", "ci-cd.yml", { head_sha: sha, conclusion: "failure" });
      const gh = new GitHubRest({ baseUrl: github.url, token: github.token });
      const s = await expectUntouched(() =>
        release("v1", {
          gitSha: sha,
          skipCiCheck: false,
          ciStatus: (commit) => gh.ciStatusForCommit({ owner: "acme", repo: "awareness", sha: commit }),
        }),
      );
      expect(s.prechecks.find((p) => p.name === "ci-cd status")?.detail).toMatch(/failure/);
    } finally {
      await github.close();
    }
  });

  it("the free disk floor is not met", async () => {
    const s = await withConfig({ "awareness:precheck": { minFreeDiskMb: 100_000_000, minFreeMemoryMb: 64 } }, () =>
      expectUntouched(() => release("v1")),
    );
    expect(s.prechecks.find((p) => p.name === "disk and memory")?.detail).toMatch(/free disk/);
  });

  it("the host is unreachable: host:port and the cause are named", async () => {
    const closedPort = 1; // nothing listens on tcp/1 here
    const s = await withConfig(
      { "awareness:hosts": [{ name: "sandbox", host: "127.0.0.1", port: closedPort, user: "root", hostKey: target.ssh.hostPublicKey }] },
      () => release("v1"),
    );
    expect(s.outcome, explain(s)).toBe("blocked");
    expect(s.exitCode).toBe(ExitCode.Blocked);
    expect(s.prechecks.find((p) => p.name === "ssh reachable")?.detail).toMatch(/127\.0\.0\.1:1\b.*ECONNREFUSED/);
    expect(await liveVersion()).toBe("v1");
  });

  it("the preview would delete something the replace policy does not allow", async () => {
    const services = {
      backend: { environment: { PORT: String(corner.ports.backend) } },
    };
    // The live release (in the backend) names the frontend too; its image is not carried over
    // once the config no longer declares the service, so the new config is valid: the
    // frontend's resources would simply be deleted.
    const s = await withConfig({ "awareness:services": services }, () =>
      expectUntouched(() => deploy({ ...base, releaseId: "v1-backend-only" })),
    );
    const blocked = s.preview?.blocked ?? [];
    expect(blocked.join(" ")).toMatch(/delete command:remote:Command .*pull-frontend/);
  });
});

describe("precheck and preview on their own", () => {
  it("precheck runs every check for a release and changes nothing", async () => {
    const before = onHost(`cat ${corner.appDir}/deployment.json`);
    const s = await precheck({ ...base, releaseId: "v3", images: target.releases.v3 });
    expect(s.outcome, JSON.stringify(s.prechecks)).toBe("ok");
    expect(s.prechecks.map((p) => p.name)).toEqual(
      expect.arrayContaining(["ssh reachable", "images in registry", "disk and memory", "no deployment in progress"]),
    );
    expect(onHost(`cat ${corner.appDir}/deployment.json`)).toBe(before);
  });

  it("preview shows the plan for a release and leaves the stack config as it was", async () => {
    const configBefore = (await ds.liveConfig())["awareness:release"]?.value;
    const s = await preview({ ...base, releaseId: "v3", images: target.releases.v3 });
    expect(s.outcome, explain(s)).toBe("ok");
    expect(s.preview?.plan.join("\n")).toMatch(/update\s+command:remote:Command .*switch/);
    expect(s.preview?.blocked).toEqual([]);
    expect((await ds.liveConfig())["awareness:release"]?.value).toBe(configBefore);
    expect(await liveVersion()).toBe("v1");
  });
});

describe("locks", () => {
  it("a second deploy is refused while one runs; with --wait-lock it queues and then runs", async () => {
    // A 20 s watch (the corner's is 4 s): the second run must reach its lock stage while the
    // first still holds the lock, however slowly a loaded machine opens its stack.
    const monitor = { durationSeconds: 20, intervalSeconds: 0.5, consecutiveFailures: 3, successRate: 0.95 };
    let releaseFirst!: () => void;
    const firstInMonitor = new Promise<void>((r) => (releaseFirst = r));
    const [first, second, queued] = await withConfig({ "awareness:monitor": monitor }, async () => {
      const first = release("v1", { onStage: (stage) => stage === "monitor" && releaseFirst() });
      await firstInMonitor;
      const second = await release("v1");
      return [first, second, release("v1", { waitLock: true })] as const;
    });
    expect(second.outcome, explain(second)).toBe("lock-held");
    expect(second.exitCode).toBe(ExitCode.LockHeld);
    expect(second.messages.join(" ")).toMatch(/holds the host lock: .*pid \d+/);
    const [a, c] = await Promise.all([first, queued]);
    expect(a.outcome, explain(a)).toBe("deployed-verified");
    expect(c.outcome, explain(c)).toBe("deployed-verified");
    expect(new Date(c.finishedAt!).getTime()).toBeGreaterThan(new Date(a.finishedAt!).getTime());
    expect(onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim()).toBe("free");
  });
});

describe("a lock left by a run that died", () => {
  it("is broken when its holder was a process of this machine that no longer exists", async () => {
    const dead = spawnSync("true").pid!; // a pid that has just exited
    onHost(
      `mkdir -p ${corner.appDir}/.deploy-lock && printf 'holder=%s\\nrelease=v9\\ntime=%s\\n' ${JSON.stringify(`root@${hostname()} pid ${dead}`)} "$(date +%s)" > ${corner.appDir}/.deploy-lock/info`,
    );
    const s = await release("v1");
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    expect(s.messages.join(" ")).toMatch(new RegExp(`Broke the host lock of a run that died: root@\\S+ pid ${dead}`));
    expect(onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim()).toBe("free");
  });
});

describe("manual rollback and restore", () => {
  it("refuses without the exact confirmation word, before touching anything", async () => {
    const s = await rollback({ ...base, reason: "test", confirm: "rollback" });
    expect(s.exitCode).toBe(ExitCode.Usage);
    expect(s.messages.join(" ")).toMatch(/--confirm must be exactly ROLLBACK/);
    expect(await liveVersion()).toBe("v1");
  });

  it("rolls back to the previous verified release, and --to a named one; lists candidates for an unknown one", async () => {
    const b = await release("v1b", { env: { APP_ENV: "second" } });
    expect(b.outcome, explain(b)).toBe("deployed-verified");
    expect((await verifiedReleases(await ds.engine())).map((v) => v.id).slice(0, 2)).toEqual(["v1b", "v1"]);

    const back = await rollback({ ...base, reason: "login slow since v1b", confirm: "ROLLBACK" });
    expect(back.outcome, explain(back)).toBe("rollback-done");
    expect(back.rollback).toMatchObject({ from: "v1b", to: "v1" });
    expect(hostStatus().current?.id).toBe("v1");
    expect(onHost(`cat ${corner.appDir}/.env`)).toMatch(/APP_ENV='?sandbox'?\n/);

    const forward = await rollback({ ...base, reason: "v1b was fine after all", confirm: "ROLLBACK", to: "v1b" });
    expect(forward.outcome, explain(forward)).toBe("rollback-done");
    expect(hostStatus().current?.id).toBe("v1b");
    expect(onHost(`cat ${corner.appDir}/.env`)).toMatch(/APP_ENV='?second'?\n/);

    const unknown = await rollback({ ...base, reason: "x", confirm: "ROLLBACK", to: "v9" });
    expect(unknown.exitCode).toBe(ExitCode.Usage);
    expect(unknown.messages.join(" ")).toMatch(/Unknown rollback target "v9".*v1b.*v1/);
  });

  it("restore --release puts that release's newest backup set back and starts it", async () => {
    expect(hostStatus().current?.id).toBe("v1b");
    const s = await restore({ ...base, confirm: "RESTORE", release: "v1", log: quiet });
    expect(s.outcome, explain(s)).toBe("restored");
    expect(s.restore).toMatchObject({ release: "v1", from: "v1b", set: expect.stringMatching(/^\d{8}T\d{6}Z-v1$/) });
    expect(hostStatus().current?.id).toBe("v1");
    expect(await liveVersion()).toBe("v1");
    const st = (await status({ ...base })).report!;
    expect(st.host?.current?.id).toBe("v1");
    expect(st.lastVerified?.id).toBe("v1");
    expect(st.history.length).toBeGreaterThan(5);
  });
});
