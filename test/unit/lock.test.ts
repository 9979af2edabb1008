// Which host-lock holders are runs of this machine that died.
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { deadLocalHolder, lockHolder } from "../../automation/host/lock.js";

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
