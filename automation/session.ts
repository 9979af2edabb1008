// One driver run against one stack: the engine stack (through the runner), the stack's
// config parsed and validated before anything touches a host, and the SSH connection to
// the host, opened only when needed and closed at the end.
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { parseStackConfig, rawFromAutomationConfig } from "../components/config/parse.js";
import { hostDisplayName, type HostConfig, type StackConfig } from "../components/config/schema.js";
import type { HostLayout } from "../components/host-commands/layout.js";
import { awarenessProgram } from "../components/program.js";
import { SshHost, type HostExec } from "./host/ssh.js";
import { clearStaleEngineLock, localStackNames, openStack, repoRoot, type StackHandle } from "./runner.js";
import { pluginFor, type PluginRequirement } from "./toolchain/versions.js";

export interface Logger {
  info(line: string): void;
  warn(line: string): void;
}

export const consoleLogger: Logger = {
  info: (line) => process.stderr.write(`${line}\n`),
  warn: (line) => process.stderr.write(`warning: ${line}\n`),
};

/** Where the engine keeps the stack; defaults: the repository root and the runner's backend. */
export interface EngineTarget {
  /** Extra environment for the engine (tests add the command plugin's PATH here). */
  envVars?: Record<string, string> | undefined;
  /** The folder with Pulumi.yaml and Pulumi.<stack>.yaml. */
  workDir?: string | undefined;
  backendUrl?: string | undefined;
}

export interface SessionOptions extends EngineTarget {
  stackName: string;
  log?: Logger;
}

export class Session {
  private hostExec: HostExec | undefined;

  constructor(
    readonly stackName: string,
    readonly handle: StackHandle,
    readonly log: Logger,
  ) {}

  get stack() {
    return this.handle.stack;
  }

  /** The stack config as it is now, validated (throws ConfigError naming every bad key). */
  async config(): Promise<StackConfig> {
    return parseStackConfig(rawFromAutomationConfig(await this.stack.getAllConfig()));
  }

  /** The first host: where the lock, the status file and the probes live. */
  primaryHost(config: StackConfig): HostConfig {
    const host = config.hosts[0];
    if (!host) throw new Error("the stack config names no host");
    return host;
  }

  host(config: StackConfig): HostExec {
    if (this.hostExec) return this.hostExec;
    const h = this.primaryHost(config);
    const privateKey = h.privateKey ?? config.sshPrivateKey;
    if (!privateKey) throw new Error(`no SSH private key for host ${hostDisplayName(h)}`);
    this.hostExec = new SshHost({
      host: h.host,
      port: h.port,
      user: h.user,
      privateKey,
      hostKey: h.hostKey,
      connectTimeoutMs: 15_000,
    });
    return this.hostExec;
  }

  /** Lets tests swap in another executor (e.g. one that records commands). */
  useHost(exec: HostExec): void {
    this.hostExec = exec;
  }

  layout(config: StackConfig): HostLayout {
    return { appDir: config.appDir, composeProject: config.composeProject, composeCommand: config.composeCommand };
  }

  close(): void {
    this.hostExec?.close();
    this.hostExec = undefined;
  }
}

/** Plugins the program asks for, given its config. */
export function requiredPlugins(config: StackConfig | undefined): PluginRequirement[] {
  const plugins = [pluginFor("command")];
  if (config?.imageResolver === "registry") plugins.push(pluginFor("docker"));
  if (config?.github) plugins.push(pluginFor("github"));
  return plugins;
}

/**
 * The local sandbox stack is the embedded default: offline, where the official command
 * plugin cannot be installed, it is served by the project's test-only plugin when that
 * has been built. Real stacks never get it.
 */
function sandboxPluginEnv(stackName: string): Record<string, string> {
  const dir = join(repoRoot, ".tools", "test-plugins");
  if (!localStackNames.includes(stackName) || !existsSync(join(dir, "pulumi-resource-command"))) return {};
  const official = join(process.env.PULUMI_HOME ?? join(process.env.HOME ?? "/root", ".pulumi"), "plugins");
  const hasOfficial =
    existsSync(official) &&
    existsSync(join(official, `resource-command-v${pluginFor("command").version}`));
  if (hasOfficial) return {};
  return { PATH: `${dir}${delimiter}${process.env.PATH ?? ""}`, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" };
}

export async function openSession(opts: SessionOptions): Promise<Session> {
  const log = opts.log ?? consoleLogger;
  const handle = await openStack({
    stackName: opts.stackName,
    program: awarenessProgram,
    // AWARENESS_PROJECT_DIR: where Pulumi.yaml and the stack files live, when not the repository root.
    workDir: opts.workDir ?? process.env.AWARENESS_PROJECT_DIR ?? repoRoot,
    backendUrl: opts.backendUrl,
    envVars: { ...sandboxPluginEnv(opts.stackName), ...opts.envVars },
    plugins: [pluginFor("command")],
  });
  const cleared = await clearStaleEngineLock(handle);
  if (cleared) log.warn(cleared);
  return new Session(opts.stackName, handle, log);
}
