// A driver stack for e2e tests: a temp folder holding the file backend (or another backend given,
// e.g. the local S3 server) and the project dir (the stack file an operator edits), the driver's
// real dependencies pointed at it.
import { appendFileSync, mkdirSync } from "node:fs";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { awarenessProgram } from "../../components/program.js";
import type { Logger } from "../../automation/common/log.js";
import { repoRoot } from "../../automation/common/process.js";
import { openEngine, type Engine } from "../../automation/runner.js";
import { realDeps } from "../../automation/stages/deps.js";
import type { RunDeps } from "../../automation/stages/deps.js";
import { testEngineEnv } from "./plugins.js";

export interface DriverStack {
  stackName: string;
  dir: string;
  backendUrl: string;
  envVars: Record<string, string>;
  deps: RunDeps;
  /**
   * The stack opened on the project dir itself: writing its config edits the stack file there,
   * as an operator edits the committed Pulumi.<stack>.yaml (runs never write it).
   */
  engine(): Promise<Engine>;
  /** The config a run sees (a private copy of the stack file with the live release from the backend). */
  liveConfig(): Promise<ConfigMap>;
  cleanup(): Promise<void>;
}

const silent: Logger = { info: () => {}, warn: () => {} };

export async function driverStack(
  stackName: string,
  log?: Logger,
  opts: { backendUrl?: string; envVars?: Record<string, string> } = {},
): Promise<DriverStack> {
  const dir = await mkdtemp(join(tmpdir(), `awareness-${stackName}-`));
  const backendUrl = opts.backendUrl ?? `file://${dir}`;
  const envVars = { ...(await testEngineEnv()), ...opts.envVars };
  const engine = () => openEngine({ stackName, mode: "create", program: awarenessProgram, workDir: dir, backendUrl, envVars, log });
  const deps = realDeps({ workDir: dir, backendUrl, envVars });
  const liveConfig = async () => {
    const run = await deps.openEngine({ stackName, mode: "select", signal: new AbortController().signal, log: log ?? silent });
    try {
      return await run.getConfig();
    } finally {
      await run.dispose?.();
    }
  };
  return {
    stackName,
    dir,
    backendUrl,
    envVars,
    deps,
    engine,
    liveConfig,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A driver log for an e2e file: its lines go to .reports/<name>.log (kept for a failing run), not to the test output. */
export function e2eLog(name: string): Logger & { file: string } {
  const file = join(repoRoot, ".reports", `${name}.log`);
  mkdirSync(dirname(file), { recursive: true });
  return {
    file,
    info: (line: string) => appendFileSync(file, `${new Date().toISOString()} ${line}\n`),
    warn: (line: string) => appendFileSync(file, `${new Date().toISOString()} warning: ${line}\n`),
  };
}
