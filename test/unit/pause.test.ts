// "On failure: pause" against the in-memory engine and host (test/support/) on a fake clock: a
// failed verdict holds the release live, marked paused on the host, until promote, abort, the
// timeout or a cancel decides; promote/abort refuse when nothing (or another release) is paused.
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { abort, promote } from "../../automation/commands/decide.js";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { precheck } from "../../automation/commands/precheck.js";
import { status } from "../../automation/commands/status.js";
import { Cancellation } from "../../automation/common/cancel.js";
import { onFailureChoice } from "../../automation/common/cli-args.js";
import type { Prober } from "../../automation/monitor/probers.js";
import { renderMarkdown } from "../../automation/report/markdown.js";
import { outcomes, type Outcome } from "../../automation/report/outcomes.js";
import { renderStatus } from "../../automation/report/status-text.js";
import type { RunSummary } from "../../automation/report/summary.js";
import { sandboxStackConfig } from "../../automation/sandbox/target.js";
import { unverifiedTag, verifiedTag } from "../../automation/stages/releases.js";
import type { RunOptions } from "../../automation/stages/run.js";
import { ConfigError, parseStackConfig, rawFromAutomationConfig } from "../../components/config/parse.js";
import { fakeClock, type FakeClock } from "../support/fake-clock.js";
import { fakeSshKey, fakeTarget, hex, imagesOf } from "../support/fake-target.js";
import { fakeDeps, FakeStack } from "../support/fake-engine.js";
import { FakeHost } from "../support/fake-host.js";
import { httpRecorder, type Recorder } from "../support/http-recorder.js";

const target = fakeTarget;

/** The sandbox's 4 s watch of 0.5 s rounds; `monitor` adds pause settings. */
function stackConfig(monitor: Record<string, unknown> = {}): ConfigMap {
  const config = sandboxStackConfig(target, "v1", {});
  const base = JSON.parse(config["awareness:monitor"]!.value) as Record<string, unknown>;
  config["awareness:monitor"] = { value: JSON.stringify({ ...base, ...monitor }) };
  config["awareness:sshPrivateKey"] = fakeSshKey;
  return config;
}

interface World {
  stack: FakeStack;
  host: FakeHost;
  clock: FakeClock;
  cancellation: Cancellation;
  broken: Set<string>;
  issues: { title: string; body: string }[];
  base(): RunOptions;
  deploy(id: string, extra?: Partial<DeployRequest>): Promise<RunSummary>;
}

function world(config = stackConfig({ onFailure: "pause" })): World {
  const fake = fakeClock();
  // Each poll of the pause yields a macrotask, so a promote started beside the deploy gets its turn.
  const clock: FakeClock = { ...fake, sleep: async (ms, signal) => (await fake.sleep(ms, signal), new Promise<void>((r) => setImmediate(r))) };
  const host = new FakeHost({ now: () => clock.now() });
  const stack = new FakeStack("sandbox", config, { host });
  const w = { stack, host, clock, cancellation: new Cancellation(), broken: new Set<string>(), issues: [] } as unknown as World;
  const prober: Prober = {
    async probe(round) {
      const ok = !w.broken.has(host.currentId ?? "");
      return ["/api/health", "/api/docs", "/api/auth/status"].map((endpoint) => ({
        round,
        endpoint,
        startedAt: clock.now(),
        ok,
        latencyMs: 12,
        ...(ok ? { status: 200 } : { status: 500, error: "HTTP 500" }),
      }));
    },
  };
  const deps = {
    ...fakeDeps({ stack, host, clock, prober: () => prober, ciStatus: async () => ({ state: "success" as const, runUrl: "https://ci.test/1" }) }),
    openIssue: async (issue: { title: string; body: string }) => (w.issues.push(issue), { url: "https://github.test/acme/awareness/issues/1" }),
  };
  w.base = () => ({ stackName: "sandbox", deps, cancellation: w.cancellation });
  w.deploy = (id, extra = {}) => deploy({ ...w.base(), releaseId: id, gitSha: hex(id).slice(0, 40), images: imagesOf(id), ...extra });
  return w;
}

function expectEnd(s: RunSummary, outcome: Outcome): void {
  expect({ outcome: s.outcome, exitCode: s.exitCode }, s.messages.join("\n")).toEqual({ outcome, exitCode: outcomes[outcome].exitCode });
}

/** v1 verified, then v2 (broken) deployed with `extra`; `during` runs once v2 is paused. */
async function pausedV2(w: World, during: (w: World) => Promise<void>, extra: Partial<DeployRequest> = {}): Promise<RunSummary> {
  expectEnd(await w.deploy("v1"), "deployed-verified");
  w.broken.add("v2");
  const run = w.deploy("v2", extra);
  while (!w.host.record?.paused) {
    if (w.host.record?.failed?.id === "v2") break; // it did not pause: the awaited run says why
    await new Promise((r) => setImmediate(r));
  }
  if (w.host.record?.paused) await during(w);
  return run;
}

const decide = { reason: "users are fine, the auth probe is wrong" };

describe("pause, then a decision", () => {
  // The decision names a local operator (user@host): not the CI run these tests may run in.
  beforeAll(() => vi.stubEnv("GITHUB_ACTIONS", ""));
  afterAll(() => vi.unstubAllEnvs());

  it("promote: the paused release is marked verified with who and why; outcome promoted (exit 0); the host shows it paused while it waits", async () => {
    const w = world();
    let seen: unknown;
    const s = await pausedV2(w, async () => {
      seen = structuredClone(w.host.record?.paused);
      // A lock held meanwhile: the paused deploy still has it.
      expect(w.host.lock?.release).toBe("v2");
      const handed = await promote({ ...w.base(), cancellation: new Cancellation(), ...decide, release: "v2" });
      expectEnd(handed, "ok");
    });
    expectEnd(s, "promoted");
    expect(seen).toMatchObject({
      id: "v2",
      reason: expect.stringContaining("v2 failed its health check"),
      onTimeout: "abort",
      promote: 'npm run driver -- promote --stack sandbox --release v2 --reason "<why>"',
      abort: 'npm run driver -- abort --stack sandbox --release v2 --reason "<why>"',
    });
    expect(Date.parse((seen as { deadline: string }).deadline) - Date.parse((seen as { pausedAt: string }).pausedAt)).toBe(30 * 60_000);
    expect(s.pause?.decision).toMatchObject({ action: "promote", by: expect.stringContaining("@"), reason: decide.reason, byTimeout: false });
    expect(s.messages.join(" ")).toContain(`promoted by ${s.pause!.decision!.by}: ${decide.reason}`);
    expect(w.host.record).toMatchObject({ current: { id: "v2" }, verified: { id: "v2" }, paused: null });
    expect(w.stack.tags[verifiedTag]).toContain("v2");
    expect(w.host.lock).toBeNull();
    expect(w.host.pauseDecision).toBeUndefined(); // taken
    // The failure issue was filed at the pause, with the commands that decide.
    expect(w.issues).toHaveLength(1);
    expect(w.issues[0]!.title).toBe("Deployment failed: v2 on sandbox");
    expect(w.issues[0]!.body).toContain("deploy v2 on sandbox: failed its health check: paused, live, waiting for promote or abort");
    expect(w.issues[0]!.body).toContain("npm run driver -- abort --stack sandbox --release v2");
    expect(renderMarkdown(s)).toContain(`Decision: **promote** by ${s.pause!.decision!.by}`);
    // The audit trail: the deploy (paused, promoted) and the promote command itself.
    expect(w.host.auditEntries.map((e) => [e.command, e.outcome])).toEqual([
      ["deploy", "deployed-verified"],
      ["promote", "ok"],
      ["deploy", "promoted"],
    ]);
    expect(w.host.auditEntries[2]!.reason).toMatch(/^paused \(automatic: v2 failed its health check .*\), promote by .*: users are fine/);
  });

  it("abort: the release is recorded failed and the automatic rollback brings v1 back (rolled-back)", async () => {
    const w = world();
    const s = await pausedV2(w, async () => {
      expectEnd(await abort({ ...w.base(), cancellation: new Cancellation(), reason: "auth is down for users" }), "ok");
    });
    expectEnd(s, "rolled-back");
    expect(s.pause?.decision).toMatchObject({ action: "abort", reason: "auth is down for users", byTimeout: false });
    expect(s.rollback).toMatchObject({ from: "v2", to: "v1", reason: expect.stringMatching(/^aborted by .*: auth is down for users$/) });
    expect(w.host.record).toMatchObject({ current: { id: "v1" }, verified: { id: "v1" }, failed: { id: "v2" }, paused: null });
  });

  it("timeout, onPauseTimeout abort (the default): rolled back once the deadline passed, and the report says the timeout decided", async () => {
    const w = world(stackConfig({ onFailure: "pause", pauseTimeoutMinutes: 2 }));
    let pausedAt = 0;
    const s = await pausedV2(w, async () => void (pausedAt = w.clock.now()));
    expectEnd(s, "rolled-back");
    expect(s.pause?.decision).toMatchObject({ action: "abort", by: "the pause timeout", byTimeout: true });
    expect(s.rollback?.reason).toMatch(/^the pause timeout decided abort \(nobody decided by /);
    expect(w.clock.now() - pausedAt).toBeGreaterThanOrEqual(2 * 60_000);
    expect(w.host.currentId).toBe("v1");
  });

  it("timeout, onPauseTimeout promote: promoted by the timeout (the CLI's --pause-timeout in seconds overrides the config)", async () => {
    const w = world(stackConfig({ onFailure: "pause", onPauseTimeout: "promote" }));
    const start = w.clock.now();
    const s = await pausedV2(w, async () => undefined, { pauseTimeoutSeconds: 20 });
    expectEnd(s, "promoted");
    expect(s.pause?.decision).toMatchObject({ action: "promote", byTimeout: true });
    expect(Date.parse(s.pause!.deadline) - Date.parse(s.pause!.pausedAt)).toBe(20_000);
    expect(w.clock.now() - start).toBeLessThan(60_000);
    expect(w.host.record).toMatchObject({ verified: { id: "v2" }, paused: null });
  });

  it("a cancel during the pause: the release stays live, unverified, the pause mark goes, the lock is released (exit 7)", async () => {
    const w = world();
    const s = await pausedV2(w, async () => w.cancellation.cancel("SIGTERM"));
    expectEnd(s, "cancelled");
    expect(s.messages.join(" ")).toContain("the pause of v2 was cancelled before a decision");
    expect(w.host.record).toMatchObject({ current: { id: "v2" }, verified: { id: "v1" }, paused: null });
    expect(w.stack.tags[unverifiedTag]).toContain("v2");
    expect(w.host.lock).toBeNull();
  });

  it("a decision for another release is dropped; the pause goes on to its own decision", async () => {
    const w = world(stackConfig({ onFailure: "pause", pauseTimeoutMinutes: 1 }));
    const s = await pausedV2(w, async () => {
      w.host.pauseDecision = { decision: "promote", release: "v9", by: "mallory@x", reason: "stale", decidedAt: "2026-01-01T00:00:00Z" };
    });
    expectEnd(s, "rolled-back");
    expect(s.pause?.decision?.byTimeout).toBe(true);
  });

  it("sends the paused notification at once, then failed and rolled-back at the end", async () => {
    let hook: Recorder | undefined;
    try {
      hook = await httpRecorder();
      const config = stackConfig({ onFailure: "pause", pauseTimeoutMinutes: 1 });
      config["awareness:notify"] = { value: JSON.stringify([{ kind: "webhook", url: hook.url, secret: "hook-secret-0123456789" }]), secret: true };
      const w = world(config);
      await pausedV2(w, async () => undefined);
      expect(hook.requests.map((q) => q.headers["x-awareness-event"])).toEqual(["started", "verified", "started", "paused", "failed", "rolled-back"]);
      const paused = JSON.parse(hook.requests[3]!.body) as { headline: string; outcome?: string; messages: string[] };
      expect(paused.headline).toBe("failed its health check: paused, live, waiting for promote or abort");
      expect(paused.outcome).toBeUndefined();
      expect(paused.messages).toContain('npm run driver -- abort --stack sandbox --release v2 --reason "<why>"');
    } finally {
      await hook?.close();
    }
  });
});

describe("promote and abort refuse", () => {
  it("when nothing is paused: usage (exit 2), nothing written", async () => {
    const w = world();
    expectEnd(await w.deploy("v1"), "deployed-verified");
    const s = await promote({ ...w.base(), ...decide });
    expectEnd(s, "usage");
    expect(s.messages.join(" ")).toContain("Nothing is paused on stack sandbox");
    expect(w.host.calls).not.toContain("decidePause");
  });

  it("when --release names another release than the paused one", async () => {
    const w = world();
    const s = await pausedV2(w, async () => {
      const refused = await abort({ ...w.base(), cancellation: new Cancellation(), ...decide, release: "v3" });
      expectEnd(refused, "usage");
      expect(refused.messages.join(" ")).toContain("--release v3 is not the paused release: v2 is paused");
      expect(w.host.pauseDecision).toBeUndefined();
      // status shows the pause, its deadline and the commands that decide.
      const shown = renderStatus((await status({ ...w.base(), cancellation: new Cancellation() })).report!);
      expect(shown).toMatch(/PAUSED: +v2 since .* until .* \(then abort\)/);
      expect(shown).toContain("npm run driver -- promote --stack sandbox --release v2");
      w.cancellation.cancel("SIGTERM");
    });
    expectEnd(s, "cancelled");
  });

  it("a reason that is empty or not one line, before anything is opened", async () => {
    const w = world();
    for (const reason of ["", "  ", "two\nlines"]) {
      const s = await promote({ ...w.base(), reason });
      expectEnd(s, "usage");
      expect(w.stack.opened).toEqual([]);
    }
  });
});

describe("pause settings", () => {
  it("monitor.onFailure, pauseTimeoutMinutes and onPauseTimeout are validated by the schema, naming the key", () => {
    const raw = (monitor: Record<string, unknown>) => rawFromAutomationConfig(stackConfig(monitor));
    expect(parseStackConfig(raw({ onFailure: "pause", pauseTimeoutMinutes: 300, onPauseTimeout: "promote" })).monitor).toMatchObject({ onFailure: "pause", pauseTimeoutMinutes: 300, onPauseTimeout: "promote" });
    for (const [bad, key] of [
      [{ onFailure: "later" }, "monitor.onFailure"],
      [{ pauseTimeoutMinutes: 0 }, "monitor.pauseTimeoutMinutes"],
      [{ pauseTimeoutMinutes: 301 }, "monitor.pauseTimeoutMinutes"],
      [{ onPauseTimeout: "rollback" }, "monitor.onPauseTimeout"],
    ] as const) {
      let err: unknown;
      try {
        parseStackConfig(raw(bad));
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad)).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(key);
    }
  });

  it("the CLI's --on-failure takes rollback or pause only", () => {
    expect(onFailureChoice("pause")).toBe("pause");
    expect(onFailureChoice("rollback")).toBe("rollback");
    expect(() => onFailureChoice("Pause")).toThrow('expected rollback or pause, got "Pause"');
  });

  it("a bad --on-failure or --pause-timeout is refused before any remote command; precheck shows the policy", async () => {
    const w = world(stackConfig());
    for (const extra of [{ onFailure: "later" as "pause" }, { pauseTimeoutSeconds: 0 }, { pauseTimeoutSeconds: 300 * 60 + 1 }]) {
      const s = await w.deploy("v1", extra);
      expectEnd(s, "usage");
      expect(w.host.calls).toEqual([]);
    }
    const pre = await precheck({ ...w.base(), releaseId: "v1", gitSha: hex("v1").slice(0, 40), images: imagesOf("v1") });
    expect(pre.prechecks.find((p) => p.name === "monitor policy")?.detail).toContain("on failure: roll back");
    const paused = world(stackConfig({ onFailure: "pause", pauseTimeoutMinutes: 45, onPauseTimeout: "promote" }));
    const pre2 = await precheck({ ...paused.base(), releaseId: "v1", gitSha: hex("v1").slice(0, 40), images: imagesOf("v1") });
    expect(pre2.prechecks.find((p) => p.name === "monitor policy")?.detail).toContain("on failure: pause up to 45 min, then promote");
  });
});
