// Blue-green end to end: the real engine, the real sandbox host, a real Caddy proxy owned by the
// stack, and a load generator (autocannon) sending requests through it during a deploy, an
// automatic rollback (a proxy flip back to the still-running old color) and a manual rollback.
// Each must lose no request. The same deploy with `recreate` reports what it loses, for comparison.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { restore } from "../../automation/commands/restore.js";
import { rollback } from "../../automation/commands/rollback.js";
import { status } from "../../automation/commands/status.js";
import type { RunSummary } from "../../automation/report/summary.js";
import { applySandboxStackConfig, type SandboxStackOptions } from "../../automation/sandbox/target.js";
import { driverStack, type DriverStack, e2eLog } from "../support/driver.js";
import { describeLoad, type LoadResult, startLoad } from "../support/load.js";
import { get, onHost, onHostAsync, target, testCorner } from "./components-support.js";

const quiet = e2eLog("e2e-blue-green");
const explain = (s: RunSummary) => JSON.stringify({ outcome: s.outcome, messages: s.messages }, null, 1);

interface Corner extends Required<Pick<SandboxStackOptions, "appDir" | "composeProject" | "ports">> {
  overrides: Record<string, unknown>;
}

function blueGreenCorner(name: string, ports: { backend: number; frontend: number }): Corner {
  const c = testCorner(name, ports);
  const route = (service: string, listenPort: number) => ({ service, listenPort, bluePort: listenPort + 10, greenPort: listenPort + 20 });
  return {
    ...c,
    overrides: {
      "awareness:strategy": "blue-green",
      "awareness:blueGreen": { proxyImage: target.proxyImage, routes: [route("backend", ports.backend), route("frontend", ports.frontend)], drainSeconds: 5 },
    },
  };
}

/** Every container of the corner's projects (the recreate one, both colors, the proxy) and its files go. */
function clear(c: { appDir: string; composeProject: string }): void {
  const projects = ["", "-blue", "-green", "-proxy"].map((s) => `--filter label=com.docker.compose.project=${c.composeProject}${s}`);
  onHost(`for f in ${projects.map((p) => `'${p}'`).join(" ")}; do ids=$(docker ps -a -q $f); [ -z "$ids" ] || docker rm -f $ids >/dev/null; done; rm -rf ${c.appDir}`);
}

/** service -> state of the containers of one compose project on the host. */
async function statesOf(project: string): Promise<Record<string, string>> {
  const out = await onHostAsync(
    `for id in $(docker ps -a -q --filter label=com.docker.compose.project=${project}); do docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}}' "$id"; done`,
  );
  return Object.fromEntries(out.trim().split("\n").filter(Boolean).map((l) => l.split(" ") as [string, string]));
}

async function servedVersion(port: number): Promise<string> {
  const r = await get(port, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
}

/** Runs `work` while the load generator sends requests through `port`; returns both. */
async function underLoad<T>(port: number, work: () => Promise<T>): Promise<{ result: T; load: LoadResult }> {
  const load = startLoad(`http://127.0.0.1:${port}/api/version`, { connections: 4 });
  try {
    const result = await work();
    return { result, load: await load.stop() };
  } catch (err) {
    await load.stop();
    throw err;
  }
}

/** The switch's host-clock phases of an up, in ms, by name. */
const switchMs = (s: RunSummary | undefined, up: "up" | "rollback") => {
  const phases = (up === "up" ? s?.up?.phases : s?.rollback?.up?.phases) ?? [];
  return Object.fromEntries(phases.filter((p) => p.phase.startsWith("switch:")).map((p) => [p.phase.replace(/^switch: /, "").replace(/ \([^)]*\)$/, ""), p.ms]));
};
const hostSwitchTotal = (phases: Record<string, number>) =>
  Object.entries(phases).filter(([k]) => k !== "ssh and engine").reduce((n, [, ms]) => n + ms, 0);

const measured: Record<string, unknown> = {};

describe("blue-green behind a Caddy proxy, under load", () => {
  const corner = blueGreenCorner("bluegreen", { backend: 19560, frontend: 19561 });
  const stackName = `test-bluegreen-${process.pid}`;
  let ds: DriverStack;
  let base: Omit<DeployRequest, "releaseId">;
  const release = (id: string) => deploy({ ...base, releaseId: id, images: target.releases[id] });
  const color = async () => (await onHostAsync(`cat ${corner.appDir}/.live-color`)).trim();

  beforeAll(async () => {
    clear(corner);
    ds = await driverStack(stackName, quiet);
    base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
    await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
  });

  afterAll(async () => {
    clear(corner);
    await ds?.cleanup();
  });

  it("v1 starts in blue behind the proxy: the public port serves v1, green has no containers", async () => {
    const s = await release("v1");
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    expect(await color()).toBe("blue");
    expect(await servedVersion(corner.ports.backend)).toBe("v1");
    expect(await statesOf(`${corner.composeProject}-blue`)).toEqual({ backend: "running", frontend: "running" });
    expect(await statesOf(`${corner.composeProject}-green`)).toEqual({});
    expect(await statesOf(`${corner.composeProject}-proxy`)).toEqual({ proxy: "running" });
    // The proxy fronts the public ports; the app itself listens only on its color's ports.
    expect(await servedVersion(corner.ports.backend + 10)).toBe("v1");
    expect((await get(corner.ports.frontend, "/")).body).toContain("release v1");
  });

  it("v7 deploys under load with no failed request: green takes it, blue stays warm until v7 is verified, then stops", async () => {
    let blueDuringWatch: Record<string, string> = {};
    const { result: s, load } = await underLoad(corner.ports.backend, () =>
      deploy({
        ...base,
        releaseId: "v7",
        images: target.releases.v7,
        onStage: async (stage) => {
          if (stage === "monitor") blueDuringWatch = await statesOf(`${corner.composeProject}-blue`);
        },
      }),
    );
    measured.deploy = { blueGreen: load, switch: switchMs(s, "up") };
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    expect(blueDuringWatch, "the old color runs through the watch").toEqual({ backend: "running", frontend: "running" });
    expect(await color()).toBe("green");
    expect(await servedVersion(corner.ports.backend)).toBe("v7");
    expect(await statesOf(`${corner.composeProject}-blue`)).toEqual({ backend: "exited", frontend: "exited" });
    expect(load.requests, describeLoad(load)).toBeGreaterThan(20);
    expect({ errors: load.errors, serverErrors: load.serverErrors }, describeLoad(load)).toEqual({ errors: 0, serverErrors: 0 });
  });

  it("v2 fails its watch: the automatic rollback is a flip back to v7, still running in green (no container starts), under load with no failed request", async () => {
    const { result: s, load } = await underLoad(corner.ports.backend, () => release("v2"));
    expect(s.outcome, explain(s)).toBe("rolled-back");
    const phases = switchMs(s, "rollback");
    measured.autoRollback = { blueGreen: load, switch: phases, hostMs: hostSwitchTotal(phases) };
    expect(await color()).toBe("green");
    expect(await servedVersion(corner.ports.backend)).toBe("v7");
    // The flip found v7 running: no compose up, no wait (both phases took no time to speak of).
    expect(phases["compose up"], JSON.stringify(phases)).toBeLessThan(500);
    expect(phases["wait running/healthy"], JSON.stringify(phases)).toBeLessThan(500);
    expect(phases["proxy flip"], JSON.stringify(phases)).toBeGreaterThanOrEqual(0);
    // v2's color stopped once v7 was verified again.
    expect(await statesOf(`${corner.composeProject}-blue`)).toEqual({ backend: "exited", frontend: "exited" });
    const record = JSON.parse(await onHostAsync(`cat ${corner.appDir}/deployment.json`)) as { current: { id: string }; failed: { id: string } };
    expect([record.current.id, record.failed.id]).toEqual(["v7", "v2"]);
    // What status tells the operator: green serves, blue (v2) stopped.
    const { report } = await status({ stackName, deps: ds.deps, log: quiet });
    expect(report?.blueGreen).toEqual({ live: "green", colors: { green: { running: 2, total: 2 }, blue: { running: 0, total: 2 } } });
    expect({ errors: load.errors, serverErrors: load.serverErrors }, describeLoad(load)).toEqual({ errors: 0, serverErrors: 0 });
  });

  it("a manual rollback to v1 under load: blue starts again, the proxy flips, no failed request", async () => {
    const { result: s, load } = await underLoad(corner.ports.backend, () =>
      rollback({ stackName, deps: ds.deps, log: quiet, reason: "back to v1", confirm: "ROLLBACK", to: "v1" }),
    );
    measured.manualRollback = { blueGreen: load, switch: switchMs(s, "rollback") };
    expect(s.outcome, explain(s)).toBe("rollback-done");
    expect(await color()).toBe("blue");
    expect(await servedVersion(corner.ports.backend)).toBe("v1");
    expect(await statesOf(`${corner.composeProject}-green`)).toEqual({ backend: "exited", frontend: "exited" });
    expect({ errors: load.errors, serverErrors: load.serverErrors }, describeLoad(load)).toEqual({ errors: 0, serverErrors: 0 });
  });

  it("a break-glass restore of v7's backup set under load: green starts v7 again, the proxy flips, no failed request", async () => {
    const { result: s, load } = await underLoad(corner.ports.backend, () => restore({ stackName, deps: ds.deps, log: quiet, confirm: "RESTORE", release: "v7" }));
    measured.restore = { blueGreen: load };
    expect(s.outcome, explain(s)).toBe("restored");
    expect(await color()).toBe("green");
    expect(await servedVersion(corner.ports.backend)).toBe("v7");
    expect(await statesOf(`${corner.composeProject}-green`)).toEqual({ backend: "running", frontend: "running" });
    expect({ errors: load.errors, serverErrors: load.serverErrors }, describeLoad(load)).toEqual({ errors: 0, serverErrors: 0 });
  });
});

describe("the same deploy and rollback with recreate, for comparison", () => {
  const corner = testCorner("bgrecreate", { backend: 19570, frontend: 19571 });
  const stackName = `test-bgrecreate-${process.pid}`;
  let ds: DriverStack;
  let base: Omit<DeployRequest, "releaseId">;

  beforeAll(async () => {
    clear(corner);
    ds = await driverStack(stackName, quiet);
    base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
    await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
    const s = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
    expect(s.outcome, explain(s)).toBe("deployed-verified");
  });

  afterAll(async () => {
    clear(corner);
    await ds?.cleanup();
  });

  it("recreate: v7 deploys and v2 rolls back by a second switch; the failed requests are counted and reported", async () => {
    const d = await underLoad(corner.ports.backend, () => deploy({ ...base, releaseId: "v7", images: target.releases.v7 }));
    expect(d.result.outcome, explain(d.result)).toBe("deployed-verified");
    const r = await underLoad(corner.ports.backend, () => deploy({ ...base, releaseId: "v2", images: target.releases.v2 }));
    expect(r.result.outcome, explain(r.result)).toBe("rolled-back");
    const phases = switchMs(r.result, "rollback");
    Object.assign((measured.deploy ??= {}) as object, { recreate: d.load });
    Object.assign((measured.autoRollback ??= {}) as object, { recreate: r.load, recreateSwitch: phases, recreateHostMs: hostSwitchTotal(phases) });
    expect(await servedVersion(corner.ports.backend)).toBe("v7");
    // Requests were sent all along; what recreate loses is reported, not asserted (it depends on timing).
    expect(d.load.requests + r.load.requests).toBeGreaterThan(20);
    const dir = join(process.cwd(), ".reports", "blue-green");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "load.json"), JSON.stringify(measured, null, 2));
    quiet.info(`blue-green vs recreate under load: ${JSON.stringify(measured)}`);
  });
});
