// A fleet rolled out in batches (an in-memory engine and three fake hosts, each probed on its
// own): the canary first, watched alone; then the rest; a failed gate sends every host switched
// so far back and never reaches the others.
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { describe, expect, it } from "vitest";
import { deploy } from "../../automation/commands/deploy.js";
import { Cancellation } from "../../automation/common/cancel.js";
import type { Prober } from "../../automation/monitor/probers.js";
import { sandboxStackConfig } from "../../automation/sandbox/target.js";
import { rolloutBatches } from "../../automation/stages/rollout.js";
import { fakeClock } from "../support/fake-clock.js";
import { fakeDeps, FakeStack } from "../support/fake-engine.js";
import { FakeHost } from "../support/fake-host.js";
import { fakeSshKey, fakeTarget, imagesOf } from "../support/fake-target.js";

const hostKey = fakeTarget.ssh.hostPublicKey;
const target = fakeTarget;
const names = ["t1", "t2", "t3"] as const;

function fleetConfig(monitor: Record<string, unknown> = {}): ConfigMap {
  const config = sandboxStackConfig(target, "v1", {});
  config["awareness:monitor"] = { value: JSON.stringify({ ...JSON.parse(config["awareness:monitor"]!.value), ...monitor }) };
  config["awareness:hosts"] = {
    value: JSON.stringify(names.map((name, i) => ({ name, host: `10.0.0.${5 + i}`, port: 22, user: "deploy", hostKey, healthBaseUrl: `http://10.0.0.${5 + i}:18080` }))),
  };
  config["awareness:sshPrivateKey"] = fakeSshKey;
  config["awareness:rollout"] = { value: JSON.stringify({ startTimeoutSeconds: 30, stableChecks: 2, canary: 1, batchSize: 2 }) };
  return config;
}

/** Three hosts; each host's probes fail while it runs a broken release; the base URL each watch probed is kept. */
function fleet(monitor: Record<string, unknown> = {}) {
  const clock = fakeClock();
  const hosts = Object.fromEntries(names.map((n) => [n, new FakeHost({ now: () => clock.now(), address: `deploy@${n}:22` })]));
  const stack = new FakeStack("sandbox", fleetConfig(monitor), { hosts });
  const broken = new Set<string>();
  const probedUrls: string[] = [];
  const deps = fakeDeps({
    stack,
    host: hosts.t1!,
    clock,
    prober: (config, host): Prober => {
      probedUrls.push(config.health.baseUrl);
      return {
        async probe(round) {
          const ok = !broken.has(host.currentId ?? "none");
          return [{ round, endpoint: "/api/health", startedAt: clock.now(), ok, latencyMs: 5, ...(ok ? { status: 200 } : { status: 503, error: "HTTP 503" }) }];
        },
      };
    },
  });
  const run = (id: string) => deploy({ stackName: "sandbox", deps, cancellation: new Cancellation(), releaseId: id, images: imagesOf(id), skipCiCheck: true, allowDirty: true });
  const current = () => names.map((n) => hosts[n]!.currentId);
  const pinsOfUpdates = () => stack.updates.map((u) => u.config?.["awareness:hostReleases"]?.value ?? "-");
  return { hosts, stack, broken, probedUrls, run, current, pinsOfUpdates };
}

describe("rollout batches", () => {
  it("canary first, then batches of batchSize; without a canary or batch size, one batch", () => {
    expect(rolloutBatches(["a", "b", "c", "d", "e"], 1, 2)).toEqual([["a"], ["b", "c"], ["d", "e"]]);
    expect(rolloutBatches(["a", "b", "c"], 0)).toEqual([["a", "b", "c"]]);
    expect(rolloutBatches(["a", "b", "c"], 1)).toEqual([["a"], ["b", "c"]]);
    expect(rolloutBatches(["a", "b", "c", "d"], 0, 3)).toEqual([["a", "b", "c"], ["d"]]);
    expect(rolloutBatches(["a"], 1, 5)).toEqual([["a"]]);
  });
});

describe("a fleet of three hosts, canary 1 then batches of 2", () => {
  it("a first deploy goes to every host at once; the next release reaches the canary alone, watched at its own address, then the rest", async () => {
    const f = fleet();
    const first = await f.run("v1");
    expect(first.outcome, first.messages.join("\n")).toBe("deployed-verified");
    expect(f.current()).toEqual(["v1", "v1", "v1"]);
    f.probedUrls.length = 0;
    const s = await f.run("v2");
    expect(s.outcome, s.messages.join("\n")).toBe("deployed-verified");
    expect(f.current()).toEqual(["v2", "v2", "v2"]);
    // Batch 1's update pinned t2 and t3 to v1; the deploy's own up (batch 2) pinned nothing.
    const pins = f.pinsOfUpdates().slice(-2);
    expect(Object.keys(JSON.parse(pins[0]!) as object)).toEqual(["t2", "t3"]);
    expect(pins[1]).toBe("-");
    expect(s.rollout).toEqual([{ hosts: ["t1"], update: expect.any(Number), verdict: "passed" }]);
    // The canary's gate probed the canary at its own address.
    expect(f.probedUrls[0]).toBe("http://10.0.0.5:18080");
    expect(names.map((n) => f.hosts[n]!.record?.verified?.id)).toEqual(["v2", "v2", "v2"]);
  });

  it("after the batches the whole fleet is watched, each host at its own address", async () => {
    const f = fleet();
    expect((await f.run("v1")).outcome).toBe("deployed-verified");
    f.probedUrls.length = 0;
    const s = await f.run("v2");
    expect(s.outcome, s.messages.join("\n")).toBe("deployed-verified");
    // The canary's gate (t1), then the deploy's own watch of t1, t2 and t3.
    expect(f.probedUrls).toEqual(["http://10.0.0.5:18080", "http://10.0.0.5:18080", "http://10.0.0.6:18080", "http://10.0.0.7:18080"]);
  });

  it("a canary that fails its gate: it goes back to v1, the other hosts never ran v2, and the pins are gone from the config", async () => {
    const f = fleet();
    expect((await f.run("v1")).outcome).toBe("deployed-verified");
    f.broken.add("v2");
    const s = await f.run("v2");
    expect(s.outcome, s.messages.join("\n")).toBe("rolled-back");
    expect(s.rollout).toEqual([{ hosts: ["t1"], update: expect.any(Number), verdict: "failed", detail: expect.stringContaining("t1 /api/health") }]);
    expect(f.current()).toEqual(["v1", "v1", "v1"]);
    expect(f.hosts.t2!.record?.previous?.id ?? null).not.toBe("v2");
    // Only the host that ran v2 records it failed.
    expect(names.map((n) => f.hosts[n]!.record?.failed?.id ?? null)).toEqual(["v2", null, null]);
    expect(f.stack.config["awareness:hostReleases"]).toBeUndefined();
    expect(f.hosts.t1!.record?.failed?.id).toBe("v2");
  });
});

describe("a failed gate with monitor.onFailure pause", () => {
  it("abort (the timeout's default): the canary goes back, the others never ran it", async () => {
    const f = fleet({ onFailure: "pause", pauseTimeoutMinutes: 1 });
    expect((await f.run("v1")).outcome).toBe("deployed-verified");
    f.broken.add("v2");
    const s = await f.run("v2");
    expect(s.outcome, s.messages.join("\n")).toBe("rolled-back");
    expect(s.rollout?.[0]).toMatchObject({ hosts: ["t1"], verdict: "failed", decision: expect.stringMatching(/^the pause timeout decided abort/) });
    expect(s.pause?.reason).toMatch(/failed its health check on batch 1 \(t1\)/);
    expect(f.current()).toEqual(["v1", "v1", "v1"]);
    expect(f.hosts.t1!.record?.paused ?? null).toBeNull();
  });

  it("promote: the rollout goes on with the next batch (each gate and the last verdict decided on their own)", async () => {
    const f = fleet({ onFailure: "pause", pauseTimeoutMinutes: 1, onPauseTimeout: "promote" });
    expect((await f.run("v1")).outcome).toBe("deployed-verified");
    f.broken.add("v2");
    const s = await f.run("v2");
    expect(s.outcome, s.messages.join("\n")).toBe("promoted");
    expect(s.rollout?.[0]).toMatchObject({ hosts: ["t1"], verdict: "failed", decision: expect.stringMatching(/^the pause timeout decided promote/) });
    expect(f.current()).toEqual(["v2", "v2", "v2"]);
    expect(names.map((n) => f.hosts[n]!.record?.verified?.id)).toEqual(["v2", "v2", "v2"]);
    expect(f.hosts.t1!.record?.paused ?? null).toBeNull();
  });
});

describe("what a fleet's rollout needs, and what its report says", () => {
  it("batches with HTTP probes need each host's own address", async () => {
    const { parseStackConfig } = await import("../../components/config/parse.js");
    const raw = Object.fromEntries(Object.entries(fleetConfig()).map(([k, v]) => [k, v.value]));
    const hosts = JSON.parse(raw["awareness:hosts"]!) as Record<string, unknown>[];
    delete hosts[1]!.healthBaseUrl;
    expect(() => parseStackConfig({ ...raw, "awareness:hosts": JSON.stringify(hosts) })).toThrow(/hosts\[1\]\.healthBaseUrl: a rollout in batches watches each host at its own address/);
    expect(() => parseStackConfig({ ...raw, "awareness:hosts": JSON.stringify(hosts), "awareness:rollout": JSON.stringify({ canary: 0 }) })).not.toThrow();
  });

  it("the Markdown report has a row per batch before the deploy's own update, with its gate", async () => {
    const { renderMarkdown } = await import("../../automation/report/markdown.js");
    const f = fleet();
    await f.run("v1");
    f.broken.add("v2");
    const md = renderMarkdown(await f.run("v2"));
    expect(md).toContain("### Rollout");
    expect(md).toMatch(/\| 1 \| `t1` \| \d+ \| failed: .*t1 \/api\/health/);
  });
});

describe("a rollout stopped midway", () => {
  it("its pins, adopted from the last update, are dropped by the next deploy's preview: every host gets the new release", async () => {
    const f = fleet();
    expect((await f.run("v1")).outcome).toBe("deployed-verified");
    // What a run killed after its canary batch leaves: the live config pins t2 and t3.
    f.stack.config["awareness:hostReleases"] = { value: JSON.stringify({ t2: { id: "v1", images: imagesOf("v1"), env: {} }, t3: { id: "v1", images: imagesOf("v1"), env: {} } }) };
    f.stack.config["awareness:rollout"] = { value: JSON.stringify({ startTimeoutSeconds: 30, stableChecks: 2 }) };
    f.stack.recordUpdate("succeeded", "deploy v1: batch 1/2 (t1)");
    const s = await f.run("v2");
    expect(s.outcome, s.messages.join("\n")).toBe("deployed-verified");
    expect(f.current()).toEqual(["v2", "v2", "v2"]);
  });
});
