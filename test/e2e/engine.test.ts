// The foundation, end to end: the real engine runs an inline program through the driver's
// runner, with a real command.local.Command served by the command plugin (the official
// one when installed, else the test-only one). We look at what really ran on disk.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempStack, type TempStack } from "../support/engine.js";

// The marker folder is passed through config so every command writes where the test looks.
function program() {
  return async () => {
    const config = new pulumi.Config();
    const greeting = config.require("greeting");
    const markers = config.require("markers");
    const cmd = new command.local.Command("greeter", {
      create: `echo "create $GREETING out=[\${PULUMI_COMMAND_STDOUT:-}]" >> log; echo "hello $GREETING"`,
      delete: `echo "delete out=[\${PULUMI_COMMAND_STDOUT:-}]" >> log`,
      environment: { GREETING: greeting },
      dir: markers,
    });
    return { greeting: cmd.stdout, stderr: cmd.stderr };
  };
}

function opsOf(events: EngineEvent[], type: string): OpType[] {
  return events
    .filter((e) => e.resourcePreEvent?.metadata.type === type)
    .map((e) => e.resourcePreEvent!.metadata.op);
}

describe("the real engine through the runner (inline program, file backend)", () => {
  let handle: TempStack;
  let log: string;

  beforeAll(async () => {
    handle = await tempStack(program());
    const markers = join(handle.dir, "work");
    log = join(markers, "log");
    await handle.stack.setConfig("greeting", { value: "v1" });
    await handle.stack.setConfig("markers", { value: markers });
  });
  afterAll(async () => {
    await handle?.cleanup();
  });

  it("previews a create without running anything", async () => {
    const events: EngineEvent[] = [];
    const preview = await handle.stack.preview({ onEvent: (e) => events.push(e) });
    expect(preview.changeSummary.create).toBe(2); // the stack and the command
    expect(opsOf(events, "command:local:Command")).toEqual(["create"]);
    expect(existsSync(log)).toBe(false);
  });

  it("up runs create and returns its trimmed stdout as an output", async () => {
    const up = await handle.stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.greeting).toEqual({ value: "hello v1", secret: false });
    expect(readFileSync(log, "utf8")).toBe("create v1 out=[]\n");
  });

  it("an input change is an in-place update that re-runs create with the previous stdout", async () => {
    await handle.stack.setConfig("greeting", { value: "v2" });
    const previewEvents: EngineEvent[] = [];
    await handle.stack.preview({ onEvent: (e) => previewEvents.push(e) });
    expect(opsOf(previewEvents, "command:local:Command")).toEqual(["update"]);

    const upEvents: EngineEvent[] = [];
    const up = await handle.stack.up({ onEvent: (e) => upEvents.push(e) });
    expect(opsOf(upEvents, "command:local:Command")).toEqual(["update"]);
    expect(up.outputs.greeting?.value).toBe("hello v2");
    expect(readFileSync(log, "utf8")).toBe("create v1 out=[]\ncreate v2 out=[hello v1]\n");
  });

  it("history holds each update with the config that made it", async () => {
    const history = await handle.stack.history();
    const updates = history.filter((h) => h.kind === "update");
    expect(updates).toHaveLength(2);
    expect(updates.map((u) => u.result)).toEqual(["succeeded", "succeeded"]);
    // Newest first: the config of each update is what rollback will re-apply later.
    expect(updates[0]!.config["awareness:greeting"]?.value).toBe("v2");
    expect(updates[1]!.config["awareness:greeting"]?.value).toBe("v1");
  });

  it("the outputs read back from the backend match the last update", async () => {
    const outputs = await handle.stack.outputs();
    expect(outputs.greeting?.value).toBe("hello v2");
    const state = await handle.stack.exportStack();
    const resources = state.deployment.resources as { type: string; outputs?: Record<string, unknown> }[];
    const greeter = resources.find((r) => r.type === "command:local:Command");
    expect(greeter?.outputs?.stdout).toBe("hello v2");
  });

  it("destroy runs the delete command with the last stdout", async () => {
    const destroy = await handle.stack.destroy();
    expect(destroy.summary.result).toBe("succeeded");
    expect(readFileSync(log, "utf8").trimEnd().split("\n").at(-1)).toBe("delete out=[hello v2]");
    const state = await handle.stack.exportStack();
    expect((state.deployment.resources ?? []).length).toBe(0);
  });
});

describe("plugins the program needs", () => {
  it("offline, a missing plugin is named with how to get it, and nothing is downloaded", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { openEngine } = await import("../../automation/runner.js");
    const { PluginMissingError } = await import("../../automation/toolchain/plugins.js");
    const dir = await mkdtemp(join(tmpdir(), "awareness-plugins-"));
    try {
      const attempt = openEngine({
        stackName: "test-plugins",
        mode: "create",
        program: async () => ({}),
        workDir: dir,
        backendUrl: `file://${dir}`,
        // The docker provider's plugin cannot be had on these machines (no internet).
        envVars: { PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PATH: "/usr/bin:/bin" },
        plugins: [{ name: "docker", version: "5.2.0" }],
      });
      await expect(attempt).rejects.toBeInstanceOf(PluginMissingError);
      await expect(attempt).rejects.toThrow(
        /"docker" v5\.2\.0 is not installed and automatic plugin downloads are off.*pulumi plugin install resource docker v5\.2\.0/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a run's private work dir: config reads after the first cost no CLI start", () => {
  it("reads the stack file once, then keeps each write; what it answers is what the CLI reads", async () => {
    const { openEngine } = await import("../../automation/runner.js");
    const handle = await tempStack(async () => ({}));
    const open = (privateWorkDir: boolean) =>
      openEngine({
        stackName: handle.stack.name,
        mode: "select",
        program: async () => ({}),
        workDir: join(handle.dir, "work"),
        backendUrl: handle.backendUrl,
        privateWorkDir,
      });
    try {
      await handle.engine.setConfig({ "awareness:a": { value: "1" }, "awareness:gone": { value: "x" } });
      const run = await open(true);
      expect((await run.getConfig())["awareness:a"]?.value).toBe("1");
      await run.setConfig({ "awareness:b": { value: "2" }, "awareness:s": { value: "top secret", secret: true } });
      await run.removeConfig(["awareness:gone"]);
      // The same answer as a fresh read by the CLI (values, secret flags, removed keys).
      const fresh = await (await open(false)).getConfig();
      expect(await run.getConfig()).toEqual(fresh);
      expect(fresh["awareness:s"]).toEqual({ value: "top secret", secret: true });
      expect(fresh["awareness:gone"]).toBeUndefined();
      // Proof that it no longer asks the CLI: a write behind its back is not seen (nobody else
      // writes a run's private copy; an engine on a shared dir never caches, below).
      await handle.engine.setConfig({ "awareness:a": { value: "changed behind its back" } });
      expect((await run.getConfig())["awareness:a"]?.value).toBe("1");
      expect((await run.detached().getConfig())["awareness:a"]?.value).toBe("1");
      expect((await (await open(false)).getConfig())["awareness:a"]?.value).toBe("changed behind its back");
    } finally {
      await handle.cleanup();
    }
  });
});
