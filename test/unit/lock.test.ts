// The driver's side of the host lock: which holders are runs of this machine that died, how
// takeHostLock breaks their lock (that acquisition only), and the lock stage's heartbeat
// (renewed every lease/6 while held, stopped before the release, losses said loudly), all
// against the fake host and vitest's fake timers.
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { deadLocalHolder, lockHolder, takeHostLock } from "../../automation/host/lock.js";
import type { RunDeps } from "../../automation/stages/deps.js";
import { takeLock, type LockOptions } from "../../automation/stages/lock.js";
import { newContext, runStages, stage, type RunContext } from "../../automation/stages/run.js";
import { FakeHost } from "../support/fake-host.js";

describe("deadLocalHolder", () => {
  it("is false for this very process and for live processes", () => {
    expect(deadLocalHolder(lockHolder())).toBe(false);
    expect(deadLocalHolder(`root@${hostname()} pid 1`)).toBe(false);
  });

  it("is true for a process of this machine that has exited", () => {
    const pid = spawnSync("true").pid!;
    expect(deadLocalHolder(`root@${hostname()} pid ${pid} github-run 7`)).toBe(true);
  });

  it("never judges holders of other machines or of unknown shape", () => {
    const pid = spawnSync("true").pid!;
    expect(deadLocalHolder(`root@another-runner pid ${pid}`)).toBe(false);
    expect(deadLocalHolder("alice deploying by hand")).toBe(false);
  });
});

function recorder() {
  const lines: { level: "info" | "warn"; line: string }[] = [];
  return {
    lines,
    warnings: () => lines.filter((l) => l.level === "warn").map((l) => l.line),
    log: { info: (line: string) => lines.push({ level: "info", line }), warn: (line: string) => lines.push({ level: "warn", line }) },
  };
}

describe("takeHostLock", () => {
  it("takes the lock with a fresh random nonce per acquisition, on the default lease of 180 s", async () => {
    const host = new FakeHost();
    const log = recorder().log;
    const a = await takeHostLock(host, { holder: "me", releaseId: "v1", stackName: "s", log });
    expect(a).toMatchObject({ acquired: true, leaseSeconds: 180, owner: { holder: "me", nonce: expect.stringMatching(/^[0-9a-f]{24}$/) } });
    await host.unlock(a.acquired ? a.owner : "force");
    const b = await takeHostLock(host, { holder: "me", releaseId: "v1", stackName: "s", log });
    expect(b.acquired && a.acquired && b.owner.nonce !== a.owner.nonce).toBe(true);
  });

  it("breaks the lock of a dead run of this machine through the host's atomic release of that very acquisition", async () => {
    const dead = `root@${hostname()} pid ${spawnSync("true").pid!}`;
    const host = new FakeHost().holdLock(dead, "v9", 30, 5, "deadbeef");
    const r = recorder();
    const out = await takeHostLock(host, { holder: "me", releaseId: "v1", stackName: "s", log: r.log });
    expect(out).toMatchObject({ acquired: true, notes: [expect.stringMatching(/^Broke the host lock of a run that died: root@\S+ pid \d+ \(release v9, taken 30 s ago, last heartbeat 5 s ago\)\.$/)] });
    expect(host.calls).toEqual(["tryLock", "unlock", "tryLock"]);
    expect(host.lock?.holder).toBe("me");
  });

  it("if someone took the lock between the look and the break, the break is refused and the new holder keeps it", async () => {
    const dead = `root@${hostname()} pid ${spawnSync("true").pid!}`;
    const host = new FakeHost().holdLock(dead, "v9", 30, 5, "deadbeef");
    host.onCall = (call) => call === "unlock" && host.holdLock("bob@elsewhere pid 7", "v10", 0, 0, "b0b");
    const out = await takeHostLock(host, { holder: "me", releaseId: "v1", stackName: "s", log: recorder().log });
    expect(out).toMatchObject({ acquired: false, message: expect.stringMatching(/holds the host lock: bob@elsewhere pid 7 \(release v10, taken 0 s ago, last heartbeat 0 s ago\)/) });
    expect(host.lock).toMatchObject({ holder: "bob@elsewhere pid 7", nonce: "b0b" });
  });
});

describe("the lock stage's heartbeat", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Runs the lock stage, then `work` while the lock is held; returns the summary. */
  async function holding(host: FakeHost, options: Partial<LockOptions>, work: () => Promise<void>, log = recorder().log) {
    const ctx = newContext<RunContext>("deploy", { stackName: "sandbox", deps: {} as RunDeps, log }, {});
    ctx.host = host;
    return runStages(ctx, [takeLock(() => ({ label: "v1", ...options })), stage("work", work)]);
  }
  const renewals = (host: FakeHost) => host.calls.filter((c) => c === "renewLock").length;

  it("renews every lease/6 while held, moving the heartbeat; stops before the release; no timer is left", async () => {
    const host = new FakeHost();
    let heartbeatAge: number | null | undefined;
    const s = await holding(host, { leaseSeconds: 60 }, async () => {
      await vi.advanceTimersByTimeAsync(9_999);
      expect(renewals(host)).toBe(0);
      await vi.advanceTimersByTimeAsync(25_001);
      expect(renewals(host)).toBe(3);
      // 5 s after the third renewal (at 30 s), 35 s after it was taken.
      heartbeatAge = (await host.lockInfo())?.heartbeatAgeSeconds;
      expect((await host.lockInfo())?.ageSeconds).toBe(35);
    });
    expect(s.outcome).toBe("ok");
    expect(heartbeatAge).toBe(5);
    expect(host.calls).toEqual(["tryLock", "renewLock", "renewLock", "renewLock", "lockInfo", "lockInfo", "appendAudit", "unlock"]);
    expect(host.lock).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(renewals(host)).toBe(3);
  });

  it("a monitor longer than the lease keeps the lock: a contender still finds it held", async () => {
    const host = new FakeHost();
    const s = await holding(host, { leaseSeconds: 3 }, async () => {
      for (let t = 0; t < 20; t++) {
        await vi.advanceTimersByTimeAsync(1_000);
        const other = await host.tryLock({ holder: "bob", nonce: "b0b", releaseId: "v2", leaseSeconds: 3 });
        expect(other.acquired).toBe(false);
      }
      expect(renewals(host)).toBe(40);
    });
    expect(s.outcome).toBe("ok");
    expect(host.lockHolders).toEqual([lockHolder()]);
  });

  it("the default lease (180 s) renews every 30 s", async () => {
    const host = new FakeHost();
    await holding(host, {}, async () => {
      await vi.advanceTimersByTimeAsync(29_999);
      expect(renewals(host)).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(renewals(host)).toBe(1);
    });
  });

  it("a failed renewal is a warning; the next one renews", async () => {
    const host = new FakeHost();
    const r = recorder();
    let fail = true;
    host.onCall = (call) => {
      if (call === "renewLock" && fail) {
        fail = false;
        throw new Error("connection reset");
      }
    };
    const s = await holding(
      host,
      { leaseSeconds: 60 },
      async () => {
        await vi.advanceTimersByTimeAsync(10_000);
        expect((await host.lockInfo())?.heartbeatAgeSeconds).toBe(10);
        await vi.advanceTimersByTimeAsync(10_000);
        expect((await host.lockInfo())?.heartbeatAgeSeconds).toBe(0);
      },
      r.log,
    );
    expect(s.outcome).toBe("ok");
    expect(r.warnings()).toEqual([
      "renewing the host lock failed (the next renewal tries again; it expires 60 s after the last one): connection reset",
    ]);
    expect(host.lock).toBeNull();
  });

  it("a lock taken by another holder is said loudly (log and report), renewing stops, and the other's lock stays", async () => {
    const host = new FakeHost();
    const r = recorder();
    const s = await holding(
      host,
      { leaseSeconds: 60 },
      async () => {
        await vi.advanceTimersByTimeAsync(10_000);
        host.holdLock("bob@elsewhere pid 7", "v9", 0, 0, "b0b");
        await vi.advanceTimersByTimeAsync(30_000);
      },
      r.log,
    );
    expect(renewals(host)).toBe(2);
    const lost = "THE HOST LOCK WAS TAKEN BY ANOTHER HOLDER while this run held it: bob@elsewhere pid 7 (release v9, taken 10 s ago, last heartbeat 10 s ago). Two deployments may now run at once on this host.";
    expect(r.warnings()[0]).toBe(`!!! ${lost}`);
    expect(s.messages).toContain(lost);
    // The release refuses to remove another holder's lock, and says so.
    expect(s.messages.join("\n")).toMatch(/While finishing: releasing the deploy lock failed .*\(exit 3\)/);
    expect(host.lock).toMatchObject({ holder: "bob@elsewhere pid 7", nonce: "b0b" });
  });

  it("a lock that is gone is said loudly too", async () => {
    const host = new FakeHost();
    const r = recorder();
    const s = await holding(
      host,
      { leaseSeconds: 6 },
      async () => {
        host.lock = null;
        await vi.advanceTimersByTimeAsync(3_000);
      },
      r.log,
    );
    expect(renewals(host)).toBe(1);
    expect(r.warnings()).toEqual([expect.stringMatching(/^!!! THE HOST LOCK IS GONE while this run held it/)]);
    expect(s.messages).toContainEqual(expect.stringMatching(/^THE HOST LOCK IS GONE/));
  });

  it("the release on a second signal (urgent work) stops the heartbeat too", async () => {
    const host = new FakeHost();
    const ctx = newContext<RunContext>("deploy", { stackName: "sandbox", deps: {} as RunDeps }, {});
    ctx.host = host;
    await runStages(ctx, [
      takeLock(() => ({ label: "v1", leaseSeconds: 60 })),
      stage("work", async () => {
        await vi.advanceTimersByTimeAsync(10_000);
        expect(await ctx.cancellation.runUrgent(1_000)).toEqual([]);
        expect(host.lock).toBeNull();
        await vi.advanceTimersByTimeAsync(60_000);
      }),
    ]);
    expect(renewals(host)).toBe(1);
  });
});
