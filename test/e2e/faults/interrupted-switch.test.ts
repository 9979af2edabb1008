// Fault: the driver is SIGKILLed while the switch runs on the host. The remote switch goes on
// and the host ends on the new files and containers, while the state still says the old
// release was applied. Re-applying the old release shows no diff to the engine, so without
// reconcile nothing would run and the host would keep the unmonitored release. The next plain
// `rollback` must see the drift, say so, run the switch again, and end exactly on the target.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../../automation/commands/deploy.js";
import { rollback } from "../../../automation/commands/rollback.js";
import { repoRoot } from "../../../automation/common/process.js";
import { applySandboxStackConfig } from "../../../automation/sandbox/target.js";
import { driverStack, type DriverStack } from "../../support/driver.js";
import { clearCorner, get, onHost, runningOnHost, target, testCorner } from "../components-support.js";

const corner = testCorner("fault-kill", { backend: 18780, frontend: 18781 });
const stackName = `test-fault-kill-${process.pid}`;
const quiet = { info: () => {}, warn: () => {} };
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;

const record = () => JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)) as { current: { id: string; images: Record<string, string> } };
const hostLock = () => onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim();
const version = async () => {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `down (${r.status})`;
};

beforeAll(async () => {
  clearCorner(corner);
  ds = await driverStack(stackName, quiet);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
  const v1 = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
  expect(v1.outcome, v1.messages.join(" ")).toBe("deployed-verified");
});

afterAll(async () => {
  clearCorner(corner);
  await ds?.cleanup();
});

describe("SIGKILL mid-switch", () => {
  it("leaves the host on the new release while the state says v1; the next rollback sees it and converges on v1", async () => {
    // 1. deploy v2 from the CLI and SIGKILL it once the switch runs on the host.
    const args = [join(repoRoot, "automation", "cli.ts"), "deploy", "--stack", stackName, "--release", "v2",
      ...Object.entries(target.releases.v2!).flatMap(([s, ref]) => ["--image", `${s}=${ref}`]), "--skip-ci-check", "--allow-dirty",
      "--report-dir", join(ds.dir, "reports")];
    const child = spawn(join(repoRoot, "node_modules", ".bin", "tsx"), args, {
      cwd: repoRoot,
      env: { ...process.env, ...ds.envVars, PULUMI_BACKEND_URL: ds.backendUrl, AWARENESS_PROJECT_DIR: ds.dir },
      stdio: ["ignore", "ignore", "pipe"],
      detached: true, // its own process group: the kill takes the engine and the plugin down with it
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((r) => child.on("exit", r));
    // Kill once the switch has put v2's compose file in place on the host (a condition, polled).
    const composeOf = () => onHost(`sha256sum ${corner.appDir}/docker-compose.yml | cut -d' ' -f1`).trim();
    const v1Compose = composeOf();
    let killed = false;
    while (child.exitCode === null && !killed) {
      if (composeOf() !== v1Compose) {
        process.kill(-child.pid!, "SIGKILL");
        killed = true;
      }
    }
    await exited;
    expect(killed, stderr.slice(-2000)).toBe(true);

    // 2. Whatever the switch did after the kill (it may go on, or die when its output pipe
    // closes), wait for it (it holds a flock on the host): the host no longer runs exactly v1.
    onHost(`flock ${corner.appDir}/.switch.lock true`);
    expect(composeOf()).not.toBe(v1Compose);

    // 3. A plain rollback to v1, the release the state says is applied.
    const rb = await rollback({ ...base, reason: "a deploy was killed mid-switch", confirm: "ROLLBACK", to: "v1" });
    expect(rb.outcome, rb.messages.join("\n")).toBe("rollback-done");
    expect(rb.messages.join(" ")).toMatch(/The host differs from the state \(it should run v1\): .*the compose file on the host is [0-9a-f]{12}, not [0-9a-f]{12}/);
    expect(record().current.id).toBe("v1");
    expect(runningOnHost(corner.composeProject).backend).toMatchObject({ image: target.releases.v1!.backend, state: "running" });
    expect(await version()).toBe("v1");
    expect(hostLock()).toBe("free");
    expect(readdirSync(join(ds.dir, ".pulumi", "locks"), { recursive: true }).map(String).filter((f) => f.endsWith(".json"))).toEqual([]);
  });
});
