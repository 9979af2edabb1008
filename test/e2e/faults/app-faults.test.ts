// Faults of the application and of the host's resources, on one corner whose app dir is a small
// file system of its own (a tmpfs, so its size can be set): the disk below the floor, the disk
// filling during the switch, the rollback image deleted from the host during a run, an app that
// accepts TCP and never answers. One v1 deploy; every fault ends with the host on v1 again, where
// the next one starts, and each test's first run is the previous fault's "next plain run". v1 runs from registry repositories of this corner only, so deleting
// its images (from the host, from the registry) touches no other test's images.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../../automation/commands/deploy.js";
import { precheck } from "../../../automation/commands/precheck.js";
import type { Logger } from "../../../automation/common/log.js";
import { applySandboxStackConfig, sandboxStackConfig } from "../../../automation/sandbox/target.js";
import { lastFailedTag } from "../../../automation/stages/releases.js";
import type { RunSummary } from "../../../automation/report/summary.js";
import { driverStack, type DriverStack } from "../../support/driver.js";
import { clearCorner, get, imagePresentOnHost, onHost, runningOnHost, target, testCorner } from "../components-support.js";

const corner = testCorner("fault-app", { backend: 19080, frontend: 19081 });
const stackName = `test-fault-app-${process.pid}`;
const services = ["backend", "frontend"] as const;
const quiet: Logger = { info: () => {}, warn: () => {} };
/** The sandbox config's floor (awareness:precheck.minFreeDiskMb) and probe timeout. */
const diskFloorMb = 256;
const probeTimeoutMs = 1500;
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;
/** v1 by digest, from this corner's own repositories. */
const v1: Record<string, string> = {};

type Record_ = { id: string; images: Record<string, string> };
const record = () =>
  JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)) as { current: Record_; verified?: Record_; failed?: { id: string; reason: string } };
const composeHash = () => onHost(`sha256sum ${corner.appDir}/docker-compose.yml | cut -d' ' -f1`).trim();
const backupSets = () => onHost(`ls -1 ${corner.appDir}/backups 2>/dev/null; true`).trim();
const containerIds = () => onHost(`docker ps -q --filter label=com.docker.compose.project=${corner.composeProject} | sort`).trim();
const hostLock = () => onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim();
const failedTag = async () => (await (await ds.engine()).tags())[lastFailedTag];
const version = async () => {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `down (${r.status})`;
};
const cornerRepo = (service: string) => `${target.registry}/awareness-fault-app-${service}`;
const digestOf = (ref: string) => ref.slice(ref.indexOf("@") + 1);
const deployV = (releaseId: string, extra: Partial<DeployRequest> = {}) => deploy({ ...base, releaseId, images: target.releases[releaseId], ...extra });
const timed = async (run: () => Promise<RunSummary>) => {
  const started = Date.now();
  const s = await run();
  return { s, seconds: (Date.now() - started) / 1000 };
};

/** The host runs v1 again, exactly: record, both containers by v1's digests, v1 answering. */
async function expectOnV1(): Promise<void> {
  expect(record().current.id).toBe("v1");
  const running = runningOnHost(corner.composeProject);
  for (const s of services) expect(running[s]).toMatchObject({ image: v1[s], state: "running" });
  expect(await version()).toBe("v1");
  expect(hostLock()).toBe("free");
}

/** Sets the corner's app services config (waitHealthy) for the following runs. */
async function setWaitHealthy(waitHealthy: boolean): Promise<void> {
  const key = "awareness:services";
  await (await ds.engine()).setConfig({ [key]: sandboxStackConfig(target, "v1", { ...corner, waitHealthy })[key]! });
}

const mountpoint = corner.appDir;
const unmount = () => onHost(`if mountpoint -q ${mountpoint}; then umount ${mountpoint}; fi`);
const resizeMb = (mb: number) => onHost(`mount -o remount,size=${mb}m ${mountpoint}`);

beforeAll(async () => {
  unmount();
  clearCorner(corner);
  // The app dir on a file system of its own, roomy for now (a tmpfs takes memory only for what it holds).
  onHost(`mkdir -p ${mountpoint} && mount -t tmpfs -o size=512m,mode=755 awareness-fault-app ${mountpoint}`);
  for (const s of services) {
    const repo = cornerRepo(s);
    onHost(`docker tag ${target.releases.v1![s]} ${repo}:v1 && docker push ${repo}:v1 >/dev/null`);
    v1[s] = `${repo}@${digestOf(target.releases.v1![s]!)}`;
    expect(imagePresentOnHost(v1[s]!)).toBe(true); // the registry served the same manifest digest
  }
  ds = await driverStack(stackName, quiet);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  await applySandboxStackConfig(await ds.engine(), target, "v1", { ...corner, images: v1 });
  const first = await deploy({ ...base, releaseId: "v1", images: v1 });
  expect(first.outcome, first.messages.join(" ")).toBe("deployed-verified");
});

afterAll(async () => {
  try {
    unmount();
  } finally {
    clearCorner(corner);
    for (const s of services) onHost(`docker rmi ${cornerRepo(s)}:v1 ${v1[s] ?? ""} >/dev/null 2>&1 || true`);
    await ds?.cleanup();
  }
});

describe("the app dir's disk", () => {
  it("below the floor: the precheck blocks the deploy naming the path, the free space and the floor; nothing is sent", async () => {
    const before = { compose: composeHash(), record: record(), sets: backupSets(), containers: containerIds() };
    resizeMb(16);
    let s: RunSummary;
    try {
      s = await deployV("v2");
    } finally {
      resizeMb(512);
    }
    expect(s.outcome, s.messages.join("\n")).toBe("blocked");
    const failed = s.prechecks.filter((p) => !p.ok);
    expect(failed.map((p) => p.name)).toEqual(["disk and memory"]);
    const m = /^only (\d+) MB free disk at (\S+) \(need (\d+) MB\): free space on the host$/.exec(failed[0]!.detail);
    expect(m, failed[0]!.detail).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(16);
    expect(m![2]).toBe(corner.appDir);
    expect(Number(m![3])).toBe(diskFloorMb);
    expect(s.up).toBeUndefined();
    expect({ compose: composeHash(), record: record(), sets: backupSets(), containers: containerIds() }).toEqual(before);
    expect(hostLock()).toBe("free");
  });

  it("full during the switch: the switch fails before touching the running release (up-failed, a clear error)", async () => {
    const before = { compose: composeHash(), sets: backupSets(), containers: containerIds() };
    const fill = `${mountpoint}/fill`;
    let filled = "";
    // When the update starts (prechecks passed): no byte left on the app dir's file system.
    const onStage = (stage: string) => {
      if (stage !== "up") return;
      onHost(`dd if=/dev/zero of=${fill} bs=1M 2>/dev/null; dd if=/dev/zero of=${fill}.tail bs=4k 2>/dev/null; true`);
      filled = onHost(`df -Pk ${mountpoint} | awk 'NR==2 {print $4}'`).trim();
    };
    let s: RunSummary;
    try {
      s = await deployV("v2", { onStage });
    } finally {
      onHost(`rm -f ${fill} ${fill}.tail`);
    }
    expect(filled).toBe("0");
    expect(s.prechecks.every((p) => p.ok)).toBe(true);
    expect(s.outcome, s.messages.join("\n")).toBe("up-failed");
    expect(s.up?.error).toMatch(/No space left on device/);
    expect(s.up?.error).toMatch(/cannot stage the release files in \S+; the running release was not touched/);
    // The very same containers still run v1; files and backups untouched.
    expect({ compose: composeHash(), sets: backupSets(), containers: containerIds() }).toEqual(before);
    await expectOnV1();
    expect(await failedTag()).toMatch(/^v2@\d+$/);
    // With space again, the next deploy (the next test's) switches as usual: v2 goes live.
  });
});

describe("the rollback image deleted from the host", () => {
  it("v1's images removed from the host during v2's watch: the automatic rollback pulls them again by digest and ends on v1", async () => {
    const since = onHost("date +%s").trim();
    const removed: string[] = [];
    // Once v2 is live (v1's images no longer in use) and before its watch can fail it. What goes is
    // the reference v1 runs by; the layers stay, shared with the sandbox's own tags, so the pull
    // that brings it back transfers no layer (after a real prune it would download them).
    const onStage = (stage: string) => {
      if (stage !== "monitor") return;
      for (const s of services) {
        try {
          onHost(`docker rmi ${v1[s]}`);
          removed.push(s);
        } catch (err) {
          removed.push(`${s} NOT removed: ${(err as Error).message}`);
        }
      }
    };
    const s = await deployV("v2", { onStage });
    expect(removed).toEqual([...services]);
    expect(s.outcome, s.messages.join("\n")).toBe("rolled-back");
    // v2 went live first: the disk filled in the test before is writable again.
    expect(s.up?.result).toBe("succeeded");
    expect(s.rollback).toMatchObject({ from: "v2", to: "v1" });
    // Pulled again, by digest, by the rollback's switch.
    const pulls = onHost(`docker events --since ${since} --until $(date +%s) --filter type=image --filter event=pull --format '{{.Actor.ID}}'`);
    for (const ref of Object.values(v1)) expect(pulls.split("\n")).toContain(ref);
    for (const ref of Object.values(v1)) expect(imagePresentOnHost(ref)).toBe(true);
    await expectOnV1();
    expect(record()).toMatchObject({ verified: { id: "v1" }, failed: { id: "v2" } });
  });

  it("v1's images gone from the host and the registry: the precheck 'rollback possible' blocks the deploy, nothing is sent; back in the registry, the next run passes", async () => {
    const before = { compose: composeHash(), record: record(), sets: backupSets(), containers: containerIds() };
    const manifestUrl = (s: string) => `http://${target.registry}/v2/awareness-fault-app-${s}/manifests/${digestOf(v1[s]!)}`;
    for (const s of services) {
      // v1 runs, so only the reference goes (the sandbox's own tags keep the image itself).
      onHost(`docker rmi ${v1[s]} >/dev/null && curl -sf -X DELETE ${manifestUrl(s)}`);
    }
    try {
      const s = await deployV("v2");
      expect(s.outcome, s.messages.join("\n")).toBe("blocked");
      const failed = s.prechecks.filter((p) => !p.ok);
      expect(failed.map((p) => p.name)).toEqual(["rollback possible"]);
      expect(failed[0]!.detail).toMatch(/^images of the last verified release v1 are gone from the host and from the registry: /);
      for (const ref of Object.values(v1)) expect(failed[0]!.detail).toContain(ref);
      expect(s.up).toBeUndefined();
      expect({ compose: composeHash(), record: record(), sets: backupSets(), containers: containerIds() }).toEqual(before);
      expect(hostLock()).toBe("free");
    } finally {
      // Back in the registry (the same manifest, from the tag the first push left on the host).
      for (const s of services) onHost(`docker push ${cornerRepo(s)}:v1 >/dev/null`);
    }
    // The push put the digest reference back on the host: gone from there again, the next run still passes.
    for (const s of services) onHost(`docker rmi ${v1[s]} >/dev/null`);
    const next = await precheck({ ...base, releaseId: "v2", images: target.releases.v2 });
    expect(next.outcome, next.messages.join("\n")).toBe("ok");
    expect(next.prechecks.find((p) => p.name === "rollback possible")?.detail).toMatch(/are not on the host; the registry has them \(a rollback pulls them\)$/);
    for (const s of services) onHost(`docker pull -q ${v1[s]} >/dev/null`);
  });
});

describe("an app that accepts TCP but never answers (v6)", () => {
  it("with waitHealthy (the default), the switch's own wait sees its health check time out and puts v1 back: up-failed", async () => {
    const { s, seconds } = await timed(() => deployV("v6"));
    expect(s.outcome, s.messages.join("\n")).toBe("up-failed");
    // The switch caught it, not the monitor: no probe was taken, no automatic rollback ran.
    expect(s.monitor).toBeUndefined();
    expect(s.rollback).toBeUndefined();
    expect(s.up?.error).toMatch(/release v6 did not start: service backend: container is unhealthy/);
    expect(s.messages.join(" ")).toMatch(/The previous release v1 still runs \(checked on the host\)/);
    // Bounded by the switch's start timeout (30 s) and the engine's overhead.
    expect(seconds).toBeLessThan(120);
    await expectOnV1();
    expect(record().failed).toMatchObject({ id: "v6" });
    expect(await failedTag()).toMatch(/^v6@\d+$/);
  });

  it("without waitHealthy, every probe times out at the probe timeout, the monitor fails it and the automatic rollback brings v1 back", async () => {
    await setWaitHealthy(false);
    try {
      const { s, seconds } = await timed(() => deployV("v6"));
      expect(s.outcome, s.messages.join("\n")).toBe("rolled-back");
      // The switch only waited until the containers ran: v6 went live and the monitor judged it.
      expect(s.up?.result).toBe("succeeded");
      const samples = s.monitor!.rounds.flatMap((r) => r.samples);
      // Every check of the first round timed out: more failed checks than the rate allows, at once.
      expect(s.monitor!.rounds.length).toBeGreaterThanOrEqual(1);
      expect(s.monitor!.verdict).toMatchObject({ state: "failed", reason: "success-rate" });
      for (const sample of samples) {
        expect(sample).toMatchObject({ ok: false, error: `timeout after ${probeTimeoutMs} ms` });
        // Each probe gave up at its timeout (with room for a busy 2-core machine), never later.
        expect(sample.latencyMs).toBeGreaterThanOrEqual(probeTimeoutMs - 50);
        expect(sample.latencyMs).toBeLessThan(probeTimeoutMs + 1000);
      }
      expect(s.rollback).toMatchObject({ from: "v6", to: "v1" });
      expect(s.rollback!.monitor!.verdict.state).toBe("passed");
      expect(seconds).toBeLessThan(120);
      await expectOnV1();
      expect(record()).toMatchObject({ verified: { id: "v1" }, failed: { id: "v6", reason: expect.stringMatching(/failed its health check/) } });
    } finally {
      await setWaitHealthy(true);
    }
  });
});
