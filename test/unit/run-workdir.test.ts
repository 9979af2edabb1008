// Where a run's stack config lives: a private copy of the project's files (never the files
// themselves), removed when the run ends; the live release taken from the backend's newest
// successful update; a first deploy with nothing to carry over refused before anything runs.
import { createHash } from "node:crypto";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deploy } from "../../automation/commands/deploy.js";
import { nextRelease } from "../../automation/stages/open.js";
import { status } from "../../automation/commands/status.js";
import { sandboxStackConfig } from "../../automation/sandbox/target.js";
import { adoptLiveRelease, liveReleaseUpdate, reconcileKey, releaseKey, restoreRefreshPrefix } from "../../automation/stages/releases.js";
import { createRunWorkDir } from "../../automation/toolchain/run-workdir.js";
import { fakeDeps, FakeStack } from "../support/fake-engine.js";
import { FakeHost } from "../support/fake-host.js";
import { fakeSshKey, fakeTarget, imagesOf } from "../support/fake-target.js";

const hashOf = (dir: string) =>
  Object.fromEntries(
    ["Pulumi.yaml", "Pulumi.sandbox.yaml"].map((f) => [f, createHash("sha256").update(readFileSync(join(dir, f))).digest("hex")]),
  );

describe("the run's private work dir", () => {
  let project: string;
  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), "awareness-project-"));
    writeFileSync(join(project, "Pulumi.yaml"), "name: awareness\nruntime: nodejs\n");
    writeFileSync(join(project, "Pulumi.sandbox.yaml"), "encryptionsalt: v1:abc\nconfig:\n  awareness:appDir: /opt/a\n");
    writeFileSync(join(project, "Pulumi.production.yaml"), "config: {}\n");
    mkdirSync(join(project, "node_modules"));
  });
  afterEach(() => rmSync(project, { recursive: true, force: true }));

  it("is a fresh 0700 folder with copies of Pulumi.yaml and the stack's file only; writes stay in it", async () => {
    const before = hashOf(project);
    const run = await createRunWorkDir(project, "sandbox");
    try {
      expect(run.dir.startsWith(project)).toBe(false);
      expect(statSync(run.dir).mode & 0o777).toBe(0o700);
      expect((await readdir(run.dir)).sort()).toEqual(["Pulumi.sandbox.yaml", "Pulumi.yaml"]);
      expect(readFileSync(join(run.dir, "Pulumi.sandbox.yaml"), "utf8")).toContain("encryptionsalt: v1:abc");
      await writeFile(join(run.dir, "Pulumi.sandbox.yaml"), "config:\n  awareness:release: changed\n");
      expect(hashOf(project)).toEqual(before);
    } finally {
      await run.dispose();
    }
    expect(existsSync(run.dir)).toBe(false);
  });

  it("two runs get two folders; a project without the stack's file gives a folder without it", async () => {
    const [a, b] = await Promise.all([createRunWorkDir(project, "sandbox"), createRunWorkDir(project, "staging")]);
    expect(a.dir).not.toBe(b.dir);
    expect(await readdir(b.dir)).toEqual(["Pulumi.yaml"]);
    await Promise.all([a.dispose(), b.dispose(), b.dispose()]);
    expect([existsSync(a.dir), existsSync(b.dir)]).toEqual([false, false]);
  });

  it("a project dir that cannot be read leaves no folder behind", async () => {
    const made = new Set(await readdir(tmpdir()));
    rmSync(join(project, "Pulumi.sandbox.yaml"));
    mkdirSync(join(project, "Pulumi.sandbox.yaml")); // a folder where the file should be: the copy fails
    await expect(createRunWorkDir(project, "sandbox")).rejects.toThrow();
    expect((await readdir(tmpdir())).filter((f) => f.startsWith("awareness-run-") && !made.has(f))).toEqual([]);
  });
});

const config = (): ConfigMap => ({ ...sandboxStackConfig(fakeTarget, "v1"), "awareness:sshPrivateKey": fakeSshKey });
const releaseOfConfig = (id: string) => ({ value: JSON.stringify({ id, images: imagesOf(id), env: {} }) });

describe("the live release comes from the backend", () => {
  it("is the release data of the newest succeeded update; failed ones are skipped", async () => {
    const stack = new FakeStack("sandbox", config());
    stack.config[releaseKey] = releaseOfConfig("v1");
    stack.recordUpdate("succeeded", "v1");
    stack.config[releaseKey] = releaseOfConfig("v2");
    stack.config[reconcileKey] = { value: JSON.stringify({ sandbox: "0123456789abcdef" }) };
    stack.recordUpdate("succeeded", "v2");
    delete stack.config[reconcileKey];
    stack.config[releaseKey] = releaseOfConfig("v3");
    stack.recordUpdate("failed", "v3");
    // The run's copy of the stack file says something else (an old commit of it).
    stack.config[releaseKey] = releaseOfConfig("v1");

    expect(liveReleaseUpdate([...stack.updates].reverse())?.message).toBe("v2");
    const adopted = await adoptLiveRelease(stack.door());
    expect(adopted?.message).toBe("v2");
    expect(stack.releaseInConfig()?.id).toBe("v2");
    // The switch's reconcile token of that update comes along: dropping it would re-run the switch.
    expect(stack.config[reconcileKey]?.value).toBe(JSON.stringify({ sandbox: "0123456789abcdef" }));
    expect(stack.config["awareness:appDir"]).toEqual(config()["awareness:appDir"]);
  });

  it("a restore's refresh records the release it put back; other refreshes do not", async () => {
    const at = (kind: string, result: string, message: string, id: string) =>
      ({ kind, result, message, config: { [releaseKey]: releaseOfConfig(id) } }) as never;
    const history = [
      at("refresh", "succeeded", "clear operations interrupted by a cancelled run", "v3"),
      at("refresh", "succeeded", `${restoreRefreshPrefix}v2 from backup set 20261128T004607Z-v2`, "v2"),
      at("update", "succeeded", "v1", "v1"),
    ];
    expect(liveReleaseUpdate(history)?.message).toMatch(/^refresh after restoring v2/);
    expect(liveReleaseUpdate(history.slice(2))?.message).toBe("v1");
  });

  it("a stack never updated keeps what its file has (a first deploy); nothing is written", async () => {
    const stack = new FakeStack("sandbox", config());
    expect(liveReleaseUpdate([])).toBeUndefined();
    expect(await adoptLiveRelease(stack.door())).toBeUndefined();
    expect(stack.releaseInConfig()?.id).toBe("v1");
    expect(stack.calls).toEqual(["history"]);
  });

  it("a live release without a key the file has removes it from the copy", async () => {
    const stack = new FakeStack("sandbox", config());
    delete stack.config[releaseKey];
    stack.recordUpdate("succeeded", "before releases were config");
    stack.config[releaseKey] = releaseOfConfig("v3");
    await adoptLiveRelease(stack.door());
    expect(stack.config[releaseKey]).toBeUndefined();
  });

  it("a first deploy with no release anywhere must name every service's image: a usage error before the host", async () => {
    const first = config();
    delete first[releaseKey];
    const host = new FakeHost();
    const stack = new FakeStack("sandbox", first, { host });
    const deps = fakeDeps({ stack, host, prober: () => ({ probe: async () => [] }) });
    const s = await deploy({ stackName: "sandbox", deps, releaseId: "v1", images: { backend: imagesOf("v1").backend }, skipCiCheck: true, allowDirty: true });
    expect(s.outcome).toBe("usage");
    expect(s.messages.join(" ")).toMatch(/no live release in its backend.*--image frontend=<ref>/);
    expect(s.messages.join(" ")).not.toMatch(/--image backend=/);
    expect(host.calls).toEqual([]);
    expect(stack.ops()).toEqual([]);
  });
});

describe("the run's engine is disposed of on the way out", () => {
  const withDispose = (stack: FakeStack, host: FakeHost) => {
    const disposed: string[] = [];
    const deps = fakeDeps({ stack, host, prober: () => ({ probe: async () => [] }) });
    const open = deps.openEngine;
    deps.openEngine = async (args) => Object.assign(await open(args), { dispose: async () => void disposed.push(stack.calls.at(-1) ?? "") });
    return { deps, disposed };
  };

  it("once, after the run's last engine call, when the run ends well and when it fails", async () => {
    const host = new FakeHost();
    const stack = new FakeStack("sandbox", config(), { host });
    const ok = withDispose(stack, host);
    expect((await status({ stackName: "sandbox", deps: ok.deps })).summary.outcome).toBe("ok");
    expect(ok.disposed).toEqual([stack.calls.at(-1)]);

    stack.failNext("tags", new Error("backend gone"));
    const failing = withDispose(stack, host);
    expect((await status({ stackName: "sandbox", deps: failing.deps })).summary.outcome).toBe("error");
    expect(failing.disposed).toHaveLength(1);
  });
});

describe("the next release from the live one", () => {
  const live = { id: "v1", images: { backend: "r/backend:v1", frontend: "r/frontend:v1" }, env: { A: "1" } };

  it("carries over the live images the request does not name", () => {
    expect(nextRelease(live, { releaseId: "v2", images: { backend: "r/backend:v2" } }, ["backend", "frontend"]).images).toEqual({
      backend: "r/backend:v2",
      frontend: "r/frontend:v1",
    });
  });

  it("drops the image of a service the config no longer declares (that is how a service leaves)", () => {
    expect(nextRelease(live, { releaseId: "v2" }, ["backend"]).images).toEqual({ backend: "r/backend:v1" });
  });

  it("keeps a requested image for an undeclared service, so validation names it", () => {
    expect(nextRelease(live, { releaseId: "v2", images: { worker: "r/worker:v2" } }, ["backend"]).images).toEqual({
      backend: "r/backend:v1",
      worker: "r/worker:v2",
    });
  });
});
