// The one place that talks to the Pulumi engine: which CLI, which backend, which
// secrets, which plugins, and a deadline of our own around every long operation.
// Everything else in the driver asks this module for a stack and never spawns `pulumi`.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation/index.js";
import { pinnedToolchain, type PluginRequirement } from "./toolchain/versions.js";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The project name in Pulumi.yaml; inline programs must use the same one so the stack files apply. */
export const projectName = "awareness";

/**
 * A fixed passphrase, for throwaway local stacks only (the sandbox and test stacks):
 * their secrets are test keys generated on this machine. Any other stack must be given
 * PULUMI_CONFIG_PASSPHRASE (or _FILE) by its operator.
 */
export const localSandboxPassphrase = "awareness-local-sandbox-only";

/** Stacks that may fall back to the documented local passphrase. */
export const localStackNames: readonly string[] = ["sandbox"];

export class EngineSetupError extends Error {
  override name = "EngineSetupError";
}

export class DeadlineExceededError extends Error {
  override name = "DeadlineExceededError";
  constructor(
    readonly operation: string,
    readonly deadlineMs: number,
    readonly lastProgress: string | undefined,
  ) {
    super(
      `${operation} did not finish within ${Math.round(deadlineMs / 1000)} s; it was cancelled.` +
        (lastProgress ? ` Last progress: ${lastProgress}` : "") +
        " The engine was asked to cancel (and killed if it did not stop); the next deploy clears what it left" +
        " and re-applies the intended state.",
    );
  }
}

export interface OpenStackArgs {
  stackName: string;
  /** The program to run inline (the same function index.ts hands to the plain CLI). */
  program: PulumiFn;
  /** Where Pulumi.yaml and Pulumi.<stack>.yaml live. Default: the repository root. */
  workDir?: string;
  /** Default: $PULUMI_BACKEND_URL, else a file backend in <repo>/.pulumi-state. */
  backendUrl?: string;
  /** Default: $PULUMI_CONFIG_PASSPHRASE; local stacks fall back to the documented local passphrase. */
  passphrase?: string;
  /** Extra environment for the CLI and the plugins it starts (e.g. PATH with a test plugin). */
  envVars?: Record<string, string>;
  /** Resource plugins the program needs; checked (and installed when allowed) before use. */
  plugins?: PluginRequirement[];
  /** Create the stack when it does not exist (default true). */
  create?: boolean;
}

export interface StackHandle {
  stack: Stack;
  workspace: LocalWorkspace;
  cli: PulumiCommand;
  backendUrl: string;
}

/** Finds the Pulumi CLI the toolchain step provided: the project's build, else one on PATH. */
export async function locateCli(): Promise<PulumiCommand> {
  const { cli: version } = pinnedToolchain();
  const candidates: string[] = [join(repoRoot, ".tools")];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, "pulumi"))) candidates.push(resolve(dir, ".."));
  }
  for (const root of candidates) {
    if (!existsSync(join(root, "bin", "pulumi"))) continue;
    const cli = await PulumiCommand.get({ root, skipVersionCheck: true });
    if (cli.version?.version === version) return cli;
  }
  throw new EngineSetupError(
    `No Pulumi CLI v${version} found (looked in .tools/bin and on PATH). ` +
      "Run `npm run setup` (it builds the pinned CLI from Go modules, or uses one on PATH at that version).",
  );
}

export function defaultBackendUrl(): string {
  if (process.env.PULUMI_BACKEND_URL) return process.env.PULUMI_BACKEND_URL;
  const dir = join(repoRoot, ".pulumi-state");
  mkdirSync(dir, { recursive: true });
  return `file://${dir}`;
}

export function passphraseFor(stackName: string, given?: string): string | undefined {
  if (given !== undefined) return given;
  if (process.env.PULUMI_CONFIG_PASSPHRASE !== undefined) return process.env.PULUMI_CONFIG_PASSPHRASE;
  if (process.env.PULUMI_CONFIG_PASSPHRASE_FILE) return undefined; // the CLI reads the file itself
  if (localStackNames.includes(stackName) || stackName.startsWith("test-")) return localSandboxPassphrase;
  throw new EngineSetupError(
    `PULUMI_CONFIG_PASSPHRASE is not set. Stack "${stackName}" keeps its secrets (SSH key, env) encrypted ` +
      "with a passphrase: export PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) and run again.",
  );
}

/** Opens (or creates) a stack of the inline program, with engine, backend, secrets and plugins checked. */
export async function openStack(args: OpenStackArgs): Promise<StackHandle> {
  const cli = await locateCli();
  const backendUrl = args.backendUrl ?? defaultBackendUrl();
  const passphrase = passphraseFor(args.stackName, args.passphrase);
  const envVars: Record<string, string> = {
    PULUMI_BACKEND_URL: backendUrl,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    ...(passphrase !== undefined ? { PULUMI_CONFIG_PASSPHRASE: passphrase } : {}),
    ...args.envVars,
  };
  const inline = { stackName: args.stackName, projectName, program: args.program };
  const opts = {
    workDir: args.workDir ?? repoRoot,
    pulumiCommand: cli,
    envVars,
    secretsProvider: "passphrase",
  };
  const stack =
    args.create === false
      ? await LocalWorkspace.selectStack(inline, opts)
      : await LocalWorkspace.createOrSelectStack(inline, opts);
  const workspace = stack.workspace as LocalWorkspace;
  await ensurePlugins(workspace, args.plugins ?? [], envVars);
  return { stack, workspace, cli, backendUrl };
}

export class PluginMissingError extends EngineSetupError {
  override name = "PluginMissingError";
}

/**
 * The official plugins are used whenever installed; a `pulumi-resource-<name>` on the
 * CLI's PATH (the engine's ambient plugins) counts too. Missing ones are installed at the
 * versions the npm packages declare, unless automatic acquisition is off (offline machines):
 * then the missing plugin is named, with how to get it.
 */
export async function ensurePlugins(
  workspace: LocalWorkspace,
  required: PluginRequirement[],
  envVars: Record<string, string>,
): Promise<void> {
  if (required.length === 0) return;
  const installed = await workspace.listPlugins();
  const searchPath = (envVars.PATH ?? process.env.PATH ?? "").split(delimiter);
  for (const plugin of required) {
    const official = installed.some(
      (p) => p.kind === "resource" && p.name === plugin.name && p.version === plugin.version,
    );
    const ambient = searchPath.some((dir) => dir && existsSync(join(dir, `pulumi-resource-${plugin.name}`)));
    if (official || ambient) continue;
    const offline =
      (envVars.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION ?? process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION) ===
      "true";
    const howTo =
      `Install it with \`pulumi plugin install resource ${plugin.name} v${plugin.version}\` on a machine with ` +
      "internet access";
    if (offline) {
      throw new PluginMissingError(
        `The Pulumi resource plugin "${plugin.name}" v${plugin.version} is not installed and automatic plugin ` +
          `downloads are off (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true). ${howTo}.`,
      );
    }
    try {
      await workspace.installPlugin(plugin.name, `v${plugin.version}`, "resource");
    } catch (err) {
      throw new PluginMissingError(
        `The Pulumi resource plugin "${plugin.name}" v${plugin.version} is not installed and downloading it ` +
          `failed: ${firstLine(err)}. ${howTo}.`,
      );
    }
  }
}

/**
 * Runs an engine operation under a deadline of our own: the official command plugin can
 * hang forever on a host that accepts TCP but never speaks SSH. On expiry (or an outer
 * abort, e.g. SIGTERM) the operation is aborted: the CLI is asked to cancel gracefully,
 * which waits for the steps in flight. A plugin that never returns would make that wait
 * forever, so after `graceMs` the engine's processes (the CLI and the plugins it started,
 * children of this process) are killed; the lock file they leave is cleared by the next run
 * (clearStaleEngineLock), and interrupted steps by clearInterruptedOperations.
 */
export async function withDeadline<T>(
  operation: string,
  deadlineMs: number,
  run: (signal: AbortSignal, progress: (line: string) => void) => Promise<T>,
  /** An outer cancellation (e.g. SIGTERM to the driver): aborts the operation the same way. */
  outer?: AbortSignal,
  graceMs = 60_000,
): Promise<T> {
  const controller = new AbortController();
  let lastProgress: string | undefined;
  let expired = false;
  let killTimer: NodeJS.Timeout | undefined;
  let rejectHard: (err: Error) => void = () => {};
  const hardStop = new Promise<never>((_, reject) => (rejectHard = reject));
  hardStop.catch(() => {});
  const abort = () => {
    if (controller.signal.aborted) return;
    controller.abort();
    killTimer = setTimeout(() => {
      const killed = killEngineProcesses();
      rejectHard(new Error(`the engine did not stop within ${Math.round(graceMs / 1000)} s of the cancel; killed ${killed.length} engine process(es)`));
    }, graceMs);
  };
  const timer = setTimeout(() => {
    expired = true;
    abort();
  }, deadlineMs);
  if (outer?.aborted) abort();
  outer?.addEventListener("abort", abort, { once: true });
  try {
    return await Promise.race([
      run(controller.signal, (line) => {
        lastProgress = line;
      }),
      hardStop,
    ]);
  } catch (err) {
    if (expired) throw new DeadlineExceededError(operation, deadlineMs, lastProgress);
    throw err;
  } finally {
    clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
    outer?.removeEventListener("abort", abort);
  }
}

/**
 * SIGKILLs the Pulumi CLI processes this process started and everything below them (the
 * plugins). Linux /proc only; returns the pids killed.
 */
export function killEngineProcesses(root = process.pid): number[] {
  const parentOf = new Map<number, number>();
  const nameOf = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" ");
      parentOf.set(Number(entry), Number(fields[1]));
      nameOf.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
    } catch {
      // gone meanwhile
    }
  }
  const below = (pid: number): number[] => {
    const kids = [...parentOf].filter(([, ppid]) => ppid === pid).map(([child]) => child);
    return kids.flatMap((k) => [k, ...below(k)]);
  };
  const engines = [...parentOf].filter(([pid, ppid]) => ppid === root && nameOf.get(pid) === "pulumi").map(([pid]) => pid);
  const victims = engines.flatMap((pid) => [pid, ...below(pid)]);
  for (const pid of victims) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return victims;
}

export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n").find((l) => l.trim() !== "")?.trim() ?? text;
}

interface EngineLockFile {
  pid: number;
  username: string;
  hostname: string;
  timestamp: string;
}

/** Whether a process of this machine exists (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A file backend's update lock outlives a killed CLI (`.pulumi/locks/.../<id>.json`). When
 * its holder was a process on this machine that no longer exists, the lock is stale: it is
 * cleared with `pulumi cancel` so the next deploy can converge. Locks of live processes and
 * of other machines are left alone (the deploy then reports the engine lock as held).
 */
export async function clearStaleEngineLock(handle: StackHandle): Promise<string | undefined> {
  if (!handle.backendUrl.startsWith("file://")) return undefined;
  const dir = join(fileURLToPath(handle.backendUrl), ".pulumi", "locks", "organization", projectName, handle.stack.name);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return undefined;
  }
  for (const file of files) {
    let lock: EngineLockFile;
    try {
      lock = JSON.parse(readFileSync(join(dir, file), "utf8")) as EngineLockFile;
    } catch {
      continue;
    }
    if (lock.hostname !== os.hostname() || processAlive(lock.pid)) return undefined;
    await handle.stack.cancel();
    return `cleared a stale engine lock of stack ${handle.stack.name} left by pid ${lock.pid} (${lock.username}@${lock.hostname}, ${lock.timestamp}), which no longer runs`;
  }
  return undefined;
}

/**
 * A cancelled or killed update can leave operations marked pending in the state. Pending
 * updates and deletes are re-planned by the next update; pending creates block it, so they
 * are cleared with a refresh (the commands they stand for are re-run by the next `up`).
 */
export async function clearInterruptedOperations(stack: import("@pulumi/pulumi/automation/index.js").Stack): Promise<string | undefined> {
  const state = await stack.exportStack();
  const pending = (state.deployment?.pending_operations ?? []) as { type: string; resource: { urn: string } }[];
  if (pending.length === 0) return undefined;
  await stack.refresh({ clearPendingCreates: true, message: "clear operations interrupted by a cancelled run" });
  return `cleared ${pending.length} operation(s) an interrupted run left pending: ${pending
    .map((p) => `${p.type} ${p.resource.urn.split("::").at(-1)}`)
    .join(", ")}`;
}
