// The driver's side of the host lock: which holders are runs of this machine that died, and
// how takeHostLock breaks their lock (that acquisition only), against the fake host.
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { deadLocalHolder, lockHolder, takeHostLock } from "../../automation/host/lock.js";
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
  it("takes the lock with a fresh random nonce per acquisition, on the default lease (an hour until something renews it)", async () => {
    const host = new FakeHost();
    const log = recorder().log;
    const a = await takeHostLock(host, { holder: "me", releaseId: "v1", stackName: "s", log });
    expect(a).toMatchObject({ acquired: true, leaseSeconds: 3600, owner: { holder: "me", nonce: expect.stringMatching(/^[0-9a-f]{24}$/) } });
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
