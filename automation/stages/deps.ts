// What a run reaches outside itself: the engine (through the runner's door), the host (through
// the SSH door), the health prober, the forge's CI status, the clock. Real by default; unit
// tests hand in fakes of the same interfaces (test/support/).
import { execFileSync } from "node:child_process";
import { hostDisplayName, type StackConfig } from "../../components/config/schema.js";
import { hostLayoutOf } from "../../components/host-commands/layout.js";
import type { Logger } from "../common/log.js";
import { repoRoot } from "../common/process.js";
import { HostOps, type HostDoor } from "../host/operations.js";
import { SshHost } from "../host/ssh.js";
import type { Clock } from "../monitor/monitor.js";
import type { Prober } from "../monitor/probers.js";
import { proberFor } from "../monitor/watch.js";
import { awarenessProgram } from "../../components/program.js";
import { openEngine, type EngineDoor, type EngineTarget, type OpenMode } from "../runner.js";
import { testCommandPluginEnv } from "../toolchain/plugins.js";
import { localStackNames } from "../toolchain/backend.js";
import { createRunWorkDir } from "../toolchain/run-workdir.js";
import { pluginFor } from "../toolchain/versions.js";
import { adoptLiveRelease } from "./releases.js";
import type { CiStatusSource } from "./prechecks.js";

export interface OpenArgs {
  stackName: string;
  mode: OpenMode;
  signal: AbortSignal;
  log: Logger;
  /** Config writes go to the project's own Pulumi.<stack>.yaml (trust-host, on the operator's request); default: a private copy. */
  editSettings?: boolean;
}

/** The run's engine; `dispose` ends what the opening set up (its private work dir). */
export type RunEngine = EngineDoor & { dispose?(): Promise<void> };

export interface RunDeps {
  openEngine(args: OpenArgs): Promise<RunEngine>;
  /** A door to `config.hosts[index]` (the primary, index 0, by default). */
  openHost(config: StackConfig, index?: number): HostDoor;
  prober(config: StackConfig, host: HostDoor): Prober;
  /** `git status --porcelain` of the working tree the release comes from. */
  gitStatus(): string;
  ciStatus?: CiStatusSource | undefined;
  /** Opens (or comments on) the failure issue mid-run (a pause); none = no issue. */
  openIssue?: IssueOpener | undefined;
  clock?: Clock | undefined;
}

export type IssueOpener = (issue: { title: string; body: string; labels: string[] }) => Promise<{ url: string }>;

/** A host of the stack; the first one is where the lock and the probes live. */
function sshHostFor(config: StackConfig, index = 0): HostDoor {
  const h = config.hosts[index];
  if (!h) throw new Error(`the stack config names no host #${index + 1}`);
  const privateKey = h.privateKey ?? config.sshPrivateKey;
  if (!privateKey) throw new Error(`no SSH private key for host ${hostDisplayName(h)}`);
  const exec = new SshHost({ host: h.host, port: h.port, user: h.user, privateKey, hostKey: h.hostKey, connectTimeoutMs: 15_000 });
  return new HostOps(exec, hostLayoutOf(config, h));
}

/**
 * Opens the stack on a private copy of the project's files (toolchain/run-workdir.ts) with the
 * live release from the backend over it; the copy goes when the run ends (`dispose`).
 */
async function openRunEngine({ stackName, mode, signal, log, editSettings }: OpenArgs, target: EngineTarget): Promise<RunEngine> {
  // AWARENESS_PROJECT_DIR: where Pulumi.yaml and the stack files live, when not the repository root.
  const projectDir = target.workDir ?? process.env.AWARENESS_PROJECT_DIR ?? repoRoot;
  const workDir = editSettings ? undefined : await createRunWorkDir(projectDir, stackName);
  try {
    const engine = await openEngine({
      stackName,
      mode,
      signal,
      log,
      program: awarenessProgram,
      workDir: workDir?.dir ?? projectDir,
      privateWorkDir: workDir !== undefined,
      backendUrl: target.backendUrl,
      // The local sandbox stack is the embedded default: offline, the test-only command
      // plugin stands in for the official one there (and only there).
      envVars: { ...(localStackNames.includes(stackName) ? testCommandPluginEnv() : {}), ...target.envVars },
      plugins: [pluginFor("command")],
    });
    if (workDir) await adoptLiveRelease(engine);
    return Object.assign(engine, { dispose: async () => workDir?.dispose() });
  } catch (err) {
    await workDir?.dispose();
    throw err;
  }
}

/** The real engine, SSH, HTTP probes and git; `target` says where the stack lives. */
export function realDeps(
  target: EngineTarget & { ciStatus?: CiStatusSource | undefined; openIssue?: IssueOpener | undefined; clock?: Clock | undefined } = {},
): RunDeps {
  return {
    openEngine: (args) => openRunEngine(args, target),
    openHost: sshHostFor,
    prober: (config, host) => proberFor(config, () => host.exec),
    gitStatus: () => execFileSync("git", ["status", "--porcelain"], { cwd: repoRoot, encoding: "utf8" }),
    ciStatus: target.ciStatus,
    openIssue: target.openIssue,
    clock: target.clock,
  };
}
