// Per-host truth on a stack with two hosts (an in-memory engine and two fake hosts): prechecks
// ask every host, reconcile compares each host with what was applied to *it*, a failed update
// is judged on every host, verified and failed records go to every host, and status shows each.
import { createHash } from "node:crypto";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { describe, expect, it } from "vitest";
import { deploy } from "../../automation/commands/deploy.js";
import { status } from "../../automation/commands/status.js";
import { Cancellation } from "../../automation/common/cancel.js";
import type { Prober } from "../../automation/monitor/probers.js";
import { renderStatus } from "../../automation/report/status-text.js";
import { sandboxStackConfig, type SandboxTarget } from "../../automation/sandbox/target.js";
import { reconcileKey } from "../../automation/stages/reconcile.js";
import { fakeClock } from "../support/fake-clock.js";
import { fakeDeps, FakeStack } from "../support/fake-engine.js";
import { FakeHost } from "../support/fake-host.js";

const hex = (s: string) => createHash("sha256").update(s).digest("hex");
const imagesOf = (id: string) => ({
  backend: `registry.test:5000/awareness-backend@sha256:${hex(`backend ${id}`)}`,
  frontend: `registry.test:5000/awareness-frontend@sha256:${hex(`frontend ${id}`)}`,
});
const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHFakeHostKeyForUnitTestsOnly0123456789abc";
const target: SandboxTarget = {
  ssh: { host: "10.0.0.5", port: 22, user: "deploy", privateKeyPath: "/dev/null", hostPublicKey: `${hostKey} t1`, knownHostsPath: "/dev/null" },
  registry: "registry.test:5000",
  appDir: "/opt/awareness",
  composeCommands: ["docker compose"],
  app: { baseUrl: "http://127.0.0.1:18080", ports: { backend: 18080, frontend: 18081 } },
  releases: { v1: imagesOf("v1"), v2: imagesOf("v2"), v3: imagesOf("v3") },
  tags: {},
};

function twoHostConfig(): ConfigMap {
  const config = sandboxStackConfig(target, "v1", {});
  config["awareness:hosts"] = {
    value: JSON.stringify([
      { name: "t1", host: "10.0.0.5", port: 22, user: "deploy", hostKey },
      { name: "t2", host: "10.0.0.6", port: 22, user: "deploy", hostKey },
    ]),
  };
  config["awareness:sshPrivateKey"] = { value: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n", secret: true };
  return config;
}

/** Two hosts; the probes (on the primary, as the driver does) fail while it runs a broken release. */
function fleet() {
  const clock = fakeClock();
  const t1 = new FakeHost({ now: () => clock.now(), address: "deploy@t1:22" });
  const t2 = new FakeHost({ now: () => clock.now(), address: "deploy@t2:22" });
  const stack = new FakeStack("sandbox", twoHostConfig(), { hosts: { t1, t2 } });
  const broken = new Set<string>();
  const prober: Prober = {
    async probe(round) {
      const ok = !broken.has(t1.currentId ?? "none");
      return ["/api/health"].map((endpoint) => ({ round, endpoint, startedAt: clock.now(), ok, latencyMs: 5, ...(ok ? { status: 200 } : { status: 503, error: "HTTP 503" }) }));
    },
  };
  const deps = fakeDeps({ stack, host: t1, clock, prober: () => prober });
  const run = (id: string) =>
    deploy({ stackName: "sandbox", deps, cancellation: new Cancellation(), releaseId: id, images: imagesOf(id), skipCiCheck: true, allowDirty: true });
  return { t1, t2, stack, broken, deps, run };
}

const currentOn = (h: FakeHost) => h.record?.current?.id;

describe("a stack with two hosts", () => {
  it("deploys to both and records the verified release on both hosts", async () => {
    const f = fleet();
    const s = await f.run("v1");
    expect(s.outcome, s.messages.join("\n")).toBe("deployed-verified");
    expect([currentOn(f.t1), currentOn(f.t2)]).toEqual(["v1", "v1"]);
    expect([f.t1.record?.verified?.id, f.t2.record?.verified?.id]).toEqual(["v1", "v1"]);
    // Each host was asked for its own facts by the prechecks, labelled by name.
    expect(f.t2.calls).toContain("facts");
    expect(s.prechecks?.map((p) => p.name)).toEqual(expect.arrayContaining(["host t1: ssh reachable", "host t2: ssh reachable", "host t2: disk and memory"]));
  });

  it("every host's prechecks run at once (a fleet's prechecks take one host's time)", async () => {
    const f = fleet();
    let t2Asked!: () => void;
    const t2Started = new Promise<void>((resolve) => (t2Asked = resolve));
    const t2Facts = f.t2.facts.bind(f.t2);
    f.t2.facts = () => (t2Asked(), t2Facts());
    // t1's facts answer only once t2 was asked too (or after 2 s, which would show one after the other).
    const t1Facts = f.t1.facts.bind(f.t1);
    let sawT2 = false;
    f.t1.facts = async () => {
      sawT2 = await Promise.race([t2Started.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
      return t1Facts();
    };
    const s = await f.run("v1");
    expect(s.outcome, s.messages.join("\n")).toBe("deployed-verified");
    expect(sawT2).toBe(true);
    // Reported in the hosts' order all the same.
    expect(s.prechecks?.map((p) => p.name).filter((n) => n.endsWith("ssh reachable"))).toEqual(["host t1: ssh reachable", "host t2: ssh reachable"]);
  });

  it("a second host below the disk floor blocks the deploy; nothing is switched anywhere", async () => {
    const f = fleet();
    await f.run("v1");
    f.t2.factsReport = { ...f.t2.factsReport, diskFreeMb: 12 };
    const updates = f.stack.updates.length;
    const s = await f.run("v2");
    expect(s.outcome).toBe("blocked");
    expect(s.prechecks?.find((p) => p.name === "host t2: disk and memory")).toMatchObject({ ok: false, detail: expect.stringMatching(/12 MB/) });
    expect(s.prechecks?.find((p) => p.name === "host t1: disk and memory")?.ok).toBe(true);
    expect(f.stack.updates.length).toBe(updates);
    expect([currentOn(f.t1), currentOn(f.t2)]).toEqual(["v1", "v1"]);
  });

  it("reconcile sees the one host that drifted and forces only its switch", async () => {
    const f = fleet();
    await f.run("v1");
    f.t2.composeOnDisk = hex("someone edited the compose file on t2");
    const s = await f.run("v2");
    expect(s.outcome, s.messages.join("\n")).toBe("deployed-verified");
    expect(s.messages.join(" ")).toMatch(/The hosts differ from the state: host t2: it should run v1, the compose file on the host is [0-9a-f]{12}/);
    const tokens = JSON.parse(f.stack.config[reconcileKey]!.value) as Record<string, string>;
    expect(Object.keys(tokens)).toEqual(["t2"]);
    expect([currentOn(f.t1), currentOn(f.t2)]).toEqual(["v2", "v2"]);
  });

  it("an update that switched one host and failed on the other is not 'the previous release still runs': it rolls both back", async () => {
    const f = fleet();
    await f.run("v1");
    f.stack.onUp({ kind: "fail", switched: ["t1"], error: new Error("t2: the containers did not start within 30 s") });
    const s = await f.run("v2");
    expect(s.outcome, s.messages.join("\n")).toBe("rolled-back");
    expect(s.rollback?.reason).toMatch(/The host no longer runs the previous release: host t1: deployment.json names v2, not v1/);
    // The state still says t1 runs v1: only reconcile makes the rollback really switch it back.
    expect(s.messages.join(" ")).toMatch(/The hosts differ from the state: host t1: it should run v1, deployment.json names v2/);
    expect([currentOn(f.t1), currentOn(f.t2)]).toEqual(["v1", "v1"]);
    // The failed release is recorded on both hosts (a restore on either must refuse it).
    expect([f.t1.record?.failed?.id, f.t2.record?.failed?.id]).toEqual(["v2", "v2"]);
  });

  it("an update that failed before any host switched is up-failed, checked on every host", async () => {
    const f = fleet();
    await f.run("v1");
    f.stack.onUp({ kind: "fail" });
    const s = await f.run("v2");
    expect(s.outcome, s.messages.join("\n")).toBe("up-failed");
    expect(s.messages.join(" ")).toMatch(/The previous release v1 still runs \(checked on every host\)/);
    expect(f.t2.calls).toContain("observe");
  });

  it("a release that fails its watch is rolled back on both hosts", async () => {
    const f = fleet();
    await f.run("v1");
    f.broken.add("v3");
    const s = await f.run("v3");
    expect(s.outcome, s.messages.join("\n")).toBe("rolled-back");
    expect([currentOn(f.t1), currentOn(f.t2)]).toEqual(["v1", "v1"]);
    expect([f.t1.record?.verified?.id, f.t2.record?.verified?.id]).toEqual(["v1", "v1"]);
  });

  it("status shows every host's own record, and an unreachable host as such", async () => {
    const f = fleet();
    await f.run("v1");
    f.t2.unreachable = true;
    const r = await status({ stackName: "sandbox", deps: f.deps });
    expect(r.report?.otherHosts).toEqual([{ name: "t2", error: expect.stringMatching(/ECONNREFUSED/) }]);
    f.t2.unreachable = false;
    const ok = await status({ stackName: "sandbox", deps: f.deps });
    expect(renderStatus(ok.report!)).toMatch(/host t2: +current v1, verified v1, failed none/);
  });
});
