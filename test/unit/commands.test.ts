// The driver's commands as decision tables, run against an in-memory engine and host
// (test/support/fake-engine.ts, fake-host.ts) and a fake clock: no engine, no SSH, no
// network. Each case asserts the outcome and its exit code (from the outcome table), the stage
// the run ended in, which engine calls happened, and what the host and the stack hold after.
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { precheck } from "../../automation/commands/precheck.js";
import { preview } from "../../automation/commands/preview.js";
import { restore, type RestoreRequest } from "../../automation/commands/restore.js";
import { rollback, type RollbackRequest } from "../../automation/commands/rollback.js";
import { status } from "../../automation/commands/status.js";
import { unlock } from "../../automation/commands/unlock.js";
import { githubRunId } from "../../automation/common/cli-args.js";
import { parseDeploymentStatus } from "../../components/host-commands/status.js";
import { runActor } from "../../automation/common/actor.js";
import { Cancellation } from "../../automation/common/cancel.js";
import { lockHolder } from "../../automation/host/lock.js";
import type { Prober } from "../../automation/monitor/probers.js";
import { proberFor } from "../../automation/monitor/watch.js";
import { failureIssueFor, renderMarkdown } from "../../automation/report/markdown.js";
import { hostError } from "../../automation/stages/apply.js";
import { outcomes, type Outcome } from "../../automation/report/outcomes.js";
import { renderStatus } from "../../automation/report/status-text.js";
import type { RunSummary } from "../../automation/report/summary.js";
import { sandboxStackConfig } from "../../automation/sandbox/target.js";
import type { CiStatusSource } from "../../automation/stages/prechecks.js";
import { lastFailedTag, unverifiedTag, updateKey, verifiedTag } from "../../automation/stages/releases.js";
import type { RunOptions } from "../../automation/stages/run.js";
import { fakeClock, type FakeClock } from "../support/fake-clock.js";
import { fakeSshKey, fakeTarget, hex, imagesOf, type ReleaseId } from "../support/fake-target.js";
import { defaultPreviewEvents, fakeDeps, FakeStack, stepEvent } from "../support/fake-engine.js";
import { FakeHost } from "../support/fake-host.js";
import { httpRecorder, type Recorder } from "../support/http-recorder.js";

// ---- the made-up sandbox: three releases of two services, pinned by digest ----

const target = fakeTarget;

/** The stack file's config: release v1 (the placeholder a first deploy replaces), a 4 s watch of 0.5 s rounds. */
function stackConfig(overrides: Record<string, unknown> = {}): ConfigMap {
  const config = sandboxStackConfig(target, "v1", { overrides });
  config["awareness:sshPrivateKey"] = fakeSshKey;
  return config;
}

const shaOf = (id: string) => hex(`commit ${id}`).slice(0, 40);

// ---- one world per test: a stack, a host, a clock, and a prober that follows the host ----

interface World {
  stack: FakeStack;
  host: FakeHost;
  clock: FakeClock;
  deps: ReturnType<typeof fakeDeps>;
  cancellation: Cancellation;
  /** Releases whose health endpoints fail while the host runs them. */
  broken: Set<string>;
  /** Called at each probe round (e.g. to cancel the run mid-watch). */
  onProbe?: (round: number) => void;
  base(): RunOptions;
  deploy(id: ReleaseId | string, extra?: Partial<DeployRequest>): Promise<RunSummary>;
  rollback(req: Partial<RollbackRequest>): Promise<RunSummary>;
  /** Marks the engine's call log now; the function returned lists the long operations since. */
  mark(): () => string[];
}

/** Probes every endpoint: each fails while the host runs a release of `broken`. */
function releaseProber(w: World): Prober {
  return {
    async probe(round) {
      w.onProbe?.(round);
      const id = w.host.currentId ?? "none";
      const ok = !w.broken.has(id);
      return ["/api/health", "/api/docs", "/api/auth/status"].map((endpoint) => ({
        round,
        endpoint,
        startedAt: w.clock.now(),
        ok,
        latencyMs: 12,
        ...(ok ? { status: 200 } : { status: 503, error: "HTTP 503" }),
      }));
    },
  };
}

function world(opts: { gitStatus?: string; ci?: CiStatusSource; config?: ConfigMap; prober?: (w: World) => Prober } = {}): World {
  const clock = fakeClock();
  const host = new FakeHost({ now: () => clock.now() });
  const stack = new FakeStack("sandbox", opts.config ?? stackConfig(), { host });
  const w = { stack, host, clock, broken: new Set<string>(), cancellation: new Cancellation() } as World;
  w.deps = fakeDeps({
    stack,
    host,
    clock,
    gitStatus: opts.gitStatus ?? "",
    ciStatus: opts.ci ?? (async () => ({ state: "success", runUrl: "https://ci.test/runs/1" })),
    prober: () => (opts.prober ?? releaseProber)(w),
  });
  w.base = () => ({ stackName: "sandbox", deps: w.deps, cancellation: w.cancellation });
  w.deploy = (id, extra = {}) =>
    deploy({ ...w.base(), releaseId: id, gitSha: shaOf(id), images: imagesOf(id), ...extra });
  w.rollback = (req) => rollback({ ...w.base(), reason: "bad release", confirm: "ROLLBACK", ...req });
  w.mark = () => {
    const at = stack.calls.length;
    return () => stack.ops(at);
  };
  return w;
}

/** Deploys the releases one after another; each must pass. */
async function deployed(w: World, ...ids: ReleaseId[]): Promise<void> {
  for (const id of ids) {
    const s = await w.deploy(id);
    expect(s.outcome, `deploy ${id}: ${s.messages.join(" / ")}`).toBe("deployed-verified");
  }
}

/** The update key of the n-th update of the stack (1-based, oldest first). */
const key = (w: World, n: number) => updateKey(w.stack.updates[n - 1]!);
const releaseInConfig = (w: World) => w.stack.releaseInConfig()?.id;
const me = () => lockHolder();

/** The outcome, its exit code from the table, and where the run ended. */
function expectEnd(s: RunSummary, outcome: Outcome, lastStage: string | undefined): void {
  expect({ outcome: s.outcome, exitCode: s.exitCode, lastStage: s.lastStage }, s.messages.join("\n")).toEqual({
    outcome,
    exitCode: outcomes[outcome].exitCode,
    lastStage,
  });
}

/** Every host door this run opened was closed, and the run left no lock of its own. */
function expectHostLeftClean(w: World): void {
  expect(w.host.closeCount).toBe(w.deps.hostOpens.length);
  expect(w.host.lock?.holder).not.toBe(me());
}

// ---- deploy ----

describe("deploy", () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  it("a first deploy that passes its watch is deployed-verified: tag, host record, config kept", async () => {
    const ops = w.mark();
    const s = await w.deploy("v1");
    expectEnd(s, "deployed-verified", "verdict");
    expect(ops()).toEqual(["preview", "up"]);
    expect(w.stack.tags[verifiedTag]).toBe(`v1@${key(w, 1)}`);
    expect(w.stack.tags[lastFailedTag]).toBeUndefined();
    expect(w.host.record).toMatchObject({ current: { id: "v1" }, verified: { id: "v1" }, previous: null });
    expect(w.host.lockHolders).toEqual([me()]);
    expect(w.host.lock).toBeNull();
    expect(releaseInConfig(w)).toBe("v1");
    expect(s.monitor?.verdict).toMatchObject({ state: "passed", rounds: 8, failedRounds: 0 });
    expect(s.prechecks.every((p) => p.ok)).toBe(true);
    expectHostLeftClean(w);
  });

  it("the up is held to the plan its preview saved (a private file, gone when the run ends); the report says so", async () => {
    const s = await w.deploy("v1");
    expectEnd(s, "deployed-verified", "verdict");
    const [saved] = w.stack.plans.saved;
    expect(saved).toMatch(/awareness-plan-[^/]+\/plan\.json$/);
    expect(w.stack.plans.followed).toEqual([saved]);
    expect(existsSync(dirname(saved!))).toBe(false);
    expect(s.preview?.heldToPlan).toBe(true);
    expect(renderMarkdown(s)).toContain("held to this preview's plan");
  });

  it("a rollback's up has no plan (no preview came before it)", async () => {
    await deployed(w, "v1");
    w.broken.add("v2");
    expectEnd(await w.deploy("v2"), "rolled-back", "rollback");
    expect(w.stack.plans.followed.at(-1)).toBeUndefined();
    expect(w.stack.plans.followed.filter(Boolean)).toHaveLength(2);
  });

  it("a second deploy keeps the first as previous and lists both verified, newest first", async () => {
    await deployed(w, "v1", "v2");
    expect(w.stack.tags[verifiedTag]).toBe(`v2@${key(w, 2)} v1@${key(w, 1)}`);
    expect(w.host.record).toMatchObject({ current: { id: "v2" }, previous: { id: "v1" }, verified: { id: "v2" } });
    // The fake host's record is a valid deployment.json.
    expect(parseDeploymentStatus(JSON.stringify(w.host.record))).toEqual(w.host.record);
  });

  it("the second deploy's precheck finds the last verified release's images on the host", async () => {
    await deployed(w, "v1");
    const s = await w.deploy("v2");
    expect(s.prechecks.find((p) => p.name === "rollback possible")).toMatchObject({ ok: true, detail: expect.stringContaining("v1's 2 image(s)") });
  });

  const blockedByPrechecks: {
    name: string;
    setup: (w: World) => void;
    opts?: Parameters<typeof world>[0];
    failed: string[];
  }[] = [
    { name: "low disk", setup: (w) => (w.host.factsReport.diskFreeMb = 100), failed: ["disk and memory"] },
    { name: "low memory and no docker", setup: (w) => Object.assign(w.host.factsReport, { memAvailableMb: 10, dockerServer: null }), failed: ["docker and compose", "disk and memory"] },
    { name: "a dirty git tree", setup: () => {}, opts: { gitStatus: " M README.md\n?? notes.txt\n" }, failed: ["git tree clean"] },
    { name: "CI failed for the commit", setup: () => {}, opts: { ci: async () => ({ state: "failure" }) }, failed: ["ci-cd status"] },
    { name: "an image missing from the registry", setup: (w) => w.host.registryMissing.set(imagesOf("v1").backend, "manifest unknown"), failed: ["images in registry"] },
    {
      name: "the host gone after the lock",
      setup: (w) => {
        w.host.onCall = (call) => {
          if (call === "facts") throw new Error("cannot reach deploy@fake-host:22 over SSH: ECONNRESET");
        };
      },
      failed: ["ssh reachable", "docker and compose", "disk and memory", "images in registry", "rollback possible"],
    },
  ];

  it.each(blockedByPrechecks)("a failed precheck ($name) blocks before any preview or up", async ({ setup, opts, failed }) => {
    w = world(opts);
    setup(w);
    const before = structuredClone(w.stack.config);
    const ops = w.mark();
    const s = await w.deploy("v1");
    expectEnd(s, "blocked", "prechecks");
    expect(s.prechecks.filter((p) => !p.ok).map((p) => p.name)).toEqual(failed);
    expect(ops()).toEqual([]);
    expect(w.stack.config).toEqual(before);
    expect(w.stack.updates).toEqual([]);
    expect(w.host.record).toBeNull();
    expect(w.host.lock).toBeNull();
    expectHostLeftClean(w);
  });

  it("the images of the last verified release gone from the host and the registry block the deploy (rollback possible)", async () => {
    await deployed(w, "v1");
    w.host.images.delete(imagesOf("v1").frontend);
    w.host.registryMissing.set(imagesOf("v1").frontend, "manifest unknown");
    const ops = w.mark();
    const s = await w.deploy("v2");
    expectEnd(s, "blocked", "prechecks");
    expect(s.prechecks.filter((p) => !p.ok)).toEqual([
      { name: "rollback possible", ok: false, detail: `images of the last verified release v1 are gone from the host and from the registry: ${imagesOf("v1").frontend} (manifest unknown)` },
    ]);
    expect(ops()).toEqual([]);
    expect(releaseInConfig(w)).toBe("v1");
  });

  it("the images of the last verified release gone from the host but in the registry pass (a rollback pulls them)", async () => {
    await deployed(w, "v1");
    w.host.images.delete(imagesOf("v1").frontend);
    const s = await w.deploy("v2");
    expect(s.prechecks.find((p) => p.name === "rollback possible")).toMatchObject({
      ok: true,
      detail: `v1's image(s) ${imagesOf("v1").frontend} are not on the host; the registry has them (a rollback pulls them)`,
    });
  });

  it("an unreachable host blocks at the lock (ssh reachable fails) and nothing runs", async () => {
    w.host.unreachable = true;
    const ops = w.mark();
    const s = await w.deploy("v1");
    expectEnd(s, "blocked", "lock");
    expect(s.prechecks).toEqual([expect.objectContaining({ name: "ssh reachable", ok: false })]);
    expect(ops()).toEqual([]);
    expectHostLeftClean(w);
  });

  it("a preview with a delete the replace policy does not allow blocks, and the config is put back", async () => {
    await deployed(w, "v1");
    w.stack.previewEvents = [...defaultPreviewEvents, stepEvent("delete", "command:remote:Command", "awareness-sandbox-pull-redis")];
    const before = structuredClone(w.stack.config);
    const ops = w.mark();
    const s = await w.deploy("v2");
    expectEnd(s, "blocked", "preview");
    expect(s.preview?.blocked).toEqual(["delete command:remote:Command awareness-sandbox-pull-redis"]);
    expect(ops()).toEqual(["preview"]);
    expect(w.stack.config).toEqual(before);
    expect(w.host.record).toMatchObject({ current: { id: "v1" }, verified: { id: "v1" } });
    expectHostLeftClean(w);
  });

  it("the same delete passes when awareness:replacePolicy allows it", async () => {
    w = world({ config: stackConfig({ "awareness:replacePolicy": { allow: [{ type: "command:remote:Command", name: "awareness-sandbox-pull-redis" }] } }) });
    w.stack.previewEvents = [stepEvent("delete", "command:remote:Command", "awareness-sandbox-pull-redis")];
    const s = await w.deploy("v1");
    expectEnd(s, "deployed-verified", "verdict");
    expect(s.preview?.blocked).toEqual([]);
  });

  it("a failed up is up-failed: failed tag and host record, config put back, the previous release still verified", async () => {
    await deployed(w, "v1");
    w.stack.onUp({ kind: "fail", error: new Error("error: update failed\nDiagnostics:\n  the container backend did not start") });
    const before = structuredClone(w.stack.config);
    const ops = w.mark();
    const s = await w.deploy("v2");
    expectEnd(s, "up-failed", "up");
    expect(ops()).toEqual(["preview", "up"]);
    expect(w.stack.tags[lastFailedTag]).toBe(`v2@${key(w, 2)}`);
    expect(w.stack.tags[verifiedTag]).toBe(`v1@${key(w, 1)}`);
    expect(w.stack.config).toEqual(before);
    expect(s.up).toMatchObject({ result: "failed", update: key(w, 2), error: expect.stringContaining("the container backend did not start") });
    expect(w.host.record).toMatchObject({ current: { id: "v1" }, verified: { id: "v1" }, failed: { id: "v2", reason: expect.stringContaining("the container backend did not start") } });
    expectHostLeftClean(w);
  });

  it("a host that stops answering before anything changed (at reconcile) is an error: nothing to claim, nothing changed", async () => {
    await deployed(w, "v1");
    w.host.onCall = (call) => void (call === "observe" && (w.host.unreachable = true));
    const s = await w.deploy("v2");
    expectEnd(s, "error", "reconcile");
    expect(s.messages.join(" ")).toMatch(/cannot reach deploy@fake-host:22 over SSH/);
  });

  it("a failed update's host error stops where the stack's outputs begin", () => {
    const engineError = new Error(
      'error: update failed\nDiagnostics:\n  command:remote:Command (awareness-sandbox-pull-backend):\n    error: running "docker pull r":\n' +
        "    service backend: pull of r failed:\n    Error response from daemon: connection refused\n" +
        'Outputs:\n  - backups : [\n  -     [0]: "/opt/awareness/backups/20260101T000000Z-v1/.env"\n',
    );
    expect(hostError(engineError)).toBe("service backend: pull of r failed:\nError response from daemon: connection refused");
  });

  it("a host that stops answering during a failed up is host-unreachable: nothing claimed about what it runs, the lock left said so", async () => {
    await deployed(w, "v1");
    const hostGoesAway = () => ((w.host.unreachable = true), w.stack.releaseHeldUp());
    w.stack.onUp({ kind: "hold", onHold: hostGoesAway, then: { kind: "fail", error: new Error("error: update failed\nDiagnostics:\n  ssh: connection lost") } });
    const s = await w.deploy("v2");
    expectEnd(s, "host-unreachable", "up");
    expect(s.exitCode).toBe(1);
    const said = s.messages.join("\n");
    expect(said).toContain("The update failed: ssh: connection lost");
    expect(said).toMatch(/The host stopped answering during up: cannot reach deploy@fake-host:22 over SSH: ECONNREFUSED.*What it runs now was not checked/);
    expect(said).not.toMatch(/still runs|rolled back/);
    expect(said).toMatch(/the host lock could not be released .*unlock --stack sandbox --force/);
    expect(w.stack.tags[verifiedTag]).toBe(`v1@${key(w, 1)}`);
    expect(failureIssueFor(s)?.body).toContain("What the host runs is not known");
  });

  it("a pending operation a killed run left is cleared by a refresh before the up", async () => {
    w.stack.pending = [{ type: "creating", urn: "urn:pulumi:sandbox::awareness::command:remote:Command::awareness-sandbox-switch" }];
    const ops = w.mark();
    const s = await w.deploy("v1");
    expectEnd(s, "deployed-verified", "verdict");
    expect(ops()).toEqual(["preview", "refresh", "up"]);
    expect(w.stack.pending).toEqual([]);
  });

  it("the engine's update lock held (ConcurrentUpdateError) is lock-held; config put back, no failed tag", async () => {
    await deployed(w, "v1");
    w.stack.onUp({ kind: "concurrent" });
    const before = structuredClone(w.stack.config);
    const s = await w.deploy("v2");
    expectEnd(s, "lock-held", "up");
    expect(s.messages.join(" ")).toMatch(/Another update of this stack is running/);
    expect(w.stack.tags[lastFailedTag]).toBeUndefined();
    expect(w.stack.config).toEqual(before);
    expect(w.host.lock).toBeNull();
    expectHostLeftClean(w);
  });

  it("the host lock held by another run is lock-held before anything changes; that lock stays", async () => {
    w.host.holdLock("alice@elsewhere pid 4242", "v0", 120);
    const before = structuredClone(w.stack.config);
    const ops = w.mark();
    const s = await w.deploy("v1");
    expectEnd(s, "lock-held", "lock");
    expect(s.messages.join(" ")).toMatch(/alice@elsewhere pid 4242 \(release v0, taken 120 s ago, last heartbeat 120 s ago\)/);
    expect(s.messages.join(" ")).toMatch(/a lock whose heartbeat stops for 180 s is broken automatically/);
    expect(ops()).toEqual([]);
    expect(w.stack.config).toEqual(before);
    expect(w.host.lock?.holder).toBe("alice@elsewhere pid 4242");
    expectHostLeftClean(w);
  });

  it("a stale host lock (no heartbeat for the lease, 180 s by default) is broken, said so, and the deploy goes on", async () => {
    w.host.holdLock("alice@elsewhere pid 4242", "v0", 7200, 181);
    const s = await w.deploy("v1");
    expectEnd(s, "deployed-verified", "verdict");
    expect(s.messages.join(" ")).toMatch(/Broke a stale host lock \(holder=alice@elsewhere pid 4242 release=v0 age=7200 heartbeat_age=181\)/);
    expect(w.host.lockHolders).toEqual([me()]);
    expect(w.host.lock).toBeNull();
  });

  it("an old lock whose holder still renews it is held, whatever its age; the lease is the request's", async () => {
    w.host.holdLock("alice@elsewhere pid 4242", "v0", 7200, 10);
    expectEnd(await w.deploy("v1"), "lock-held", "lock");
    expectEnd(await w.deploy("v1", { lockLeaseSeconds: 11 }), "lock-held", "lock");
    // The old name of the option keeps working, with the new meaning.
    expectEnd(await w.deploy("v1", { staleLockSeconds: 10 }), "deployed-verified", "verdict");
    expect(w.host.lock).toBeNull();
  });

  it("a failed watch with a verified release before is rolled-back: the rollback's up and watch ran", async () => {
    await deployed(w, "v1");
    w.broken.add("v2");
    const ops = w.mark();
    const s = await w.deploy("v2");
    expectEnd(s, "rolled-back", "rollback");
    expect(ops()).toEqual(["preview", "up", "up"]);
    // Every endpoint fails: 3 failed checks in the first round, more than the 1 of 24 the rate allows.
    expect(s.monitor?.verdict).toMatchObject({ state: "failed", reason: "success-rate", rounds: 1, failedChecks: 3 });
    expect(s.rollback).toMatchObject({ from: "v2", to: "v1", up: { result: "succeeded", update: key(w, 3) }, monitor: { verdict: { state: "passed" } } });
    expect(w.stack.tags[lastFailedTag]).toBe(`v2@${key(w, 2)}`);
    expect(w.stack.tags[verifiedTag]).toBe(`v1@${key(w, 3)} v1@${key(w, 1)}`);
    expect(w.stack.updates.map((u) => w.stack.releaseInConfig(u.config)?.id)).toEqual(["v1", "v2", "v1"]);
    expect(w.host.record).toMatchObject({ current: { id: "v1" }, previous: { id: "v2" }, verified: { id: "v1" } });
    expect(releaseInConfig(w)).toBe("v1");
    expectHostLeftClean(w);
  });

  it("a failed watch of a first deploy is failed-no-rollback: failed tag, nothing verified, release left live", async () => {
    w.broken.add("v1");
    const ops = w.mark();
    const s = await w.deploy("v1");
    expectEnd(s, "failed-no-rollback", "verdict");
    expect(ops()).toEqual(["preview", "up"]);
    expect(w.stack.tags[lastFailedTag]).toBe(`v1@${key(w, 1)}`);
    expect(w.stack.tags[verifiedTag]).toBeUndefined();
    expect(w.host.record).toMatchObject({ current: { id: "v1" }, verified: null });
    expect(s.rollback).toBeUndefined();
    expectHostLeftClean(w);
  });

  const sshProbes: { name: string; stdout: string; outcome: Outcome }[] = [
    { name: "every endpoint answers 200", stdout: "0 0 200 0.010\n1 0 200 0.012\n2 0 200 0.011\n", outcome: "deployed-verified" },
    { name: "the backend refuses connections", stdout: "0 7 000 0\n1 7 000 0\n2 7 000 0\n", outcome: "failed-no-rollback" },
  ];

  it.each(sshProbes)("a watch from the host itself (probeMode ssh) runs curl over the host's exec: $name", async ({ stdout, outcome }) => {
    w = world({
      config: stackConfig({ "awareness:health": { baseUrl: "http://127.0.0.1:18080", endpoints: ["/api/health", "/api/docs", "/api/auth/status"], probeMode: "ssh" } }),
      prober: (w) => proberFor(w.deps.hostOpens[0]!, () => w.host.exec),
    });
    w.host.exec.respond("curl", { stdout });
    const s = await w.deploy("v1");
    expectEnd(s, outcome, "verdict");
    const probes = w.host.exec.commands.filter((c) => c.includes("curl"));
    expect(probes.length).toBe(s.monitor!.rounds.length);
    expect(probes[0]).toContain("http://127.0.0.1:18080/api/health");
  });

  it("an exec check in a service container counts as one check a round: precheck plans it, its failures fail the watch", async () => {
    const health = {
      baseUrl: "http://127.0.0.1:18080",
      endpoints: ["/api/health", "/api/docs", "/api/auth/status"],
      probeMode: "ssh",
      checks: [{ kind: "exec", name: "backend-ready", service: "backend", command: ["sh", "-c", "test -f /tmp/ready"] }],
    };
    w = world({ config: stackConfig({ "awareness:health": health }), prober: (w) => proberFor(w.deps.hostOpens[0]!, () => w.host.exec) });
    w.host.exec.respond("curl", { stdout: "0 0 200 0.010\n1 0 200 0.012\n2 0 200 0.011\n" });
    w.host.exec.respond("exec -T backend", { code: 1, stderr: "not ready" });
    const pre = await precheck({ ...w.base(), releaseId: "v1", gitSha: shaOf("v1"), images: imagesOf("v1") });
    // 8 rounds of 3 endpoints + 1 exec check = 32 checks; 95 % tolerates 1.
    expect(pre.prechecks.find((p) => p.name === "monitor policy")?.detail).toBe("fails after 3 bad rounds in a row or 2 failed checks of 32; on failure: roll back");
    const s = await w.deploy("v1");
    expectEnd(s, "failed-no-rollback", "verdict");
    expect(s.monitor?.verdict).toMatchObject({ state: "failed", reason: "success-rate", rounds: 2, checks: 8, failedChecks: 2 });
    expect(s.monitor?.rounds[0]?.failures).toEqual(["backend-ready: exit code 1: not ready"]);
    expect(w.host.exec.commands.filter((c) => c.includes("exec -T backend"))).toEqual([
      "timeout 10 docker compose -p awareness -f /opt/awareness/docker-compose.yml exec -T backend sh -c 'test -f /tmp/ready'",
      "timeout 10 docker compose -p awareness -f /opt/awareness/docker-compose.yml exec -T backend sh -c 'test -f /tmp/ready'",
    ]);
  });

  const failedRollbacks: { name: string; setup: (w: World) => void; message: RegExp }[] = [
    { name: "its watch fails too", setup: (w) => w.broken.add("v1"), message: /did not bring a healthy release back: see the monitor/ },
    { name: "its up fails", setup: (w) => w.stack.onUp({ kind: "succeed" }, { kind: "fail", error: new Error("pull access denied") }), message: /pull access denied/ },
  ];

  it.each(failedRollbacks)("an automatic rollback that fails ($name) is rollback-failed", async ({ setup, message }) => {
    await deployed(w, "v1");
    w.broken.add("v2");
    setup(w);
    const ops = w.mark();
    const s = await w.deploy("v2");
    expectEnd(s, "rollback-failed", "rollback");
    expect(ops()).toEqual(["preview", "up", "up"]);
    expect(s.messages.join(" ")).toMatch(message);
    expect(w.stack.tags[lastFailedTag]).toBe(`v2@${key(w, 2)}`);
    expect(w.stack.tags[verifiedTag]).toBe(`v1@${key(w, 1)}`);
    expectHostLeftClean(w);
  });

  const invalid: { name: string; req: Partial<DeployRequest>; problem: RegExp }[] = [
    { name: "a release id with a space", req: { releaseId: "v 1" }, problem: /awareness:release\.id/ },
    { name: "an image without tag or digest", req: { images: { backend: "nginx" } }, problem: /awareness:release\.images\.backend/ },
    { name: "an image of an undeclared service", req: { images: { worker: "registry.test:5000/worker:v1" } }, problem: /no service "worker"/ },
    { name: "a multi-line env value", req: { env: { APP_ENV: "a\nb" } }, problem: /awareness:release\.env\.APP_ENV/ },
  ];

  it.each(invalid)("an invalid config ($name) is invalid-config; no host is ever opened", async ({ req, problem }) => {
    const before = structuredClone(w.stack.config);
    const s = await w.deploy("v1", req);
    expectEnd(s, "invalid-config", "config");
    expect(s.messages.join("\n")).toMatch(problem);
    expect(w.deps.hostOpens).toEqual([]);
    expect(w.host.calls).toEqual([]);
    expect(w.stack.calls).toEqual(["getConfig"]);
    expect(w.stack.config).toEqual(before);
  });

  it("a cancel during the watch is cancelled: unverified tag, release left live, lock released", async () => {
    await deployed(w, "v1");
    w.onProbe = (round) => {
      if (round === 2) w.cancellation.cancel("SIGTERM");
    };
    const s = await w.deploy("v2");
    expectEnd(s, "cancelled", "monitor");
    expect(w.stack.tags[unverifiedTag]).toBe(`v2@${key(w, 2)}`);
    expect(w.stack.tags[verifiedTag]).toBe(`v1@${key(w, 1)}`);
    expect(s.monitor?.verdict).toMatchObject({ state: "failed", reason: "aborted", rounds: 3 });
    expect(s.messages.join("\n")).toMatch(/Cancelled \(SIGTERM\) during monitor/);
    expect(s.messages.at(-1)).toMatch(/The host runs now: release v2 \(last verified: v1\); backend .* running/);
    expect(w.host.record).toMatchObject({ current: { id: "v2" }, verified: { id: "v1" } });
    expect(releaseInConfig(w)).toBe("v2");
    expect(w.host.lock).toBeNull();
    expectHostLeftClean(w);
  });

  it("a cancel during the up is cancelled: the config is put back, the lock released, no tag", async () => {
    await deployed(w, "v1");
    w.stack.onUp({ kind: "hold", onHold: () => w.cancellation.cancel("SIGINT") });
    const before = structuredClone(w.stack.config);
    const s = await w.deploy("v2");
    expectEnd(s, "cancelled", "up");
    expect(w.stack.config).toEqual(before);
    expect(w.stack.tags[lastFailedTag]).toBeUndefined();
    expect(w.stack.tags[unverifiedTag]).toBeUndefined();
    expect(w.host.lock).toBeNull();
    expect(w.host.currentId).toBe("v1");
    expectHostLeftClean(w);
  });

  it("a held up that is let go finishes normally", async () => {
    w.stack.onUp({ kind: "hold", onHold: () => queueMicrotask(() => w.stack.releaseHeldUp()) });
    const s = await w.deploy("v1");
    expectEnd(s, "deployed-verified", "verdict");
  });

  const cancelPoints: { stage: string; ops: string[]; release: ReleaseId; unverified?: boolean }[] = [
    { stage: "open stack", ops: [], release: "v1" },
    { stage: "config", ops: [], release: "v1" },
    { stage: "lock", ops: [], release: "v1" },
    { stage: "prechecks", ops: [], release: "v1" },
    { stage: "preview", ops: [], release: "v1" },
    { stage: "up", ops: ["preview"], release: "v1" },
    { stage: "monitor", ops: ["preview", "up"], release: "v2", unverified: true },
  ];

  it.each(cancelPoints)("a cancel as $stage starts is cancelled there; lock released, config $release", async ({ stage, ops: expected, release, unverified }) => {
    await deployed(w, "v1");
    const before = structuredClone(w.stack.config);
    const ops = w.mark();
    const s = await w.deploy("v2", { onStage: (name) => name === stage && w.cancellation.cancel("SIGTERM") });
    expectEnd(s, "cancelled", stage);
    expect(s.messages[0]).toMatch(new RegExp(`^Cancelled \\(SIGTERM\\) during ${stage}`));
    expect(ops()).toEqual(expected);
    expect(releaseInConfig(w)).toBe(release);
    if (release === "v1") expect(w.stack.config).toEqual(before);
    expect(w.stack.tags[unverifiedTag]).toBe(unverified ? `v2@${key(w, 2)}` : undefined);
    expect(w.stack.tags[lastFailedTag]).toBeUndefined();
    expect(w.host.record).toMatchObject({ current: { id: release }, verified: { id: "v1" } });
    expect(w.host.lock).toBeNull();
    expectHostLeftClean(w);
  });

  it("a cancel while queued behind another run's lock (--wait-lock) is cancelled; that lock stays", async () => {
    w.host.holdLock("alice@elsewhere pid 4242", "v0");
    w.host.onCall = (call) => call === "tryLock" && w.cancellation.cancel("SIGTERM");
    const s = await w.deploy("v1", { waitLock: true });
    expectEnd(s, "cancelled", "lock");
    expect(s.messages[0]).toMatch(/stopped waiting for the host lock/);
    expect(w.host.lock?.holder).toBe("alice@elsewhere pid 4242");
    expect(w.stack.ops()).toEqual([]);
    expectHostLeftClean(w);
  });

  it("an engine error mid-run is error (1): lock released, config untouched", async () => {
    w.stack.failNext("tags", new Error("backend: connection reset by peer"));
    const before = structuredClone(w.stack.config);
    const s = await w.deploy("v1");
    expectEnd(s, "error", "prechecks");
    expect(s.messages).toContain("backend: connection reset by peer");
    expect(w.stack.ops()).toEqual([]);
    expect(w.stack.config).toEqual(before);
    expect(w.host.lock).toBeNull();
    expectHostLeftClean(w);
  });

  /** The host's record changes under the run between its watch and its verdict (another switch). */
  const hostSwitchedBeforeVerdict = (w: World) => {
    w.host.onCall = (call) => {
      if (call === "markVerified") w.host.record!.current!.id = "v9";
    };
  };

  it("the host refusing to mark the watched release verified is error (1); the lock is released", async () => {
    hostSwitchedBeforeVerdict(w);
    const s = await w.deploy("v1");
    expectEnd(s, "error", "verdict");
    expect(s.messages[0]).toMatch(/^marking v1 verified in deployment.json failed on deploy@fake-host:22 \(exit 4\)/);
    expect(w.host.lock).toBeNull();
    expectHostLeftClean(w);
  });

  // A HostCommandError puts the host's own words after "(exit N):\n": the summary keeps them.
  it("the summary of a failed host command says what the host answered", async () => {
    hostSwitchedBeforeVerdict(w);
    const s = await w.deploy("v1");
    expect(s.messages.join("\n")).toMatch(/release v1 is not the current release on this host/);
  });

  // The preview command puts its release into the shared stack config, so it takes the host
  // lock: a preview during a deploy (between its preview and its up) is refused, and the
  // deploy applies its own release.
  it("a preview run during a deploy is refused by the lock and does not change the release the deploy applies", async () => {
    await deployed(w, "v1");
    const deployAtUp = w.stack.pauseAt("up");
    const d = w.deploy("v2");
    await deployAtUp.reached;
    const p = await preview({ ...w.base(), cancellation: new Cancellation(), releaseId: "v3", images: imagesOf("v3") });
    expectEnd(p, "lock-held", "lock");
    expect(w.stack.ops().filter((op) => op === "preview")).toHaveLength(2); // v1's and v2's only
    deployAtUp.resume();
    const s = await d;
    expect(w.stack.releaseInConfig(w.stack.updates.at(-1)!.config)?.id).toBe("v2");
    expect(w.host.currentId).toBe("v2");
    expectEnd(s, "deployed-verified", "verdict");
  });

  it("a deploy queued behind another (--wait-lock) builds its release from the config under the lock, not from what it read while it waited", async () => {
    await deployed(w, "v1");
    // Another run deploys v2 and is at its up (v2 is in the stack config) when this one starts.
    w.stack.onUp({ kind: "fail", error: new Error("error: update failed\nDiagnostics:\n  the container backend did not start") });
    const otherAtUp = w.stack.pauseAt("up");
    const other = w.deploy("v2");
    await otherAtUp.reached;
    // This one names only the backend: the frontend comes from the release in the config.
    const queued = deploy({ ...w.base(), releaseId: "v3", gitSha: shaOf("v3"), images: { backend: imagesOf("v3").backend }, waitLock: true, cancellation: new Cancellation() });
    while (!w.host.calls.includes("tryLock") || w.host.calls.filter((c) => c === "tryLock").length < 2) await new Promise((r) => setTimeout(r, 5));
    otherAtUp.resume();
    expectEnd(await other, "up-failed", "up"); // its config is put back to v1
    const s = await queued;
    expectEnd(s, "deployed-verified", "verdict");
    // v1's frontend, not that of the failed v2 the config named while this run waited.
    expect(s.release?.images).toEqual({ backend: imagesOf("v3").backend, frontend: imagesOf("v1").frontend });
    expect(w.host.record?.current?.images.frontend).toBe(imagesOf("v1").frontend);
  });

  it("a corrupt deployment.json is drift: the report says the record is unreadable, the switch runs again, the record is valid after", async () => {
    await deployed(w, "v1");
    w.host.recordText = '{\n  "schema": 1,\n  "current": {"id":"v1","ima';
    const ops = w.mark();
    const s = await w.deploy("v1");
    expectEnd(s, "deployed-verified", "verdict");
    expect(ops()).toEqual(["preview", "up"]);
    expect(s.messages[0]).toMatch(
      /^The host differs from the state \(it should run v1\): its record is unreadable: deployment\.json on deploy@fake-host:22 is not a valid deployment record: - \(the whole value\): not valid JSON .*\. Its switch runs again\.$/,
    );
    expect(w.stack.config["awareness:reconcile"]?.value).toMatch(/^\{"[^"]+":"[0-9a-f]{16}"\}$/);
    expect(w.host.recordText).toBeUndefined();
    expect(w.host.record).toMatchObject({ current: { id: "v1" }, verified: { id: "v1" } });
  });

  it("a cancel before the start is cancelled with nothing opened", async () => {
    w.cancellation.cancel("SIGTERM");
    const s = await w.deploy("v1");
    expectEnd(s, "cancelled", undefined);
    expect(s.messages.join(" ")).toMatch(/Cancelled \(SIGTERM\) during the start/);
    expect(w.stack.opened).toEqual([]);
    expect(w.deps.hostOpens).toEqual([]);
  });

  it.each(["../x", "-x", "a b", "a;id", "", "s".repeat(101), "prod\u202Euction"])(
    "a bad stack name %j is usage (2) before any engine is opened",
    async (stackName) => {
      const s = await deploy({ ...w.base(), stackName, releaseId: "v1", images: imagesOf("v1") });
      expectEnd(s, "usage", "open stack");
      expect(s.messages.join(" ")).toMatch(/Bad stack name .*expected letters, digits, -, _ and \. \(at most 100/);
      expect(w.stack.opened).toEqual([]);
      expect(w.deps.hostOpens).toEqual([]);
    },
  );

  it("a first deploy opens the stack in deploy mode (so a stack file can create it)", async () => {
    w.stack.exists = false;
    await deployed(w, "v1");
    expect(w.stack.opened).toEqual([{ stackName: "sandbox", mode: "deploy" }]);
  });
});

// ---- rollback ----

describe("rollback", () => {
  let w: World;
  beforeEach(async () => {
    w = world();
    await deployed(w, "v1", "v2");
  });

  const refused: { name: string; req: Partial<RollbackRequest>; message: RegExp }[] = [
    { name: "a wrong confirm word", req: { confirm: "rollback" }, message: /--confirm must be exactly ROLLBACK \(got "rollback"\)/ },
    { name: "no reason", req: { reason: "  " }, message: /--reason TEXT is required/ },
    { name: "a two-line reason", req: { reason: "bad\nrelease" }, message: /--reason must be one line/ },
    { name: "a reason with an escape sequence", req: { reason: "bad\x1b[2Jrelease" }, message: /--reason must be text without control characters/ },
    { name: "a huge reason", req: { reason: "x".repeat(1001) }, message: /at most 1000 characters/ },
    { name: "a --to that is no release id", req: { to: "--help" }, message: /--to "--help" is not a release id/ },
  ];

  it.each(refused)("$name is usage (2) before any engine is opened", async ({ req, message }) => {
    const opened = w.stack.opened.length;
    const s = await w.rollback(req);
    expectEnd(s, "usage", "request");
    expect(s.messages.join(" ")).toMatch(message);
    expect(w.stack.opened.length).toBe(opened);
  });

  it("without --wait-lock a held lock is lock-held (6); with it the rollback queues behind the holder", async () => {
    w.host.holdLock("alice@elsewhere pid 4242", "v3");
    expectEnd(await w.rollback({}), "lock-held", "lock");
    w.host.onCall = (call) => call === "tryLock" && w.cancellation.cancel("SIGTERM");
    const s = await w.rollback({ waitLock: true });
    expectEnd(s, "cancelled", "lock");
    expect(s.messages[0]).toMatch(/stopped waiting for the host lock/);
    expect(w.host.lock?.holder).toBe("alice@elsewhere pid 4242");
  });

  it("an unknown --to is usage listing the candidates; no lock is taken", async () => {
    const locks = w.host.lockHolders.length;
    const ops = w.mark();
    const s = await w.rollback({ to: "v9" });
    expectEnd(s, "usage", "target");
    expect(s.messages.join(" ")).toContain(`Unknown rollback target "v9". Verified releases (newest first): v2 (update ${key(w, 2)}), v1 (update ${key(w, 1)})`);
    expect(w.host.lockHolders.length).toBe(locks);
    expect(w.host.lock).toBeNull();
    expect(ops()).toEqual([]);
    expectHostLeftClean(w);
  });

  it("by default it goes to the newest verified release that is not live: rollback-done", async () => {
    const ops = w.mark();
    const s = await w.rollback({});
    expectEnd(s, "rollback-done", "rollback");
    expect(ops()).toEqual(["up"]);
    expect(s.rollback).toMatchObject({ from: "v2", to: "v1", reason: "bad release", monitor: { verdict: { state: "passed" } } });
    expect(w.stack.updates.at(-1)?.message).toBe(`${runActor().who}: rollback to v1: manual: bad release`);
    expect(w.stack.tags[verifiedTag]).toBe(`v1@${key(w, 3)} v2@${key(w, 2)} v1@${key(w, 1)}`);
    expect(w.host.record).toMatchObject({ current: { id: "v1" }, verified: { id: "v1" } });
    expect(releaseInConfig(w)).toBe("v1");
    expect(s.release?.id).toBe("v1");
    expect(w.host.lockHolders.at(-1)).toBe(me());
    expect(w.host.lock).toBeNull();
    expectHostLeftClean(w);
  });

  it("with only the live release verified there is no default target: usage", async () => {
    const w1 = world();
    await deployed(w1, "v1");
    const s = await w1.rollback({});
    expectEnd(s, "usage", "target");
    expect(s.messages.join(" ")).toMatch(/No verified release other than the live one \(v1\)/);
  });

  it("a rollback whose watch fails is rollback-failed; the lock is still released", async () => {
    w.broken.add("v1");
    const s = await w.rollback({ to: "v1" });
    expectEnd(s, "rollback-failed", "rollback");
    expect(s.messages.join(" ")).toMatch(/Rollback to v1 failed: health check failed/);
    expect(w.host.currentId).toBe("v1");
    expect(w.host.verifiedId).toBe("v2");
    expect(w.host.lock).toBeNull();
  });

  it("a rollback whose up fails is rollback-failed; the live release keeps running", async () => {
    w.stack.onUp({ kind: "fail", error: new Error("pull access denied") });
    const s = await w.rollback({ to: "v1" });
    expectEnd(s, "rollback-failed", "rollback");
    expect(s.messages.join(" ")).toMatch(/Rollback to v1 failed: pull access denied/);
    expect(w.host.record).toMatchObject({ current: { id: "v2" }, verified: { id: "v2" } });
    expect(w.stack.tags[verifiedTag]).toBe(`v2@${key(w, 2)} v1@${key(w, 1)}`);
    expect(w.host.lock).toBeNull();
    expectHostLeftClean(w);
  });

  // A failed start undoes itself on the host (v2 keeps running), so the config follows it back.
  it("a rollback whose up fails puts the stack config back to what runs", async () => {
    w.stack.onUp({ kind: "fail", error: new Error("pull access denied") });
    const before = structuredClone(w.stack.config);
    await w.rollback({ to: "v1" });
    expect(w.stack.config).toEqual(before);
  });

  it("an automatic rollback to a release deployed by tag re-applies it by the digests the host verified", async () => {
    const t = world();
    expect((await t.deploy("v1", { images: target.tags.v1 })).outcome).toBe("deployed-verified");
    const verifiedDigests = t.host.record!.verified!.images;
    expect(verifiedDigests.backend).toMatch(/^registry\.test:5000\/awareness-backend@sha256:[0-9a-f]{64}$/);
    t.broken.add("v2");
    const s = await t.deploy("v2");
    expectEnd(s, "rolled-back", "rollback");
    expect(t.stack.releaseInConfig(t.stack.updates[2]!.config)).toMatchObject({ id: "v1", images: verifiedDigests });
  });

  it("a manual rollback to a release by tag the host no longer records re-applies the tags, with a warning", async () => {
    const t = world();
    expect((await t.deploy("v1", { images: target.tags.v1 })).outcome).toBe("deployed-verified");
    await deployed(t, "v2");
    const warnings: string[] = [];
    const s = await t.rollback({ to: "v1", log: { info: () => {}, warn: (line) => warnings.push(line) } });
    expectEnd(s, "rollback-done", "rollback");
    expect(t.stack.releaseInConfig()?.images).toEqual(target.tags.v1);
    expect(warnings).toContain(`v1 names images by tag (${target.tags.v1!.backend}, ${target.tags.v1!.frontend}); the host has no digest record of it`);
  });
});

// ---- precheck, preview, status, unlock, restore ----

describe("precheck", () => {
  it("passes on a free host and changes nothing", async () => {
    const w = world();
    const before = structuredClone(w.stack.config);
    const s = await precheck({ ...w.base(), releaseId: "v1", gitSha: shaOf("v1"), images: imagesOf("v1") });
    expectEnd(s, "ok", "prechecks");
    expect(s.prechecks.map((p) => [p.name, p.ok])).toEqual([
      ["ci-cd status", true],
      ["config and secrets", true],
      ["monitor policy", true],
      ["ssh reachable", true],
      ["docker and compose", true],
      ["disk and memory", true],
      ["images in registry", true],
      ["rollback possible", true],
      ["git tree clean", true],
      ["no deployment in progress", true],
    ]);
    // The watch's tolerance in plain numbers: 8 rounds of 3 endpoints, 95 % of 24 checks.
    expect(s.prechecks.find((p) => p.name === "monitor policy")?.detail).toBe("fails after 3 bad rounds in a row or 2 failed checks of 24; on failure: roll back");
    expect(w.stack.config).toEqual(before);
    expect(w.stack.ops()).toEqual([]);
    expect(w.host.calls).not.toContain("tryLock");
    expectHostLeftClean(w);
  });

  it("with registryAuth the host logs in to the registry before the images precheck reads it", async () => {
    const w = world({ config: stackConfig({ "awareness:registryAuth": { server: "ghcr.io", username: "acme-deploy-bot", password: "ghp_secret-token" } }) });
    const s = await precheck({ ...w.base(), releaseId: "v1", gitSha: shaOf("v1"), images: imagesOf("v1") });
    expectEnd(s, "ok", "prechecks");
    const calls = w.host.calls;
    expect(calls.indexOf("registryLogin ghcr.io")).toBeGreaterThanOrEqual(0);
    expect(calls.indexOf("registryLogin ghcr.io")).toBe(calls.indexOf("registryCheck") - 1);
  });

  it("a lock held by another is blocked with 'no deployment in progress' failing; the lock stays", async () => {
    const w = world();
    w.host.holdLock("alice@elsewhere pid 4242", "v7", 30);
    const s = await precheck({ ...w.base(), releaseId: "v1", gitSha: shaOf("v1"), images: imagesOf("v1") });
    expectEnd(s, "blocked", "prechecks");
    expect(s.prechecks.filter((p) => !p.ok)).toEqual([
      { name: "no deployment in progress", ok: false, detail: "held by alice@elsewhere pid 4242 (release v7, taken 30 s ago, last heartbeat 30 s ago)" },
    ]);
    expect(w.host.lock?.holder).toBe("alice@elsewhere pid 4242");
    expect(w.stack.ops()).toEqual([]);
  });

  it("--skip-ci-check and --allow-dirty skip those two checks", async () => {
    const w = world({ gitStatus: " M a.ts\n", ci: async () => ({ state: "failure" }) });
    const s = await precheck({ ...w.base(), releaseId: "v1", images: imagesOf("v1"), skipCiCheck: true, allowDirty: true });
    expectEnd(s, "ok", "prechecks");
    expect(s.prechecks.filter((p) => p.skipped).map((p) => p.name)).toEqual(["ci-cd status", "git tree clean"]);
  });
});

describe("preview", () => {
  it("plans the release under the host lock and puts the config back as it was; the host is not changed", async () => {
    const w = world();
    await deployed(w, "v1");
    const before = structuredClone(w.stack.config);
    const hostCalls = w.host.calls.length;
    const ops = w.mark();
    const s = await preview({ ...w.base(), releaseId: "v2", images: imagesOf("v2") });
    expectEnd(s, "ok", "preview");
    expect(ops()).toEqual(["preview"]);
    expect(s.preview?.plan).toEqual([expect.stringMatching(/^update +command:remote:Command awareness-sandbox-switch$/)]);
    expect(w.stack.config).toEqual(before);
    expect(w.host.calls.slice(hostCalls)).toEqual(["tryLock", "appendAudit", "unlock", "close"]);
    expect(w.host.lock).toBeNull();
  });

  it("a blocked preview is blocked, config back too", async () => {
    const w = world();
    w.stack.previewEvents = [stepEvent("replace", "command:remote:Command", "awareness-sandbox-switch")];
    const before = structuredClone(w.stack.config);
    const s = await preview({ ...w.base(), releaseId: "v2", images: imagesOf("v2") });
    expectEnd(s, "blocked", "preview");
    expect(w.stack.config).toEqual(before);
  });
});

describe("status", () => {
  it("reports the live and verified releases, the history, the host record and its lock", async () => {
    const w = world();
    await deployed(w, "v1", "v2");
    w.stack.tags[lastFailedTag] = "v0@1";
    w.host.holdLock("alice@elsewhere pid 4242", "v3", 50, 5);
    const { summary, report } = await status({ ...w.base(), historySize: 1 });
    expectEnd(summary, "ok", "status");
    expect(report).toMatchObject({
      stack: "sandbox",
      current: { id: "v2" },
      lastVerified: { id: "v2", update: key(w, 2) },
      verified: [{ id: "v2" }, { id: "v1" }],
      lastFailed: "v0@1",
      host: { current: { id: "v2" }, verified: { id: "v2" } },
      lock: { holder: "alice@elsewhere pid 4242", release: "v3", ageSeconds: 50, heartbeatAgeSeconds: 5 },
    });
    expect(renderStatus(report!)).toContain("lock held by alice@elsewhere pid 4242 (release v3, taken 50 s ago, last heartbeat 5 s ago)");
    expect(report?.history).toEqual([expect.objectContaining({ update: key(w, 2), result: "succeeded", release: "v2" })]);
    expect(w.stack.ops()).toEqual(["preview", "up", "preview", "up"]);
    expect(w.host.lock?.holder).toBe("alice@elsewhere pid 4242");
  });

  it("a corrupt deployment.json is reported as such (not as an unreachable host), and the lock is still shown", async () => {
    const w = world();
    await deployed(w, "v1");
    w.host.recordText = "garbage";
    w.host.holdLock("alice@elsewhere pid 4242", "v3", 50, 5);
    const { summary, report } = await status(w.base());
    expectEnd(summary, "ok", "status");
    expect(report?.hostError).toBeUndefined();
    expect(report?.hostRecordError).toMatch(/^deployment\.json on deploy@fake-host:22 is not a valid deployment record: - \(the whole value\): not valid JSON/);
    expect(renderStatus(report!)).toMatch(
      /host: +RECORD UNREADABLE \(the next deploy or rollback rewrites it\): deployment\.json on deploy@fake-host:22 is not a valid deployment record: .*, lock held by alice@elsewhere pid 4242/,
    );
  });

  it("a host that does not answer is reported, not fatal", async () => {
    const w = world();
    await deployed(w, "v1");
    w.host.unreachable = true;
    const { summary, report } = await status(w.base());
    expectEnd(summary, "ok", "status");
    expect(report?.hostError).toMatch(/cannot reach deploy@fake-host:22 over SSH/);
    expect(report?.current).toMatchObject({ id: "v1" });
  });
});

describe("unlock", () => {
  it("frees a lock held by another (dead) run and says whose it was", async () => {
    const w = world();
    w.host.holdLock("bob@runner-3 pid 99", "v5", 600);
    const s = await unlock(w.base());
    expectEnd(s, "ok", "unlock");
    expect(s.messages).toEqual(["Released the lock held by bob@runner-3 pid 99 (release v5, taken 600 s ago, last heartbeat 600 s ago)."]);
    expect(w.host.lock).toBeNull();
    expect(w.host.calls).toContain("unlock --force");
    expectHostLeftClean(w);
  });

  it("a free lock stays free", async () => {
    const w = world();
    const s = await unlock(w.base());
    expectEnd(s, "ok", "unlock");
    expect(s.messages).toEqual(["The host lock was free."]);
  });

  it("--run (a cancelled job's clean-up) frees only that run's lock; --engine then cancels the engine lock", async () => {
    const w = world();
    w.host.holdLock("runner@gh-1 pid 4242 github-run 9001", "v5", 30);
    const s = await unlock({ ...w.base(), onlyRun: "9001", engine: true });
    expectEnd(s, "ok", "unlock");
    expect(w.host.lock).toBeNull();
    expect(s.messages).toEqual([
      "Released the lock held by runner@gh-1 pid 4242 github-run 9001 (release v5, taken 30 s ago, last heartbeat 30 s ago).",
      "Cancelled the engine's update lock.",
    ]);
    expect(w.stack.ops()).toEqual(["cancel"]);
  });

  it("--run leaves another run's lock, and its engine lock, alone (a rollback that took over)", async () => {
    const w = world();
    w.host.holdLock("runner@gh-2 pid 77 github-run 90011", "rollback-v4", 5);
    const s = await unlock({ ...w.base(), onlyRun: "9001", engine: true });
    expectEnd(s, "ok", "unlock");
    expect(w.host.lock).toMatchObject({ holder: "runner@gh-2 pid 77 github-run 90011" });
    expect(w.host.calls).not.toContain("unlock --force");
    expect(w.stack.ops()).toEqual([]);
    expect(s.messages[0]).toMatch(/^The host lock is held by another run, left alone: runner@gh-2/);
    expect(s.messages[1]).toBe("The engine's update lock was left alone: that run may be updating the stack.");
  });

  it("--engine with a free host lock cancels the engine lock; a backend with no active update is not a failure", async () => {
    const w = world();
    w.stack.failNext("cancel", new Error("stack organization/awareness/sandbox has never been updated"));
    const s = await unlock({ ...w.base(), onlyRun: "9001", engine: true });
    expectEnd(s, "ok", "unlock");
    expect(s.messages).toEqual(["The host lock was free.", "The engine had no update in progress."]);
    w.stack.failNext("cancel", new Error("permission denied"));
    expectEnd(await unlock({ ...w.base(), engine: true }), "error", "unlock");
  });

  it("the CLI takes --run as digits only, before anything runs", () => {
    expect(githubRunId("123456789")).toBe("123456789");
    for (const bad of ["", "12a", "1; rm -rf /", " 1"]) expect(() => githubRunId(bad), bad).toThrow(/expected a GitHub run id/);
  });
});

describe("restore", () => {
  const restoreOf = (w: World, req: Partial<RestoreRequest> = {}) => restore({ ...w.base(), confirm: "RESTORE", ...req });

  /** v1 verified, v2 fails its watch and rolls back to v1 by itself: the newest set is v2's. */
  async function afterAutomaticRollback(): Promise<World> {
    const w = world();
    await deployed(w, "v1");
    w.broken.add("v2");
    expect((await w.deploy("v2")).outcome).toBe("rolled-back");
    expect(w.host.sets.map((s) => s.release?.id)).toEqual(["v1", "v2"]);
    return w;
  }

  it("by default restores the last verified release (v1), not the newest backups (v2's); config follows; refresh; watch; verified", async () => {
    const w = await afterAutomaticRollback();
    const v1Set = w.host.sets[0]!.name;
    const ops = w.mark();
    const hostCalls = w.host.calls.length;
    const s = await restoreOf(w);
    expectEnd(s, "restored", "watch");
    expect(ops()).toEqual(["refresh"]);
    expect(w.host.calls.slice(hostCalls)).toEqual([
      "tryLock", "backupSets", "status", "restoreBackupSet", "markVerified", "appendAudit", "unlock", "close",
    ]);
    expect(s.restore).toEqual({ set: v1Set, release: "v1", from: "v1", backup: `backups/${w.host.sets.at(-1)!.name}` });
    expect(w.host.record).toMatchObject({ current: { id: "v1", images: w.host.sets[0]!.release!.images }, verified: { id: "v1" }, failed: { id: "v2" } });
    expect(w.stack.releaseInConfig()).toMatchObject({ id: "v1", gitSha: shaOf("v1"), images: w.host.record?.current?.images });
    // The automatic rollback's update is v1's newest verified entry; it stays first.
    expect(w.stack.tags[verifiedTag]).toBe(`v1@${key(w, 3)} v1@${key(w, 1)}`);
    expect(s.monitor?.verdict.state).toBe("passed");
    expect(s.messages).toEqual([`Restored v1 from backup set ${v1Set}; it passed its health check and is verified.`]);
    expect(w.host.lock).toBeNull();
    expectHostLeftClean(w);
  });

  it("--volumes puts back the set's volume archives (each with its service's image in the restored release); without it, none", async () => {
    const w = await afterAutomaticRollback();
    const v1Set = w.host.sets[0]!;
    const archive = { name: "data", volume: "awareness_data", service: "backend", file: "volumes/data.tar", sha256: "a".repeat(64), size: 10_240 };
    v1Set.volumes = [archive];
    const withVolumes = await restoreOf(w, { release: "v1", volumes: true });
    expectEnd(withVolumes, "restored", "watch");
    expect(w.host.restoredVolumes).toEqual([[{ ...archive, image: v1Set.release!.images.backend }]]);
    expect(withVolumes.restore).toMatchObject({ set: v1Set.name, release: "v1", volumes: ["data"] });
    const plain = await restoreOf(w, { release: "v1" });
    expectEnd(plain, "restored", "watch");
    expect(w.host.restoredVolumes).toHaveLength(1);
    expect(plain.restore?.volumes).toBeUndefined();
  });

  it("--volumes on a set without a volume archive is refused before anything changes", async () => {
    const w = await afterAutomaticRollback();
    const s = await restoreOf(w, { release: "v1", volumes: true });
    expectEnd(s, "usage", "target");
    expect(s.messages[0]).toMatch(/^Restore refused: backup set \d{8}T\d{6}Z-v1 \(release v1\) has no volume archive \(only a switch of a service with snapshotVolumes makes one\)\. Nothing was changed;/);
    expect(w.host.calls).not.toContain("restoreBackupSet");
    expect(w.host.lock).toBeNull();
  });

  it("--release of a release recorded as failed is refused (host record and stack tag named) and changes nothing", async () => {
    const w = await afterAutomaticRollback();
    const before = { record: structuredClone(w.host.record), sets: structuredClone(w.host.sets), config: structuredClone(w.stack.config) };
    const ops = w.mark();
    const s = await restoreOf(w, { release: "v2" });
    expectEnd(s, "usage", "target");
    expect(s.messages.join(" ")).toMatch(
      /^Restore refused: release v2 is recorded as failed \(the host's deployment\.json records it as failed at .*: .*the rate can no longer be met.*; the stack tag awareness:last-failed-release is v2@\d+\)\. Nothing was changed; --force restores it anyway\.$/,
    );
    expect(ops()).toEqual([]);
    expect({ record: w.host.record, sets: w.host.sets, config: w.stack.config }).toEqual(before);
    expect(w.host.calls).not.toContain("restoreBackupSet");
    expect(w.host.lock).toBeNull();
    expect(failureIssueFor(s)).toBeUndefined();
  });

  it.each([
    ["the host's record alone (the stack tags are gone)", (w: World) => delete w.stack.tags[lastFailedTag], /the host's deployment\.json records it as failed/],
    ["the stack tag alone", (w: World) => (w.host.record!.failed = null), /the stack tag awareness:last-failed-release is v2@/],
  ])("a failed release is refused on %s", async (_label, setup, why) => {
    const w = await afterAutomaticRollback();
    setup(w);
    const s = await restoreOf(w, { release: "v2" });
    expectEnd(s, "usage", "target");
    expect(s.messages.join(" ")).toMatch(why);
  });

  it("--force restores the failed release; it fails its watch again: restore-failed, it stays live, the config names it", async () => {
    const w = await afterAutomaticRollback();
    const verifiedBefore = w.stack.tags[verifiedTag];
    const s = await restoreOf(w, { release: "v2", force: true });
    expectEnd(s, "restore-failed", "watch");
    expect(s.exitCode).toBe(5);
    expect(s.messages[0]).toMatch(/^Restoring v2 although it is recorded as failed \(--force\)/);
    expect(s.messages.at(-1)).toMatch(/^v2 was restored from backup set \d{8}T\d{6}Z-v2 but failed its health check \(.*\); it stays live\.$/);
    expect(w.host.currentId).toBe("v2");
    expect(w.host.verifiedId).toBe("v1");
    expect(releaseInConfig(w)).toBe("v2");
    expect(w.stack.tags[verifiedTag]).toBe(verifiedBefore);
    expect(failureIssueFor(s)?.title).toBe("Deployment failed: v2 on sandbox");
  });

  it("--force of a failed release that passes now marks it verified with the update that deployed it; the failure records clear", async () => {
    const w = await afterAutomaticRollback();
    w.broken.clear();
    const s = await restoreOf(w, { release: "v2", force: true });
    expectEnd(s, "restored", "watch");
    expect(w.stack.tags[verifiedTag]).toBe(`v2@${key(w, 2)} v1@${key(w, 3)} v1@${key(w, 1)}`);
    expect(w.host.record).toMatchObject({ current: { id: "v2" }, verified: { id: "v2" }, failed: null });
    // Verified since it failed: a restore of v2 is no longer refused.
    expect((await restoreOf(w, { release: "v2" })).outcome).toBe("restored");
  });

  it("--release names a set by its name too", async () => {
    const w = await afterAutomaticRollback();
    const v1Set = w.host.sets[0]!.name;
    const s = await restoreOf(w, { release: v1Set });
    expectEnd(s, "restored", "watch");
    expect(s.restore?.set).toBe(v1Set);
  });

  it("a damaged set is refused naming it and what is wrong, never passed over for an older one; nothing changes", async () => {
    const w = await afterAutomaticRollback();
    const older = w.host.sets[0]!.name;
    const newer = w.host.addSet(w.host.record!.current);
    w.host.sets.at(-1)!.problem = `its docker-compose.yml has sha256 ${"a".repeat(12)}…, its manifest.json says ${"b".repeat(12)}… (the file is damaged or was edited)`;
    const before = structuredClone(w.host.record);
    const s = await restoreOf(w);
    expectEnd(s, "usage", "target");
    expect(s.messages).toEqual([
      `Restore refused: backup set /opt/awareness/backups/${newer} on deploy@fake-host:22 is damaged: its docker-compose.yml has sha256 ${"a".repeat(12)}…, ` +
        `its manifest.json says ${"b".repeat(12)}… (the file is damaged or was edited). Nothing was changed. Intact sets of v1: ${older} (name one with --release).`,
    ]);
    expect(w.host.calls).not.toContain("restoreBackupSet");
    expect(w.host.record).toEqual(before);
    expect(w.host.lock).toBeNull();
    // A set whose manifest is unreadable is found by the release in its name, and refused too.
    w.host.sets.at(-1)!.problem = undefined;
    w.host.sets[1] = { ...w.host.sets[1]!, release: null, problem: "manifest.json is not a valid manifest: not valid JSON" };
    const v2 = await restoreOf(w, { release: "v2", force: true });
    expectEnd(v2, "usage", "target");
    expect(v2.messages[0]).toMatch(/^Restore refused: backup set \/opt\/awareness\/backups\/\d{8}T\d{6}Z-v2 on deploy@fake-host:22 is damaged: manifest\.json is not a valid manifest: not valid JSON\. Nothing was changed\.$/);
    expectEnd(await restoreOf(w, { release: older }), "restored", "watch");
  });

  it("a release with no backup set is a usage error listing the sets there are; nothing changes", async () => {
    const w = await afterAutomaticRollback();
    const [a, b] = w.host.sets;
    const s = await restoreOf(w, { release: "v9" });
    expectEnd(s, "usage", "target");
    expect(s.messages).toEqual([
      `No backup set of release v9 on deploy@fake-host:22. Backup sets on deploy@fake-host:22 (oldest first): ${a!.name} (release v1, backed up ${a!.backedUpAt}), ${b!.name} (release v2, backed up ${b!.backedUpAt}).`,
    ]);
    expect(w.host.calls).not.toContain("restoreBackupSet");
  });

  it("the last verified release without a backup set (never replaced) is a usage error naming it", async () => {
    const w = world();
    await deployed(w, "v1");
    const s = await restoreOf(w);
    expectEnd(s, "usage", "target");
    expect(s.messages).toEqual([
      "No backup set of release v1 (the last verified release) on deploy@fake-host:22. There is no backup set on deploy@fake-host:22.",
    ]);
  });

  it("with nothing verified anywhere, the default is a usage error asking for --release", async () => {
    const w = world();
    const s = await restoreOf(w);
    expectEnd(s, "usage", "target");
    expect(s.messages[0]).toMatch(/^Nothing to restore by default: neither deployment\.json on deploy@fake-host:22 nor the stack tag awareness:verified-releases names a verified release; pick one with --release\./);
  });

  it("a failed refresh fails the run loudly: error, the refresh's error, no watch; the host is restored", async () => {
    const w = await afterAutomaticRollback();
    w.stack.failNext("refresh", new Error("refresh failed: the backend is unreachable\nmore detail"));
    const s = await restoreOf(w);
    expectEnd(s, "error", "refresh");
    expect(s.exitCode).toBe(1);
    expect(s.messages).toEqual([
      expect.stringMatching(/^The refresh after the restore failed: refresh failed: the backend is unreachable \(the host runs v1 from backup set \d{8}T\d{6}Z-v1; the stack config names it\)\.$/),
    ]);
    expect(s.monitor).toBeUndefined();
    expect(w.host.currentId).toBe("v1");
    expect(releaseInConfig(w)).toBe("v1");
    expect(failureIssueFor(s)).toBeDefined();
    expect(w.host.lock).toBeNull();
  });

  it("a set that does not start on the host fails the run; the host put the previous files back; the config is untouched", async () => {
    const w = await afterAutomaticRollback();
    const config = structuredClone(w.stack.config);
    w.host.failNextRestore = "service backend: container exited (exit code 1, restarts 0)";
    const s = await restoreOf(w);
    expectEnd(s, "error", "restore");
    expect(s.messages[0]).toMatch(/^restoring backup set \S+ failed on deploy@fake-host:22 \(exit 1\): the restored release v1 did not start: service backend/);
    expect(w.stack.config).toEqual(config);
    expect(w.stack.ops().filter((o) => o === "refresh")).toEqual([]);
  });

  it("is refused before anything runs unless --confirm is exactly RESTORE", async () => {
    const w = world();
    const s = await restoreOf(w, { confirm: "restore" });
    expectEnd(s, "usage", "request");
    expect(s.messages).toEqual(['Restore refused: --confirm must be exactly RESTORE (got "restore").']);
    expect(w.stack.opened).toEqual([]);
    expect(w.host.calls).toEqual([]);
  });

  it("another run holding the host lock: lock-held, nothing restored", async () => {
    const w = await afterAutomaticRollback();
    w.host.holdLock("alice@elsewhere pid 4242", "v3", 30);
    const s = await restoreOf(w);
    expectEnd(s, "lock-held", "lock");
    expect(w.host.calls).not.toContain("backupSets");
  });
});

// ---- the failure issue ----

describe("the failure issue", () => {
  const scenarios: { outcome: Outcome; issue: boolean; run: (w: World) => Promise<RunSummary> }[] = [
    { outcome: "deployed-verified", issue: false, run: (w) => w.deploy("v1") },
    { outcome: "blocked", issue: false, run: (w) => ((w.host.factsReport.diskFreeMb = 1), w.deploy("v1")) },
    { outcome: "invalid-config", issue: false, run: (w) => w.deploy("v 1") },
    { outcome: "lock-held", issue: false, run: (w) => (w.host.holdLock("alice@elsewhere pid 1", "v0"), w.deploy("v1")) },
    { outcome: "cancelled", issue: false, run: (w) => (w.cancellation.cancel("SIGTERM"), w.deploy("v1")) },
    { outcome: "rollback-done", issue: false, run: async (w) => (await deployed(w, "v1", "v2"), w.rollback({})) },
    { outcome: "usage", issue: false, run: (w) => w.rollback({ confirm: "yes" }) },
    { outcome: "error", issue: true, run: (w) => (w.stack.failNext("tags", new Error("backend down")), w.deploy("v1")) },
    { outcome: "up-failed", issue: true, run: async (w) => (await deployed(w, "v1"), w.stack.onUp({ kind: "fail" }), w.deploy("v2")) },
    {
      outcome: "host-unreachable",
      issue: true,
      run: async (w) => (
        await deployed(w, "v1"),
        w.stack.onUp({ kind: "hold", onHold: () => ((w.host.unreachable = true), w.stack.releaseHeldUp()), then: { kind: "fail" } }),
        w.deploy("v2")
      ),
    },
    { outcome: "failed-no-rollback", issue: true, run: (w) => (w.broken.add("v1"), w.deploy("v1")) },
    { outcome: "rolled-back", issue: true, run: async (w) => (await deployed(w, "v1"), w.broken.add("v2"), w.deploy("v2")) },
    { outcome: "rollback-failed", issue: true, run: async (w) => (await deployed(w, "v1"), w.broken.add("v1").add("v2"), w.deploy("v2")) },
    { outcome: "restored", issue: false, run: async (w) => (await deployed(w, "v1", "v2"), restore({ ...w.base(), confirm: "RESTORE", release: "v1" })) },
    {
      outcome: "restore-failed",
      issue: true,
      run: async (w) => (await deployed(w, "v1", "v2"), w.broken.add("v1"), restore({ ...w.base(), confirm: "RESTORE", release: "v1" })),
    },
  ];

  it.each(scenarios)("$outcome: an issue $issue (as the outcome table's failure flag)", async ({ outcome, issue, run }) => {
    const s = await run(world());
    expectEnd(s, outcome, s.lastStage);
    expect(outcomes[outcome].failure).toBe(issue);
    const opened = failureIssueFor(s);
    expect(opened !== undefined).toBe(issue);
    if (opened) {
      expect(opened.title).toBe(`Deployment failed: ${s.release!.id} on sandbox`);
      expect(opened.body).toContain(`**Outcome** \`${outcome}\``);
      expect(opened.labels).toEqual(["deployment-failure"]);
    }
  });
});

// ---- secrets ----

describe("secrets", () => {
  const sessionSecret = "s3ssion-secret-that-must-never-show";
  const withSecret = () => {
    const config = stackConfig();
    config["awareness:secretEnv"] = { value: JSON.stringify({ SESSION_SECRET: sessionSecret }), secret: true };
    return config;
  };

  it("a secret that leaks into a failure (a container printing it) is masked in the summary, the log and the failure issue", async () => {
    const w = world({ config: withSecret() });
    await deployed(w, "v1");
    const logged: string[] = [];
    const log = { info: (l: string) => logged.push(l), warn: (l: string) => logged.push(l) };
    w.stack.onUp({ kind: "fail", error: new Error(`backend exited 1:\nstarting with SESSION_SECRET=${sessionSecret}\n-----BEGIN OPENSSH PRIVATE KEY-----`) });
    const s = await deploy({ ...w.base(), log, releaseId: "v2", gitSha: shaOf("v2"), images: imagesOf("v2") });
    expectEnd(s, "up-failed", "up");
    const everything = JSON.stringify(s) + logged.join("\n") + (failureIssueFor(s)?.body ?? "");
    expect(everything).not.toContain(sessionSecret);
    expect(JSON.stringify(s)).toContain("SESSION_SECRET=***");
    expect(failureIssueFor(s)?.body).toContain("SESSION_SECRET=***");
  });

  it("a failed update that left the host elsewhere is recorded failed on the host: one line, its secrets masked", async () => {
    const w = world({ config: withSecret() });
    await deployed(w, "v1");
    w.host.composeOnDisk = "0".repeat(64); // the host no longer runs v1 exactly
    w.stack.onUp({ kind: "fail", error: new Error(`backend exited 1:\nstarting with SESSION_SECRET=${sessionSecret}`) });
    const s = await w.deploy("v2");
    expect(s.outcome, s.messages.join("\n")).toBe("rolled-back");
    const failed = w.host.record?.failed;
    expect(failed?.id).toBe("v2");
    expect(failed?.reason).toContain("SESSION_SECRET=***");
    expect(failed?.reason).not.toContain(sessionSecret);
    expect(failed?.reason).not.toMatch(/[\n\r]/);
  });

  it("a rollback re-applies the release data, never an old secret env: a rotated secret stays rotated", async () => {
    const w = world({ config: withSecret() });
    await deployed(w, "v1");
    const rotated = { value: JSON.stringify({ SESSION_SECRET: "rotated-after-v1" }), secret: true };
    w.stack.config["awareness:secretEnv"] = rotated;
    w.broken.add("v2");
    const s = await w.deploy("v2");
    expectEnd(s, "rolled-back", "rollback");
    expect(w.stack.releaseInConfig()?.id).toBe("v1");
    expect(w.stack.config["awareness:secretEnv"]).toEqual(rotated);
  });
});

// ---- the audit trail: one line per run on the host, read back by `status --audit` ----

describe("the audit trail", () => {
  const who = () => runActor().who;

  it("each run that reached the host appends who, what, when and the outcome; status only reads", async () => {
    const w = world();
    await deployed(w, "v1");
    w.broken.add("v2");
    const s = await w.deploy("v2");
    expect(s.outcome).toBe("rolled-back");
    await status(w.base());
    const entries = w.host.auditEntries;
    expect(entries.map((e) => [e.command, e.release, e.outcome, e.exitCode])).toEqual([
      ["deploy", "v1", "deployed-verified", 0],
      ["deploy", "v2", "rolled-back", outcomes["rolled-back"].exitCode],
    ]);
    expect(entries.every((e) => e.who === who() && e.stack === "sandbox")).toBe(true);
    // Why: the automatic rollback says from, to, and the failed verdict.
    expect(entries[1]!.reason).toMatch(/^rollback v2 -> v1: .*(checks|rounds)/);
    expect(entries[0]!.reason).toBeUndefined();
    expect(Date.parse(entries[1]!.finishedAt)).toBeGreaterThanOrEqual(Date.parse(entries[1]!.startedAt));
    // Appended while the run still held the lock, before the way out closed the host.
    const calls = w.host.calls;
    expect(calls.lastIndexOf("appendAudit")).toBeLessThan(calls.lastIndexOf("unlock"));
    // Who is in the stack history too: every update message starts with it.
    expect(w.stack.updates.map((u) => u.message)).toEqual([`${who()}: deploy v1`, `${who()}: deploy v2`, expect.stringMatching(/: rollback to v1: automatic: v2 failed its health check/)]);
    expect(w.stack.updates[2]!.message.startsWith(`${who()}: rollback to v1`)).toBe(true);
  });

  it("a manual rollback records its reason; a run that never reached the host records nothing", async () => {
    const w = world();
    await deployed(w, "v1", "v2");
    await w.rollback({ reason: "login broken for some users" });
    expect(w.host.auditEntries.at(-1)).toMatchObject({ command: "rollback", release: "v1", outcome: "rollback-done", reason: "rollback v2 -> v1: login broken for some users" });
    const before = w.host.auditLines.length;
    const refused = await rollback({ ...w.base(), reason: "x", confirm: "nope" });
    expect(refused.outcome).toBe("usage");
    expect(w.host.auditLines.length).toBe(before);
  });

  it("a cancelled run and a blocked one are in the trail too, with their outcomes", async () => {
    const w = world();
    await deployed(w, "v1");
    w.onProbe = (round) => {
      if (round === 1) w.cancellation.cancel("SIGTERM");
    };
    expect((await w.deploy("v2")).outcome).toBe("cancelled");
    w.onProbe = undefined;
    w.cancellation = new Cancellation();
    w.host.factsReport.diskFreeMb = 1;
    expect((await w.deploy("v3")).outcome).toBe("blocked");
    expect(w.host.auditEntries.map((e) => [e.release, e.outcome, e.exitCode])).toEqual([
      ["v1", "deployed-verified", 0],
      ["v2", "cancelled", outcomes.cancelled.exitCode],
      ["v3", "blocked", outcomes.blocked.exitCode],
    ]);
  });

  it("a failed append never fails the run: the outcome stands and the summary says so", async () => {
    const w = world();
    w.host.failAudit = "disk full";
    const s = await w.deploy("v1");
    expectEnd(s, "deployed-verified", "verdict");
    expect(s.messages.join("\n")).toMatch(/audit log on the host could not be appended .*disk full/);
    expect(w.host.auditLines).toEqual([]);
    expect(w.host.lock).toBeNull();
    expectHostLeftClean(w);
  });

  it("a secret in the reason is masked in the entry", async () => {
    const secret = "s3ssion-secret-for-the-audit";
    const config = stackConfig();
    config["awareness:secretEnv"] = { value: JSON.stringify({ SESSION_SECRET: secret }), secret: true };
    const w = world({ config });
    await deployed(w, "v1");
    w.host.composeOnDisk = "0".repeat(64);
    w.stack.onUp({ kind: "fail", error: new Error(`backend exited 1:\nstarting with SESSION_SECRET=${secret}`) });
    expect((await w.deploy("v2")).outcome).toBe("rolled-back");
    expect(w.host.auditLines.join("\n")).not.toContain(secret);
    expect(w.host.auditEntries.at(-1)?.reason).toContain("SESSION_SECRET=***");
  });

  it("status --audit lists the newest entries first, at most --limit, and reports malformed lines without failing", async () => {
    const w = world();
    await deployed(w, "v1", "v2", "v3");
    w.host.auditLines.push("{not json", JSON.stringify({ schema: 1, who: "x" }));
    const { summary, report } = await status({ ...w.base(), auditLimit: 4 });
    expectEnd(summary, "ok", "status");
    expect(report?.audit?.entries.map((e) => e.release)).toEqual(["v3", "v2"]);
    expect(report?.audit?.malformed.map((m) => [m.line, m.why])).toEqual([
      [3, "not JSON"],
      [4, expect.stringMatching(/^command /)],
    ]);
    const text = renderStatus(report!);
    expect(text).toMatch(/audit \(newest first, 2 entries\):\n {4}\S+ deployed-verified +deploy v3 by /);
    expect(text).toContain("! line 3 of those read is not an entry (not JSON): {not json");
    // Without --audit the log is not read.
    w.host.calls.length = 0;
    expect((await status(w.base())).report?.audit).toBeUndefined();
    expect(w.host.calls).not.toContain("auditLog");
  });
});

// ---- notifications ----

describe("notifications", () => {
  const hookSecret = "hook-secret-0123456789";
  const withWebhook = (url: string, asSecret = true) => {
    const config = stackConfig();
    config["awareness:notify"] = { value: JSON.stringify([{ kind: "webhook", url, secret: hookSecret }]), secret: asSecret };
    return config;
  };
  let hook: Recorder | undefined;
  afterEach(async () => hook?.close());
  const eventsOf = (r: Recorder) => r.requests.map((q) => [q.headers["x-awareness-event"], (JSON.parse(q.body) as { release?: { id: string } }).release?.id]);

  it("a deploy that rolls back sends started, failed and rolled-back to the webhook", async () => {
    hook = await httpRecorder();
    const w = world({ config: withWebhook(`${hook.url}/deploys`) });
    await deployed(w, "v1");
    w.broken.add("v2");
    const s = await w.deploy("v2");
    expectEnd(s, "rolled-back", "rollback");
    expect(eventsOf(hook)).toEqual([
      ["started", "v1"],
      ["verified", "v1"],
      ["started", "v2"],
      ["failed", "v2"],
      ["rolled-back", "v1"],
    ]);
    expect(s.notifications).toEqual({ delivered: 3, failures: [] });
    expect(hook.requests.map((q) => q.body).join("")).not.toContain(hookSecret);
  });

  it("every event names who started the run exactly as its audit line does (user@host here, even with USER unset)", async () => {
    hook = await httpRecorder();
    const w = world({ config: withWebhook(hook.url) });
    const user = process.env.USER;
    delete process.env.USER;
    try {
      await deployed(w, "v1");
    } finally {
      if (user === undefined) delete process.env.USER;
      else process.env.USER = user;
    }
    const who = w.host.auditEntries.at(-1)!.who;
    expect(who).toBe(runActor().who);
    expect(hook.requests.map((q) => (JSON.parse(q.body) as { actor: string }).actor)).toEqual([who, who]);
  });

  it("a manual rollback sends started and rolled-back, both naming the release it brings back; a blocked deploy sends blocked", async () => {
    hook = await httpRecorder();
    const w = world({ config: withWebhook(hook.url) });
    await deployed(w, "v1", "v2");
    hook.requests.length = 0;
    expectEnd(await w.rollback({}), "rollback-done", "rollback");
    w.host.factsReport.diskFreeMb = 1;
    expectEnd(await w.deploy("v3"), "blocked", "prechecks");
    expect(eventsOf(hook)).toEqual([
      ["started", "v1"],
      ["rolled-back", "v1"],
      ["started", "v3"],
      ["blocked", "v3"],
    ]);
  });

  it("a webhook that keeps failing is reported, and the outcome and exit code stand", async () => {
    hook = await httpRecorder(() => ({ status: 503, body: "down" }));
    const w = world({ config: withWebhook(hook.url) });
    w.broken.add("v1");
    const logged: string[] = [];
    const log = { info: (l: string) => logged.push(l), warn: (l: string) => logged.push(l) };
    const s = await w.deploy("v1", { notify: { backoffMs: 1 }, log });
    // The webhook's URL is one of its secrets (with its signing key): neither shows anywhere.
    expect(JSON.stringify(s) + logged.join("\n")).not.toMatch(new RegExp(`${hookSecret}|127\\.0\\.0\\.1:${new URL(hook.url).port}`));
    expect(logged.some((l) => l.includes('did not take "failed"'))).toBe(true);
    expectEnd(s, "failed-no-rollback", "verdict");
    expect(hook.requests).toHaveLength(6); // started and failed, three attempts each
    expect(s.notifications?.failures.map((f) => [f.event, f.attempts])).toEqual([["started", 3], ["failed", 3]]);
    expect(s.messages).toContain('Notifier webhook #1 did not take "failed" (3 attempts): HTTP 503: down. The outcome stands.');
  });

  it("a notifier secret that is not a Pulumi secret is refused, naming the key, before any change", async () => {
    hook = await httpRecorder();
    const w = world({ config: withWebhook(hook.url, false) });
    const s = await w.deploy("v1");
    expectEnd(s, "invalid-config", "notify");
    expect(s.messages.join("\n")).toContain("awareness:notify[0].secret: must be a Pulumi secret");
    expect(hook.requests).toHaveLength(0);
    expect(w.host.currentId).toBeUndefined();
  });
});
