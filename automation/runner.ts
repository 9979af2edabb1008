// The one door to the Pulumi engine. Every engine call of the driver (open, config, preview,
// up, refresh, history, tags, outputs, cancel) goes through an `Engine` from here, each under
// a deadline of our own and the run's cancel signal. Which CLI and plugins: toolchain/; the
// door's types: engine-door.ts.
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  LocalWorkspace,
  type ConfigMap,
  type OutputMap,
  type Stack,
  type UpdateSummary,
} from "@pulumi/pulumi/automation/index.js";
import { CancelledError, UsageError } from "./common/errors.js";
import { repoRoot } from "./common/process.js";
import { backendUrlFor, clearStaleEngineLock, hasStackFile, passphraseFor, projectName } from "./toolchain/backend.js";
import { locateCli } from "./toolchain/cli.js";
import { ensurePlugins } from "./toolchain/plugins.js";
import { setSecretConfig } from "./toolchain/secret-config.js";
import { withDeadline } from "./toolchain/processes.js";
import type { ConfigCache, EngineDoor, LongOpOptions, OpenEngineArgs, UpResult } from "./engine-door.js";

export type { ConfigCache, EngineDoor, EngineTarget, LongOpOptions, OpenEngineArgs, OpenMode, UpResult } from "./engine-door.js";

/** Deadlines of our own (ms): a hung backend or plugin must never hang the driver. */
const engineDeadlines = { read: 120_000, preview: 10 * 60_000, up: 15 * 60_000, refresh: 10 * 60_000 };

const tagReadAttempts = 4;
const tagTurns = new WeakMap<Stack, Promise<unknown>>();

export class Engine implements EngineDoor {
  constructor(
    readonly stack: Stack,
    readonly backendUrl: string,
    private readonly signal: AbortSignal | undefined,
    private readonly configCache?: ConfigCache,
  ) {}

  get stackName(): string {
    return this.stack.name;
  }

  detached(): Engine {
    return new Engine(this.stack, this.backendUrl, undefined, this.configCache);
  }

  /** Every engine call: our deadline, the run's signal, and a cancel reported as such. */
  private async call<T>(
    op: string,
    deadlineMs: number,
    run: (signal: AbortSignal, progress: (line: string) => void) => Promise<T>,
    graceMs = 5_000,
  ): Promise<T> {
    if (this.signal?.aborted) throw new CancelledError(`${op} not started: the run was cancelled`);
    try {
      return await withDeadline(op, deadlineMs, run, this.signal, graceMs);
    } catch (err) {
      if (this.signal?.aborted) throw new CancelledError(`${op} cancelled (signal): the engine stopped after the step in flight`);
      throw err;
    }
  }

  async getConfig(): Promise<ConfigMap> {
    if (this.configCache?.map) return structuredClone(this.configCache.map);
    const map = await this.call("config get", engineDeadlines.read, () => this.stack.getAllConfig());
    if (this.configCache) this.configCache.map = structuredClone(map);
    return map;
  }

  /** Keeps the cache in step with a config write; a write that failed part way leaves it unknown. */
  private async writing(write: () => Promise<void>, apply: (map: ConfigMap) => void): Promise<void> {
    try {
      await write();
      if (this.configCache?.map) apply(this.configCache.map);
    } catch (err) {
      if (this.configCache) this.configCache.map = undefined;
      throw err;
    }
  }

  /** Plain values in one call; each secret value through stdin, never on a command line. */
  setConfig(values: ConfigMap): Promise<void> {
    return this.writing(
      () => this.writeConfig(values),
      (map) => Object.entries(values).forEach(([k, v]) => (map[k] = { value: v.value, secret: Boolean(v.secret) })),
    );
  }

  private async writeConfig(values: ConfigMap): Promise<void> {
    const entries = Object.entries(values);
    const plain = Object.fromEntries(entries.filter(([, v]) => !v.secret));
    if (Object.keys(plain).length) await this.call("config set", engineDeadlines.read, () => this.stack.setAllConfig(plain));
    const ws = this.stack.workspace as LocalWorkspace;
    const target = { command: ws.pulumiCommand.command, cwd: ws.workDir, env: ws.envVars, stackName: this.stackName };
    for (const [key, v] of entries.filter(([, e]) => e.secret)) {
      await this.call("config set --secret", engineDeadlines.read, (signal) => setSecretConfig(target, key, v.value, signal));
    }
  }

  async removeConfig(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.writing(
      () => this.call("config rm", engineDeadlines.read, () => this.stack.removeAllConfig(keys)),
      (map) => keys.forEach((k) => delete map[k]),
    );
  }

  async preview(opts: LongOpOptions): Promise<void> {
    await this.call(
      "preview",
      opts.deadlineMs ?? engineDeadlines.preview,
      (signal, progress) => this.stack.preview({ ...pick(opts), signal, onOutput: tee(opts, progress) }),
      opts.graceMs,
    );
  }

  async up(opts: LongOpOptions): Promise<UpResult> {
    const r = await this.call(
      "up",
      opts.deadlineMs ?? engineDeadlines.up,
      (signal, progress) => this.stack.up({ ...pick(opts), signal, onOutput: tee(opts, progress) }),
      opts.graceMs ?? 60_000,
    );
    return { result: r.summary.result, update: r.summary, outputs: r.outputs };
  }

  async refresh(opts: LongOpOptions & { clearPendingCreates?: boolean }): Promise<void> {
    await this.call(
      "refresh",
      opts.deadlineMs ?? engineDeadlines.refresh,
      (signal, progress) =>
        this.stack.refresh({ ...pick(opts), clearPendingCreates: opts.clearPendingCreates ?? false, signal, onOutput: tee(opts, progress) }),
      opts.graceMs,
    );
  }

  async history(kinds: readonly string[] = ["update"]): Promise<UpdateSummary[]> {
    const all = await this.call("history", engineDeadlines.read, () => this.stack.history(undefined, undefined, true));
    return all.filter((u) => kinds.includes(u.kind));
  }

  /**
   * The stack's tags. A file backend (diy) rewrites its tags file in place: read while another
   * process writes it, `tag ls` prints `null`. Such a read is tried again, never taken as "no tags".
   */
  tags(): Promise<Record<string, string>> {
    return this.tagsInTurn(async () => {
      for (let attempt = 1; ; attempt++) {
        const tags: unknown = await this.call("tags", engineDeadlines.read, () => this.stack.listTags());
        if (tags && typeof tags === "object") return tags as Record<string, string>;
        if (attempt === tagReadAttempts) throw new Error(`the backend gave no stack tags for ${this.stackName} (${JSON.stringify(tags)}, ${attempt} reads): try again`);
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    });
  }

  async setTag(key: string, value: string): Promise<void> {
    await this.tagsInTurn(() => this.call("tag set", engineDeadlines.read, () => this.stack.setTag(key, value)));
  }

  /** One tag call at a time per stack (detached doors included): a diy backend reads and rewrites one tags file. */
  private tagsInTurn<T>(op: () => Promise<T>): Promise<T> {
    const previous = tagTurns.get(this.stack) ?? Promise.resolve();
    const mine = previous.then(op, op);
    tagTurns.set(this.stack, mine.catch(() => undefined));
    return mine;
  }

  outputs(): Promise<OutputMap> {
    return this.call("outputs", engineDeadlines.read, () => this.stack.outputs());
  }

  async pendingOperations(): Promise<{ type: string; urn: string }[]> {
    const state = await this.call("export", engineDeadlines.read, () => this.stack.exportStack());
    const pending = (state.deployment?.pending_operations ?? []) as { type: string; resource: { urn: string } }[];
    return pending.map((p) => ({ type: p.type, urn: p.resource.urn }));
  }

  async cancel(): Promise<void> {
    await this.call("cancel", engineDeadlines.read, () => this.stack.cancel());
  }

  clearStaleLock(): Promise<string | undefined> {
    return clearStaleEngineLock({ backendUrl: this.backendUrl, stackName: this.stackName, cancel: () => this.detached().cancel() });
  }
}

const pick = (o: LongOpOptions) => ({
  ...(o.message ? { message: o.message } : {}),
  ...(o.onEvent ? { onEvent: o.onEvent } : {}),
  ...(o.plan ? { plan: o.plan } : {}),
});

/** Engine output goes to the caller, and its last line to the deadline's progress note. */
const tee = (o: LongOpOptions, progress: (line: string) => void) => (out: string) => {
  const last = out.split("\n").filter((l) => l.trim()).at(-1);
  if (last) progress(last.trim());
  o.onOutput?.(out);
};

/** Opens a stack of the inline program with engine, backend, secrets and plugins checked. */
export async function openEngine(args: OpenEngineArgs): Promise<Engine> {
  const cli = await locateCli();
  const backendUrl = backendUrlFor(args.stackName, args.backendUrl);
  const passphrase = passphraseFor(args.stackName);
  const envVars: Record<string, string> = {
    PULUMI_BACKEND_URL: backendUrl,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    ...(passphrase !== undefined ? { PULUMI_CONFIG_PASSPHRASE: passphrase } : {}),
    ...args.envVars,
  };
  const workDir = args.workDir ?? repoRoot;
  const inline = { stackName: args.stackName, projectName, program: args.program };
  const opts = { workDir, pulumiCommand: cli, envVars, secretsProvider: "passphrase" };
  // A work dir without Pulumi.yaml (throwaway test stacks) gets the SDK's default inline project.
  const projectSettings = existsSync(join(workDir, "Pulumi.yaml")) ? undefined : { name: projectName, runtime: "nodejs" as const, main: process.cwd() };
  const workspace = await LocalWorkspace.create({ ...opts, program: args.program, ...(projectSettings ? { projectSettings } : {}) });
  const exists = (await workspace.listStacks()).map((s) => s.name.split("/").at(-1)!);
  const create = args.mode === "create" || (args.mode === "deploy" && hasStackFile(workDir, args.stackName));
  if (!exists.includes(args.stackName) && !create) {
    throw new UsageError(
      `No stack "${args.stackName}" in ${backendUrl.startsWith("file://") ? "the local state" : backendUrl}. ` +
        (exists.length ? `Stacks that exist: ${exists.join(", ")}.` : "No stack exists there yet.") +
        (args.mode === "deploy" ? ` A first deploy creates it only when Pulumi.${args.stackName}.yaml exists.` : ""),
    );
  }
  const stack = exists.includes(args.stackName)
    ? await LocalWorkspace.selectStack(inline, opts)
    : await LocalWorkspace.createOrSelectStack(inline, opts);
  await ensurePlugins(stack.workspace as LocalWorkspace, args.plugins ?? [], envVars);
  const engine = new Engine(stack, backendUrl, args.signal, args.privateWorkDir ? {} : undefined);
  const cleared = await engine.clearStaleLock();
  if (cleared) args.log?.warn(cleared);
  return engine;
}

export { projectName };
