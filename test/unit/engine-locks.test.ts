// The engine's update locks, whatever the self-managed backend: where an s3:// URL points (read
// as the CLI reads it), which locks are stale (a dead process of this machine) and cleared.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clearStaleEngineLock, engineLocks, lockStoreFor, s3Location, type LockStore } from "../../automation/toolchain/engine-locks.js";

/** A pid that no longer runs: a child that has exited. */
const deadPid = spawnSync("true").pid!;
const lock = (pid: number, host = hostname()) => JSON.stringify({ pid, username: "root", hostname: host, timestamp: "2026-11-28T00:00:00Z" });

/** A store holding the given lock bodies under one prefix; remembers what it was asked for. */
function storeWith(bodies: string[]): LockStore & { asked: string[] } {
  const asked: string[] = [];
  return { asked, read: async (prefix) => (asked.push(prefix), bodies) };
}

describe("s3Location", () => {
  it("reads bucket, endpoint, region and path style as the CLI's s3blob URL does", () => {
    expect(s3Location("s3://state?endpoint=http://127.0.0.1:19790&use_path_style=true&region=us-east-1")).toEqual({
      bucket: "state",
      prefix: "",
      endpoint: "http://127.0.0.1:19790",
      region: "us-east-1",
      forcePathStyle: true,
    });
  });

  it("keeps a key prefix, the legacy path-style flag, and no endpoint for AWS itself", () => {
    expect(s3Location("s3://acme-state/teams/deploy/?region=eu-west-1&s3ForcePathStyle=true")).toEqual({
      bucket: "acme-state",
      prefix: "teams/deploy/",
      endpoint: undefined,
      region: "eu-west-1",
      forcePathStyle: true,
    });
    expect(s3Location("s3://acme-state").forcePathStyle).toBe(false);
  });
});

describe("lockStoreFor", () => {
  const dir = mkdtempSync(join(tmpdir(), "awareness-locks-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a file backend's lock files; S3 has a store; Pulumi Cloud and other blob stores have none", async () => {
    const locks = join(dir, ".pulumi", "locks", "organization", "awareness", "test-a");
    mkdirSync(locks, { recursive: true });
    writeFileSync(join(locks, "1.json"), lock(deadPid));
    writeFileSync(join(locks, "garbage.json"), "{ not json");
    writeFileSync(join(locks, "notes.txt"), lock(1));
    expect(await engineLocks({ backendUrl: `file://${dir}`, stackName: "test-a" })).toEqual([JSON.parse(lock(deadPid))]);
    expect(await engineLocks({ backendUrl: `file://${dir}`, stackName: "test-other" })).toEqual([]);
    expect(lockStoreFor("s3://state?region=us-east-1")).toBeDefined();
    expect(lockStoreFor("https://api.pulumi.com")).toBeUndefined();
    expect(lockStoreFor("gs://state")).toBeUndefined();
  });
});

describe("clearStaleEngineLock", () => {
  const target = (cancelled: string[]) => ({
    backendUrl: "s3://state",
    stackName: "production",
    cancel: async () => void cancelled.push("cancel"),
  });

  it("cancels the update lock of a dead process of this machine, and says whose it was", async () => {
    const cancelled: string[] = [];
    const store = storeWith([lock(deadPid)]);
    const said = await clearStaleEngineLock(target(cancelled), store);
    expect(cancelled).toEqual(["cancel"]);
    expect(said).toBe(`cleared a stale engine lock of stack production left by pid ${deadPid} (root@${hostname()}, 2026-11-28T00:00:00Z), which no longer runs`);
    expect(store.asked).toEqual([".pulumi/locks/organization/awareness/production/"]);
  });

  it("leaves a live process's lock, another machine's lock, and an unreadable store alone", async () => {
    for (const store of [storeWith([lock(process.pid)]), storeWith([lock(deadPid, "runner-7")]), { read: () => Promise.reject(new Error("403")) }]) {
      const cancelled: string[] = [];
      expect(await clearStaleEngineLock(target(cancelled), store)).toBeUndefined();
      expect(cancelled).toEqual([]);
    }
  });
});
