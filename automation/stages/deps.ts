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
import { pluginFor } from "../toolchain/versions.js";
import type { CiStatusSource } from "./prechecks.js";

export interface RunDeps {
  openEngine(args: { stackName: string; mode: OpenMode; signal: AbortSignal; log: Logger }): Promise<EngineDoor>;
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

/** The real engine, SSH, HTTP probes and git; `target` says where the stack lives. */
export function realDeps(
  target: EngineTarget & { ciStatus?: CiStatusSource | undefined; openIssue?: IssueOpener | undefined; clock?: Clock | undefined } = {},
): RunDeps {
  return {
    openEngine: ({ stackName, mode, signal, log }) =>
      openEngine({
        stackName,
        mode,
        signal,
        log,
        program: awarenessProgram,
        // AWARENESS_PROJECT_DIR: where Pulumi.yaml and the stack files live, when not the repository root.
        workDir: target.workDir ?? process.env.AWARENESS_PROJECT_DIR ?? repoRoot,
        backendUrl: target.backendUrl,
        // The local sandbox stack is the embedded default: offline, the test-only command
        // plugin stands in for the official one there (and only there).
        envVars: { ...(localStackNames.includes(stackName) ? testCommandPluginEnv() : {}), ...target.envVars },
        plugins: [pluginFor("command")],
      }),
    openHost: sshHostFor,
    prober: (config, host) => proberFor(config, () => host.exec),
    gitStatus: () => execFileSync("git", ["status", "--porcelain"], { cwd: repoRoot, encoding: "utf8" }),
    ciStatus: target.ciStatus,
    openIssue: target.openIssue,
    clock: target.clock,
  };
}
