// A fleet of four cheap hosts (test/support/cheap-hosts.ts: the sandbox's sshd, each host with
// its own app dir, compose project and port) rolled out canary first, then in batches of two.
// Each host's deployment.json is the truth: which release it runs, which it verified, and when
// it switched (its own clock) shows the batches' order. A release that fails in the second
// batch goes back on every host switched so far; the last batch never runs it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { status } from "../../automation/commands/status.js";
import { unlock } from "../../automation/commands/unlock.js";
import type { RunSummary } from "../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { cheapFleetOverrides, cheapHosts, clearCheapHosts } from "../support/cheap-hosts.js";
import { releaseArgs, runDriverCli } from "../support/cli-run.js";
import { driverStack, type DriverStack, e2eLog } from "../support/driver.js";
import { onHost, target } from "./components-support.js";

const hosts = cheapHosts(target, "scale", 4, 19610);
const stackName = `test-fleet-scale-${process.pid}`;
const quiet = e2eLog("e2e-fleet-scale");
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;
const explain = (s: RunSummary) => JSON.stringify({ outcome: s.outcome, messages: s.messages, rollout: s.rollout }, null, 1);

type Ref = { id: string; deployedAt?: string } | null;
type HostRecord = { current: Ref; previous: Ref; verified: Ref; failed: Ref };
const records = () => hosts.map((h) => JSON.parse(onHost(`cat ${h.appDir}/deployment.json`)) as HostRecord);
const envOf = (i: number) => onHost(`cat ${hosts[i]!.appDir}/.env`);
const answers = async (port: number, path: string) => {
  try {
    return (await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
};

/** The stack's config for `release`; `hostEnv` puts extra env on some hosts (by index). */
async function configure(release: string, releaseEnv: Record<string, string>, hostEnv: Record<number, Record<string, string>> = {}): Promise<void> {
  const overrides = cheapFleetOverrides(target, hosts, { id: release, env: releaseEnv }, { canary: 1, batchSize: 2 });
  const list = overrides["awareness:hosts"] as { env: Record<string, string> }[];
  for (const [i, env] of Object.entries(hostEnv)) list[Number(i)]!.env = { ...list[Number(i)]!.env, ...env };
  await applySandboxStackConfig(await ds.engine(), target, "v1", { overrides });
}
const backend = { backend: target.releases.v1!.backend! };

beforeAll(async () => {
  clearCheapHosts(target, hosts);
  ds = await driverStack(stackName, quiet);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  await configure("v1", { APP_ENV: "sandbox" });
});

afterAll(async () => {
  clearCheapHosts(target, hosts);
  await ds?.cleanup();
});

describe("four hosts on one server: canary, then batches of two", () => {
  it("a first deploy reaches all four at once; each runs its own project on its own port", async () => {
    const s = await deploy({ ...base, releaseId: "v1", images: backend });
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    expect(records().map((r) => r.verified?.id)).toEqual(["v1", "v1", "v1", "v1"]);
    for (const [i, h] of hosts.entries()) {
      expect(onHost(`docker ps -q --filter label=com.docker.compose.project=${h.composeProject} | wc -l`).trim()).toBe("1");
      expect(envOf(i)).toContain(`PORT='${h.port}'`);
      expect(await answers(h.port, "/api/health")).toBe(200);
    }
  });

  it("the next release goes host 1, then hosts 2-3, then host 4 (their own clocks say so); status names each host's release", async () => {
    const s = await deploy({ ...base, releaseId: "v1b", images: backend, env: { APP_ENV: "sandbox-b" } });
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    expect(s.rollout?.map((b) => [b.hosts, b.verdict])).toEqual([
      [["scale-1"], "passed"],
      [["scale-2", "scale-3"], "passed"],
    ]);
    const rs = records();
    expect(rs.map((r) => [r.current?.id, r.verified?.id])).toEqual(Array(4).fill(["v1b", "v1b"]));
    const at = rs.map((r) => Date.parse(r.current!.deployedAt!));
    expect(at[0]).toBeLessThan(Math.min(at[1]!, at[2]!));
    expect(Math.max(at[1]!, at[2]!)).toBeLessThan(at[3]!);
    for (const i of [0, 1, 2, 3]) expect(envOf(i)).toContain("APP_ENV='sandbox-b'");

    const report = (await status({ stackName, deps: ds.deps, log: quiet })).report!;
    expect(report.host?.current?.id).toBe("v1b");
    expect(report.otherHosts?.map((o) => [o.name, o.record?.current?.id ?? o.error])).toEqual([
      ["scale-2", "v1b"],
      ["scale-3", "v1b"],
      ["scale-4", "v1b"],
    ]);
  });

  it("a switch that fails on host 2 in batch 2: hosts 1 and 3, already switched, go back; host 4 never runs the release", async () => {
    // Host 2's backups folder is a file: its switch fails at its backup, before any container
    // changes (only a switch writes there, so the canary batch, which leaves host 2 alone, passes).
    const backups = `${hosts[1]!.appDir}/backups`;
    onHost(`rm -rf ${backups} && touch ${backups}`);
    try {
      const s = await deploy({ ...base, releaseId: "v1c", images: backend, env: { APP_ENV: "sandbox-c" } });
      expect(s.outcome, explain(s)).toBe("rolled-back");
      expect(s.rollout?.map((b) => [b.hosts, b.verdict])).toEqual([
        [["scale-1"], "passed"],
        [["scale-2", "scale-3"], "up-failed"],
      ]);
      expect(s.rollout?.[1]?.detail).toMatch(/backups/);
      const rs = records();
      expect(rs.map((r) => r.current?.id)).toEqual(["v1b", "v1b", "v1b", "v1b"]);
      // Hosts 1 and 3 ran v1c and went back; host 4 was never switched (its previous is still v1).
      expect([rs[0]!.failed?.id, rs[2]!.failed?.id]).toEqual(["v1c", "v1c"]);
      expect(rs[2]!.previous?.id).toBe("v1c");
      expect([rs[3]!.previous?.id, rs[3]!.failed?.id ?? null]).toEqual(["v1", null]);
      for (const i of [0, 1, 2, 3]) expect(envOf(i)).toContain("APP_ENV='sandbox-b'");
      for (const h of hosts) expect(await answers(h.port, "/api/health")).toBe(200);
    } finally {
      onHost(`rm -f ${backups}`);
    }
  });

  it("a deploy killed between batches (SIGKILL to the driver and its engine, as a lost runner): host 1 runs it unverified, the rest never did; unlock, and the next deploy takes every host there", async () => {
    const killed = await runDriverCli({ ds, stackName }, releaseArgs("v1d", backend, "sandbox-d"), (e) => /rollout batch 2\/3/.test(e), ["SIGKILL"]);
    expect(killed.signal, killed.stderr.slice(-2000)).toBe("SIGKILL");
    const rs = records();
    expect(rs.map((r) => r.current?.id)).toEqual(["v1d", "v1b", "v1b", "v1b"]);
    expect(rs.map((r) => r.verified?.id)).toEqual(["v1b", "v1b", "v1b", "v1b"]);
    // The lost run's host lock (on the first host) blocks the next run until it is cleared.
    expect(onHost(`test -d ${hosts[0]!.appDir}/.deploy-lock && echo held || echo free`).trim()).toBe("held");
    // engine: true as unlock.yml does (a lost run may hold the engine's update lock too).
    const cleared = await unlock({ stackName, deps: ds.deps, log: quiet, engine: true });
    expect(cleared.outcome, explain(cleared)).toBe("ok");
    expect(cleared.messages.join(" ")).toMatch(/Released the lock held by/);
    const s = await deploy({ ...base, releaseId: "v1d", images: backend, env: { APP_ENV: "sandbox-d" } });
    expect(s.outcome, explain(s)).toBe("deployed-verified");
    expect(records().map((r) => [r.current?.id, r.verified?.id])).toEqual(Array(4).fill(["v1d", "v1d"]));
    for (const i of [0, 1, 2, 3]) expect(envOf(i)).toContain("APP_ENV='sandbox-d'");
  });
});
