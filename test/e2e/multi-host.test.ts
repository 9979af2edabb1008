// Per-host truth on two real hosts: the sandbox host and the second host (its own network
// namespace, sshd and dockerd; `sandbox.sh up --second-host`). One stack names both; every
// assertion reads each host itself (its deployment.json, its containers, its app).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { status } from "../../automation/commands/status.js";
import { repoRoot } from "../../automation/common/process.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { driverStack, type DriverStack } from "../support/driver.js";
import { clearCorner, onHost, runningOnHost, target, testCorner } from "./components-support.js";
import { onT2, t2, t2File } from "./second-host.js";

const corner = testCorner("multi-host", { backend: 19280, frontend: 19281 });
const t2AppDir = `${t2.appDir}-multi-host`;
const stackName = `test-multi-host-${process.pid}`;
const quiet = { info: () => {}, warn: () => {} };
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;

const sandbox = (...args: string[]) => spawnSync("bash", [join(repoRoot, "test", "sandbox", "sandbox.sh"), ...args], { encoding: "utf8" });

type Record_ = { current: { id: string } | null; verified: { id: string } | null; failed: { id: string } | null };
const recordOn = (run: (c: string) => string, dir: string) => JSON.parse(run(`cat ${dir}/deployment.json`)) as Record_;
const t1Record = () => recordOn(onHost, corner.appDir);
const t2Record = () => recordOn(onT2, t2AppDir);
/** The backend image each host runs for the corner's project (docker on each host). */
const t2Backend = () =>
  onT2(`for id in $(docker ps -a -q --filter label=com.docker.compose.project=${corner.composeProject} --filter label=com.docker.compose.service=backend); do docker inspect -f '{{.Config.Image}} {{.State.Status}}' "$id"; done`).trim();
const t1Backend = () => {
  const b = runningOnHost(corner.composeProject).backend;
  return b ? `${b.image} ${b.state}` : "";
};
const t2Version = () => onT2(`curl -s --max-time 3 http://127.0.0.1:${corner.ports.backend}/api/version`);

/** Stops the second host's loopback registry (the sandbox brings it back with `up --second-host`). */
function stopT2Registry(): void {
  const pid = Number(readFileSync(join(repoRoot, ".sandbox", "t2", "registry-lo.pid"), "utf8").trim());
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && spawnSync("kill", ["-0", String(pid)]).status === 0; i++) spawnSync("sleep", ["0.05"]);
}

async function release(id: string, images: Record<string, string>, env?: Record<string, string>) {
  return deploy({ ...base, releaseId: id, images, ...(env ? { env } : {}) });
}

beforeAll(async () => {
  if (!existsSync(t2File)) throw new Error(`${t2File} is missing: the e2e setup starts the sandbox with --second-host`);
  clearCorner(corner);
  onT2(`ids=$(docker ps -a -q --filter label=com.docker.compose.project=${corner.composeProject}); [ -z "$ids" ] || docker rm -f $ids >/dev/null; rm -rf ${t2AppDir}`);
  ds = await driverStack(stackName, quiet);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  const engine = await ds.engine();
  await applySandboxStackConfig(engine, target, "v1", corner);
  await engine.setConfig({
    "awareness:hosts": {
      value: JSON.stringify([
        { name: "t1", host: target.ssh.host, port: target.ssh.port, user: target.ssh.user, hostKey: target.ssh.hostPublicKey },
        { name: "t2", host: t2.ssh.host, port: t2.ssh.port, user: t2.ssh.user, hostKey: t2.ssh.hostPublicKey, appDir: t2AppDir },
      ]),
    },
  });
});

afterAll(async () => {
  sandbox("up", "--second-host"); // whatever a test stopped comes back
  clearCorner(corner);
  onT2(`ids=$(docker ps -a -q --filter label=com.docker.compose.project=${corner.composeProject}); [ -z "$ids" ] || docker rm -f $ids >/dev/null; rm -rf ${t2AppDir}`);
  await ds?.cleanup();
});

describe("one stack, two hosts", () => {
  it("deploys v1 to both hosts; each host runs it and records it verified", async () => {
    const s = await release("v1", target.releases.v1!);
    expect(s.outcome, s.messages.join("\n")).toBe("deployed-verified");
    for (const r of [t1Record(), t2Record()]) expect([r.current?.id, r.verified?.id]).toEqual(["v1", "v1"]);
    expect(t1Backend()).toBe(`${target.releases.v1!.backend} running`);
    expect(t2Backend()).toBe(`${target.releases.v1!.backend} running`);
    expect(JSON.parse(t2Version()).version).toBe("v1");
    expect(s.prechecks?.filter((p) => p.name.startsWith("host t2: ")).map((p) => p.ok)).toEqual([true, true, true, true, true]);
  });

  it("a change made by hand on the second host only is seen, named, and undone by the next deploy", async () => {
    onT2(`cd ${t2AppDir} && echo '# edited by hand' >> docker-compose.yml && docker compose -p ${corner.composeProject} stop backend >/dev/null 2>&1`);
    const s = await release("v1b", target.releases.v1!, { APP_ENV: "second" });
    expect(s.outcome, s.messages.join("\n")).toBe("deployed-verified");
    expect(s.messages.join(" ")).toMatch(/The hosts differ from the state: host t2: it should run v1, the compose file on the host is [0-9a-f]{12}, not [0-9a-f]{12}; backend is exited/);
    expect(s.messages.join(" ")).not.toMatch(/host t1: it should run/);
    for (const r of [t1Record(), t2Record()]) expect([r.current?.id, r.verified?.id]).toEqual(["v1b", "v1b"]);
    expect(t2Backend()).toBe(`${target.releases.v1!.backend} running`);
    expect(onT2(`cat ${t2AppDir}/docker-compose.yml`)).not.toContain("edited by hand");
  });

  it("the prechecks ask every host: a second host that cannot reach the registry blocks the deploy, nothing changes", async () => {
    stopT2Registry();
    try {
      const s = await release("v3", target.releases.v3!);
      expect(s.outcome, s.messages.join("\n")).toBe("blocked");
      expect(s.prechecks?.find((p) => p.name === "host t2: images in registry")?.ok).toBe(false);
      expect(s.prechecks?.find((p) => p.name === "host t1: images in registry")?.ok).toBe(true);
      expect([t1Record().current?.id, t2Record().current?.id]).toEqual(["v1b", "v1b"]);
    } finally {
      sandbox("up", "--second-host");
    }
  });

  it("a release the second host cannot pull after the prechecks never leaves the hosts split", async () => {
    // t2's registry goes away once the prechecks passed: the update stage starts without it.
    let stopped = false;
    const log = { info: (m: string) => { if (!stopped && m === "== up") { stopT2Registry(); stopped = true; } }, warn: () => {} };
    try {
      const s = await deploy({ ...base, log, releaseId: "v3", images: target.releases.v3! });
      expect(stopped).toBe(true);
      const t1 = t1Record();
      const t2r = t2Record();
      // Either the update stopped before any host switched (up-failed), or the primary switched
      // and the automatic rollback brought it back: both hosts end on v1b, and the records say so.
      expect(["up-failed", "rolled-back"], s.messages.join("\n")).toContain(s.outcome);
      expect([t1.current?.id, t2r.current?.id]).toEqual(["v1b", "v1b"]);
      expect(t1Backend()).toBe(`${target.releases.v1!.backend} running`);
      expect(t2Backend()).toBe(`${target.releases.v1!.backend} running`);
      if (s.outcome === "rolled-back") {
        expect(s.rollback?.reason).toMatch(/host t1: deployment.json names v3/);
        expect([t1.failed?.id, t2r.failed?.id]).toEqual(["v3", "v3"]);
      } else {
        expect(s.messages.join(" ")).toMatch(/The previous release v1b still runs \(checked on every host\)/);
      }
      console.log(`multi-host: a release t2 cannot pull ended ${s.outcome}`);
    } finally {
      sandbox("up", "--second-host");
    }
  });

  it("status shows each host's own record", async () => {
    const r = await status({ stackName, deps: ds.deps, log: quiet });
    expect(r.report?.host?.current?.id).toBe("v1b");
    expect(r.report?.otherHosts).toEqual([expect.objectContaining({ name: "t2", record: expect.objectContaining({ current: expect.objectContaining({ id: "v1b" }) }) })]);
  });
});
