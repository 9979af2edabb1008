// A fleet rolled out canary first, on two real hosts: the sandbox host (t1) and the second host
// (t2: its own network namespace, sshd and dockerd). Each batch's watch probes its own host at
// its own address. A release the canary fails never reaches t2; every assertion reads each
// host itself (its deployment.json, its app).
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import type { RunSummary } from "../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { driverStack, type DriverStack, e2eLog } from "../support/driver.js";
import { clearCorner, get, onHost, target, testCorner } from "./components-support.js";
import { onT2, t2, t2File } from "./second-host.js";

const corner = testCorner("fleet", { backend: 19590, frontend: 19591 });
const t2AppDir = `${t2.appDir}-fleet`;
const stackName = `test-fleet-${process.pid}`;
const quiet = e2eLog("e2e-fleet");
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;
const explain = (s: RunSummary) => JSON.stringify({ outcome: s.outcome, messages: s.messages, rollout: s.rollout }, null, 1);

type HostRecord = { current: { id: string } | null; previous: { id: string } | null; verified: { id: string } | null; failed: { id: string } | null };
const t1Record = () => JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)) as HostRecord;
const t2Record = () => JSON.parse(onT2(`cat ${t2AppDir}/deployment.json`)) as HostRecord;
const versionAt = async (host: string) => {
  try {
    const r = await fetch(`http://${host}:${corner.ports.backend}/api/version`, { signal: AbortSignal.timeout(3000) });
    return (JSON.parse(await r.text()) as { version: string }).version;
  } catch {
    return "down";
  }
};
const clearT2 = () => onT2(`ids=$(docker ps -a -q --filter label=com.docker.compose.project=${corner.composeProject}); [ -z "$ids" ] || docker rm -f $ids >/dev/null; rm -rf ${t2AppDir}`);

beforeAll(async () => {
  if (!existsSync(t2File)) throw new Error(`${t2File} is missing: the e2e setup starts the sandbox with --second-host`);
  clearCorner(corner);
  clearT2();
  ds = await driverStack(stackName, quiet);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  const engine = await ds.engine();
  await applySandboxStackConfig(engine, target, "v1", corner);
  await engine.setConfig({
    "awareness:hosts": {
      value: JSON.stringify([
        { name: "t1", host: target.ssh.host, port: target.ssh.port, user: target.ssh.user, hostKey: target.ssh.hostPublicKey, healthBaseUrl: `http://127.0.0.1:${corner.ports.backend}` },
        { name: "t2", host: t2.ssh.host, port: t2.ssh.port, user: t2.ssh.user, hostKey: t2.ssh.hostPublicKey, appDir: t2AppDir, healthBaseUrl: `http://${t2.ssh.host}:${corner.ports.backend}` },
      ]),
    },
    "awareness:rollout": { value: JSON.stringify({ startTimeoutSeconds: 30, stableChecks: 2, canary: 1 }) },
  });
});

afterAll(async () => {
  clearCorner(corner);
  clearT2();
  await ds?.cleanup();
});

describe("a fleet of two hosts, the canary first", () => {
  it("a first deploy reaches both hosts at once and is verified on each", async () => {
    const s = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    expect(s.rollout).toBeUndefined();
    expect([t1Record().verified?.id, t2Record().verified?.id]).toEqual(["v1", "v1"]);
  });

  it("the next release: the canary t1 alone, watched at its own address, then t2; both verified", async () => {
    let t2WhileCanaryWatched = "";
    const s = await deploy({
      ...base,
      releaseId: "v1b",
      images: target.releases.v1,
      env: { APP_ENV: "sandbox-b" },
      onStage: async (stage) => {
        // The deploy's own up is batch 2: when it starts, the canary has passed its gate and t2 still runs v1.
        if (stage === "up") t2WhileCanaryWatched = t2Record().current?.id ?? "none";
      },
    });
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    expect(s.rollout).toEqual([{ hosts: ["t1"], update: expect.any(Number), verdict: "passed" }]);
    expect(t2WhileCanaryWatched).toBe("v1");
    expect([t1Record().current?.id, t2Record().current?.id]).toEqual(["v1b", "v1b"]);
    expect([t1Record().verified?.id, t2Record().verified?.id]).toEqual(["v1b", "v1b"]);
  });

  it("a release the canary fails (v2): t1 goes back to v1b, t2 never runs v2", async () => {
    const s = await deploy({ ...base, releaseId: "v2", images: target.releases.v2 });
    expect(s.outcome, explain(s)).toBe("rolled-back");
    expect(s.rollout?.[0]).toMatchObject({ hosts: ["t1"], verdict: "failed", detail: expect.stringContaining("t1 /api/auth/status") });
    const [r1, r2] = [t1Record(), t2Record()];
    expect([r1.current?.id, r1.failed?.id]).toEqual(["v1b", "v2"]);
    expect([r2.current?.id, r2.previous?.id, r2.failed?.id ?? null]).toEqual(["v1b", "v1", null]);
    expect([await versionAt("127.0.0.1"), await versionAt(t2.ssh.host)]).toEqual(["v1", "v1"]);
    expect((await get(corner.ports.backend, "/api/auth/status")).status).toBe(200);
    // The pins of the canary's update are gone: the config names no host release.
    expect((await (await ds.engine()).getConfig())["awareness:hostReleases"]).toBeUndefined();
  });
});
