// Engine swarm on the sandbox's Docker engine as the manager of a swarm, the second host's
// engine joining as a worker (host networking: the engines have no iptables for overlay networks): the release is a stack, Swarm updates
// it stop-first and rolls a failed update back by itself, and the driver's watch, verdict and
// rollback work unchanged on top. Every assertion reads the engine itself (the service's spec
// image, its running tasks) and the host's deployment.json.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { restore } from "../../automation/commands/restore.js";
import { rollback } from "../../automation/commands/rollback.js";
import type { RunSummary } from "../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { releaseArgs, runDriverCli } from "../support/cli-run.js";
import { driverStack, type DriverStack, e2eLog } from "../support/driver.js";
import { get, onHost, target, testCorner } from "./components-support.js";
import { onT2, t2 } from "./second-host.js";

const corner = testCorner("swarm", { backend: 19640, frontend: 19641 });
const stackName = `test-swarm-${process.pid}`;
const quiet = e2eLog("e2e-swarm");
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;
/** Whether this test made the engine a swarm (then it leaves it again). */
let initialised = false;
const explain = (s: RunSummary) => JSON.stringify({ outcome: s.outcome, messages: s.messages }, null, 1);

type Ref = { id: string } | null;
const record = () => JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)) as { current: Ref; previous: Ref; verified: Ref; failed: Ref };
const specImage = (service: string) => onHost(`docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' ${corner.composeProject}_${service}`).trim();
const runningTasks = (service: string) =>
  onHost(`docker service ps --filter desired-state=running --format '{{.Image}} {{.CurrentState}}' ${corner.composeProject}_${service}`).trim().split("\n").filter(Boolean);
const version = async () => {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : "down";
};
const removeStack = (of: { composeProject: string; appDir: string } = corner) =>
  onHost(`docker stack rm ${of.composeProject} >/dev/null 2>&1; for i in $(seq 1 30); do [ -z "$(docker ps -aq --filter label=com.docker.stack.namespace=${of.composeProject})" ] && break; sleep 1; done; rm -rf ${of.appDir}`);

const spread = testCorner("swarm-spread", { backend: 19645, frontend: 19646 });
const global = testCorner("swarm-global", { backend: 19650, frontend: 19651 });
let spreadDs: DriverStack | undefined;
let globalDs: DriverStack | undefined;
const release = (of: DriverStack, suffix: string): DeployRequest => ({
  stackName: `${stackName}-${suffix}`, deps: of.deps, skipCiCheck: true, allowDirty: true, log: quiet, releaseId: "v1", images: target.releases.v1,
});
/** Host truth: the backend's running tasks, one on each node, each answering v1 at its node's own address. */
async function expectOneTaskPerNode(of: { composeProject: string; ports: { backend: number } }): Promise<void> {
  // By node ID: both sandbox engines run on one machine, under one hostname.
  const nodes = onHost(`docker inspect -f '{{.NodeID}}' $(docker service ps -q --filter desired-state=running ${of.composeProject}_backend)`).trim().split("\n");
  expect(new Set(nodes).size, nodes.join(", ")).toBe(2);
  expect(nodes).toHaveLength(2);
  for (const address of ["127.0.0.1", t2.ssh.host]) {
    const r = await fetch(`http://${address}:${of.ports.backend}/api/version`, { signal: AbortSignal.timeout(3000) });
    expect((JSON.parse(await r.text()) as { version: string }).version).toBe("v1");
  }
}

beforeAll(async () => {
  if (onHost("docker info -f '{{.Swarm.LocalNodeState}}'").trim() !== "active") {
    // Advertised on the address the second host reaches this engine at, so it can join as a worker.
    onHost(`a=$(ip -o route get ${t2.ssh.host} | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'); docker swarm init --advertise-addr "$a" --listen-addr "$a:2377" >/dev/null`);
    initialised = true;
  }
  removeStack();
  ds = await driverStack(stackName, quiet);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  await applySandboxStackConfig(await ds.engine(), target, "v1", {
    ...corner,
    overrides: {
      "awareness:engine": "swarm",
      "awareness:swarm": { monitorSeconds: 3 },
      "awareness:rollout": { startTimeoutSeconds: 90, stableChecks: 2 },
    },
  });
});

afterAll(async () => {
  removeStack();
  removeStack(spread);
  removeStack(global);
  // The worker's tasks go with the stacks before the worker leaves.
  onT2(
    `for i in $(seq 1 30); do [ -z "$(docker ps -aq --filter label=com.docker.stack.namespace=${global.composeProject}; docker ps -aq --filter label=com.docker.stack.namespace=${spread.composeProject})" ] && break; sleep 1; done; ` +
      "docker swarm leave --force >/dev/null 2>&1; docker network rm docker_gwbridge >/dev/null 2>&1; true",
  );
  await spreadDs?.cleanup();
  await globalDs?.cleanup();
  // Leave the engine as it was found: no swarm, and none of the networks a swarm adds.
  if (initialised) onHost("docker swarm leave --force >/dev/null 2>&1; docker network rm docker_gwbridge >/dev/null 2>&1; true");
  await ds?.cleanup();
});

describe("engine swarm: the release as a stack on a swarm manager", () => {
  it("v1 is deployed as a stack: each service's spec names the pinned image, its task runs, and the release is verified", async () => {
    const s = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    expect(specImage("backend")).toBe(target.releases.v1!.backend);
    expect(specImage("frontend")).toBe(target.releases.v1!.frontend);
    expect(runningTasks("backend")).toEqual([expect.stringMatching(/Running/)]);
    // The containers are Swarm's, not compose's.
    expect(onHost(`docker ps -q --filter label=com.docker.compose.project=${corner.composeProject} | wc -l`).trim()).toBe("0");
    expect([record().current?.id, record().verified?.id]).toEqual(["v1", "v1"]);
    expect(await version()).toBe("v1");
  });

  it("v2 passes Swarm's own check (its healthcheck is fine) but fails the driver's watch: the driver rolls the stack back to v1", async () => {
    const s = await deploy({ ...base, releaseId: "v2", images: target.releases.v2 });
    expect(s.outcome, explain(s)).toBe("rolled-back");
    expect(s.rollback?.to).toBe("v1");
    expect(specImage("backend")).toBe(target.releases.v1!.backend);
    expect([record().current?.id, record().failed?.id, record().verified?.id]).toEqual(["v1", "v2", "v1"]);
    expect((await get(corner.ports.backend, "/api/auth/status")).status).toBe(200);
  });

  it("v5 never starts: Swarm rolls its update back by itself, the switch fails with Swarm's words, v1 still runs (checked on the engine)", async () => {
    const s = await deploy({ ...base, releaseId: "v5", images: target.releases.v5 });
    expect(s.outcome, explain(s)).toBe("up-failed");
    expect(s.messages.join(" ")).toMatch(/Swarm rolled the update of awareness-swarm_backend back/);
    expect(specImage("backend")).toBe(target.releases.v1!.backend);
    expect(runningTasks("backend")).toEqual([expect.stringMatching(/Running/)]);
    expect(record().current?.id).toBe("v1");
    expect(await version()).toBe("v1");
  });

  it("SIGKILL of the driver once Swarm is updating to v2: Swarm finishes the update alone while the state says v1; the next rollback sees the drift and converges on v1", async () => {
    const v2 = target.releases.v2!.backend!;
    const run = await runDriverCli({ ds, stackName }, releaseArgs("v2", target.releases.v2!), () => specImage("backend") === v2, ["SIGKILL"]);
    expect(run.signal, run.stderr.slice(-2000)).toBe("SIGKILL");
    // What the host does after the kill: the switch script (if it still runs) ends, and Swarm completes the update it was given.
    onHost(`flock ${corner.appDir}/.switch.lock true`);
    expect(onHost(`for i in $(seq 1 60); do s=$(docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' ${corner.composeProject}_backend); [ "$s" = completed ] && break; sleep 1; done; echo "$s"`).trim()).toBe("completed");
    expect(runningTasks("backend")).toEqual([expect.stringContaining(v2.split("@")[1]!)]);

    const rb = await rollback({ ...base, reason: "a deploy was killed mid-switch", confirm: "ROLLBACK", to: "v1" });
    expect(rb.outcome, explain(rb)).toBe("rollback-done");
    expect(rb.messages.join(" ")).toMatch(/The host differs from the state \(it should run v1\)/);
    expect(rb.messages.join(" ")).toMatch(/Broke the host lock of a run that died: .*\(release v2,/);
    expect(specImage("backend")).toBe(target.releases.v1!.backend);
    expect(runningTasks("backend")).toEqual([expect.stringContaining(target.releases.v1!.backend!.split("@")[1]!)]);
    expect(record().current?.id).toBe("v1");
    expect(await version()).toBe("v1");
    expect(onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim()).toBe("free");
  });

  it("more replicas than nodes: one task per node (host network), the extra task stays pending, the switch fails when its start timeout runs out and removes the new stack", async () => {
    spreadDs = await driverStack(`${stackName}-spread`, quiet);
    await applySandboxStackConfig(await spreadDs.engine(), target, "v1", {
      ...spread,
      overrides: { "awareness:engine": "swarm", "awareness:swarm": { replicas: 2, monitorSeconds: 3 }, "awareness:rollout": { startTimeoutSeconds: 10, stableChecks: 2 } },
    });
    const s = await deploy(release(spreadDs, "spread"));
    // A first deploy: there is no verified release to go back to.
    expect(s.outcome, explain(s)).toBe("failed-no-rollback");
    expect(s.messages.join(" ")).toMatch(/not running after 10 s:.*backend\(1\/2/);
    expect(s.messages.join(" ")).toMatch(/there was no previous release: the new stack was removed/);
    expect(onHost(`docker service ls -q --filter label=com.docker.stack.namespace=${spread.composeProject}`).trim()).toBe("");
    removeStack(spread);
  });

  it("a worker joins (the second host): the same deploy now runs one task on each node, each answering at its own address", async () => {
    const token = onHost("docker swarm join-token -q worker").trim();
    const manager = onHost("docker info -f '{{.Swarm.NodeAddr}}'").trim();
    onT2(`docker swarm join --advertise-addr ${t2.ssh.host} --listen-addr ${t2.ssh.host}:2377 --token ${token} ${manager}:2377 >/dev/null`);
    expect(onHost("docker node ls --format '{{.Status}} {{.ManagerStatus}}'").split("\n").map((l) => l.trim()).filter(Boolean).sort()).toEqual(["Ready", "Ready Leader"]);
    const s = await deploy(release(spreadDs!, "spread"));
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    await expectOneTaskPerNode(spread);
  });

  it("a stack in global mode runs a task on each node (the worker included)", async () => {
    globalDs = await driverStack(`${stackName}-global`, quiet);
    await applySandboxStackConfig(await globalDs.engine(), target, "v1", {
      ...global,
      overrides: { "awareness:engine": "swarm", "awareness:swarm": { mode: "global", monitorSeconds: 3 }, "awareness:rollout": { startTimeoutSeconds: 120, stableChecks: 2 } },
    });
    const s = await deploy(release(globalDs, "global"));
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    await expectOneTaskPerNode(global);
  });

  it("restore is refused for a swarm stack (a rollback re-deploys instead); nothing changes", async () => {
    const s = await restore({ stackName, deps: ds.deps, log: quiet, confirm: "RESTORE" });
    expect(s.outcome, explain(s)).toBe("usage");
    expect(s.messages.join(" ")).toMatch(/engine swarm has no restore from backup sets yet/);
    expect(specImage("backend")).toBe(target.releases.v1!.backend);
  });
});
