// Throwaway stacks for e2e tests: a temp folder with its own file backend, the real
// engine through the driver's runner, and the command plugin on PATH.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PulumiFn, Stack } from "@pulumi/pulumi/automation/index.js";
import { openStack, type StackHandle } from "../../automation/runner.js";
import { pluginFor } from "../../automation/toolchain/versions.js";
import { testEngineEnv } from "./plugins.js";

export interface TempStack extends StackHandle {
  stack: Stack;
  /** The temp folder: backend in ./state, project files in ./work. */
  dir: string;
  cleanup(): Promise<void>;
}

let counter = 0;

export async function tempStack(
  program: PulumiFn,
  opts: { envVars?: Record<string, string>; stackName?: string; workDir?: string } = {},
): Promise<TempStack> {
  const dir = await mkdtemp(join(tmpdir(), "awareness-e2e-"));
  const { mkdir } = await import("node:fs/promises");
  await mkdir(join(dir, "state"));
  await mkdir(join(dir, "work"));
  const handle = await openStack({
    stackName: opts.stackName ?? `test-${process.pid}-${++counter}`,
    program,
    workDir: opts.workDir ?? join(dir, "work"),
    backendUrl: `file://${join(dir, "state")}`,
    envVars: { ...(await testEngineEnv()), ...opts.envVars },
    plugins: [pluginFor("command")],
  });
  return {
    ...handle,
    dir,
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
