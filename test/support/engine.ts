// Throwaway stacks for e2e tests: a temp folder with its own file backend, the real engine
// through the driver's runner, and the command plugin on PATH.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PulumiFn, Stack } from "@pulumi/pulumi/automation/index.js";
import { openEngine, type Engine } from "../../automation/runner.js";
import { pluginFor } from "../../automation/toolchain/versions.js";
import { testEngineEnv, type CommandPluginChoice } from "./plugins.js";

export interface TempStack {
  /** The Automation API stack (tests drive the engine directly where the driver is not under test). */
  stack: Stack;
  /** The same stack behind the driver's engine door. */
  engine: Engine;
  backendUrl: string;
  /** The temp folder: backend in ./state, project files in ./work. */
  dir: string;
  cleanup(): Promise<void>;
}

let counter = 0;

export async function tempStack(
  program: PulumiFn,
  opts: { envVars?: Record<string, string>; stackName?: string; workDir?: string; commandPlugin?: CommandPluginChoice } = {},
): Promise<TempStack> {
  const dir = await mkdtemp(join(tmpdir(), "awareness-e2e-"));
  await mkdir(join(dir, "state"));
  await mkdir(join(dir, "work"));
  const backendUrl = `file://${join(dir, "state")}`;
  const engine = await openEngine({
    stackName: opts.stackName ?? `test-${process.pid}-${++counter}`,
    mode: "create",
    program,
    workDir: opts.workDir ?? join(dir, "work"),
    backendUrl,
    envVars: { ...(await testEngineEnv(opts.commandPlugin)), ...opts.envVars },
    plugins: [pluginFor("command")],
  });
  return {
    stack: engine.stack,
    engine,
    backendUrl,
    dir,
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
