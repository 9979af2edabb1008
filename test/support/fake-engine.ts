// An in-memory stack behind the driver's EngineDoor: the stack config, its tags, the update
// history (file-backend shaped: version 0, start times one minute apart), the outputs and the
// pending operations. `up` and `preview` are scriptable; every call is logged in `calls` so
// tests can assert which engine calls happened, and in which order. A successful `up`
// applies the release in the config to a linked FakeHost, so the host record follows.
//
// `door(signal)` is what a run gets: bound to the run's signal like the real Engine (a call
// after a cancel throws CancelledError), with `detached()` a view on the same stack that is not.
import { createHash } from "node:crypto";
import {
  ConcurrentUpdateError,
  type ConfigMap,
  type EngineEvent,
  type OpMap,
  type OpType,
  type OutputMap,
  type UpdateSummary,
} from "@pulumi/pulumi/automation/index.js";
import type { StackConfig } from "../../components/config/schema.js";
import { CancelledError, UsageError } from "../../automation/common/errors.js";
import type { Clock } from "../../automation/monitor/monitor.js";
import type { Prober } from "../../automation/monitor/probers.js";
import type { EngineDoor, LongOpOptions, OpenMode, UpResult } from "../../automation/runner.js";
import type { CiStatusSource } from "../../automation/stages/prechecks.js";
import type { RunDeps } from "../../automation/stages/deps.js";
import type { ReleaseRecord } from "../../components/remote-compose-stack.js";
import { FakeHost } from "./fake-host.js";

/** How the next `up` goes. */
export type UpBehaviour =
  /** Records a succeeded update of the current config and applies its release to the host. */
  | { kind: "succeed"; changes?: OpMap }
  /**
   * Records a failed update and throws `error` (the host keeps what it ran); the hosts named in
   * `switched` (by host name) ran their switch to the new release before another host failed.
   */
  | { kind: "fail"; error?: Error; switched?: string[] }
  /** Throws the engine's ConcurrentUpdateError (another update holds the stack); nothing recorded. */
  | { kind: "concurrent" }
  /**
   * Waits until the run's signal aborts (then records a failed update and throws
   * CancelledError, as the real door does) or `stack.releaseHeldUp()`, then goes on as `then`
   * (default: succeed). `onHold` is called once it waits (e.g. to cancel the run there).
   */
  | { kind: "hold"; onHold?: () => void; then?: UpBehaviour };

/** An engine event announcing one step of a preview or update. */
export function stepEvent(op: OpType, type: string, name: string, sequence = 0): EngineEvent {
  const urn = `urn:pulumi:stack::awareness::${type}::${name}`;
  return {
    sequence,
    timestamp: 0,
    resourcePreEvent: { metadata: { op, urn, type, provider: "" } },
  };
}

/** What a preview of an unchanged program with a new release shows by default. */
export const defaultPreviewEvents: EngineEvent[] = [
  stepEvent("same", "pulumi:pulumi:Stack", "awareness-stack", 1),
  stepEvent("update", "command:remote:Command", "awareness-sandbox-switch", 2),
];

/** The error the Automation API throws when another update holds the stack. */
export function concurrentUpdateError(): ConcurrentUpdateError {
  const result = {
    toString: () => "code: 255\n stderr: error: [409] Conflict: Another update is currently in progress.\n",
  };
  return new (ConcurrentUpdateError as unknown as new (r: typeof result) => ConcurrentUpdateError)(result);
}

/** A reference by tag pinned to a made-up digest (what the host resolver records); digests stay. */
export function pinned(ref: string): string {
  if (ref.includes("@sha256:")) return ref;
  const repo = ref.replace(/:[^:/@]+$/, "");
  return `${repo}@sha256:${createHash("sha256").update(ref).digest("hex")}`;
}

const longOps = new Set(["preview", "up", "refresh", "cancel"]);

export class FakeStack {
  config: ConfigMap;
  tags: Record<string, string> = {};
  /** Updates, oldest first (`history()` answers newest first). */
  readonly updates: UpdateSummary[] = [];
  outputs: OutputMap = {};
  pending: { type: string; urn: string }[] = [];
  /** Every door call in order: "getConfig", "setConfig awareness:release", "up", "setTag <key>", … */
  readonly calls: string[] = [];
  /** The update plan file of each preview (saved) and each up (held to), in order; undefined = none. */
  readonly plans: { saved: (string | undefined)[]; followed: (string | undefined)[] } = { saved: [], followed: [] };
  /** Each opening of the stack by a run. */
  readonly opened: { stackName: string; mode: OpenMode }[] = [];
  /** Whether the stack exists yet (a select of a missing stack is a usage error). */
  exists = true;
  /** What `preview` reports: a list of events, or a function of the config it previews. */
  previewEvents: EngineEvent[] | ((config: ConfigMap) => EngineEvent[]) = defaultPreviewEvents;
  host: FakeHost | undefined;
  /** A multi-host stack: every host by name, in the config's order (the first is `host`). */
  hosts: Record<string, FakeHost> | undefined;
  private readonly upScript: UpBehaviour[] = [];
  private readonly failures = new Map<string, Error>();
  private held: (() => void) | undefined;
  private readonly pauses: { op: string; left: number; reached: () => void; resume: Promise<void> }[] = [];
  private readonly startedAt: number;

  constructor(
    readonly stackName: string,
    config: ConfigMap = {},
    opts: { host?: FakeHost; hosts?: Record<string, FakeHost>; startedAt?: number } = {},
  ) {
    this.config = structuredClone(config);
    this.hosts = opts.hosts;
    this.host = opts.host ?? (opts.hosts ? Object.values(opts.hosts)[0] : undefined);
    this.startedAt = opts.startedAt ?? Date.UTC(2026, 0, 1);
  }

  hostNamed(name: string): FakeHost {
    const host = this.hosts?.[name] ?? (this.hosts ? undefined : this.host);
    if (!host) throw new Error(`fake stack: no host named ${name}`);
    return host;
  }

  /** The door a run gets (bound to its signal). */
  door(signal?: AbortSignal): FakeEngine {
    return new FakeEngine(this, signal);
  }

  /** The deps' openEngine: records the opening and hands out a door bound to the run's signal. */
  open(args: { stackName: string; mode: OpenMode; signal: AbortSignal }): FakeEngine {
    this.opened.push({ stackName: args.stackName, mode: args.mode });
    if (args.stackName !== this.stackName || (!this.exists && args.mode === "select")) {
      throw new UsageError(`No stack "${args.stackName}" in the fake backend. Stacks that exist: ${this.exists ? this.stackName : "none"}.`);
    }
    this.exists = true;
    return this.door(args.signal);
  }

  /** Scripts the next `up`s, in order; once the script is used up, `up` succeeds. */
  onUp(...behaviours: UpBehaviour[]): this {
    this.upScript.push(...behaviours);
    return this;
  }

  /** The next call of `op` (a door method name) throws `error`. */
  failNext(op: keyof EngineDoor, error: Error): this {
    this.failures.set(op, error);
    return this;
  }

  /** Lets a held `up` go on. */
  releaseHeldUp(): void {
    this.held?.();
  }

  /** The long engine operations in order (preview, up, refresh, cancel), from call number `from` on. */
  ops(from = 0): string[] {
    return this.calls.slice(from).filter((c) => longOps.has(c));
  }

  /** The release JSON of the stack config, parsed (undefined when not set). */
  releaseInConfig(config: ConfigMap = this.config): { id: string; gitSha?: string; images: Record<string, string> } | undefined {
    const raw = config["awareness:release"]?.value;
    return raw ? JSON.parse(raw) : undefined;
  }

  /** Records an update of the current config (also usable to seed a history). */
  recordUpdate(result: UpdateSummary["result"], message: string, changes: OpMap = {}): UpdateSummary {
    const startTime = new Date(this.startedAt + (this.updates.length + 1) * 60_000);
    const update: UpdateSummary = {
      kind: "update",
      version: 0,
      startTime,
      endTime: new Date(startTime.getTime() + 20_000),
      message,
      environment: {},
      config: structuredClone(this.config),
      result,
      resourceChanges: changes,
    };
    this.updates.push(update);
    return structuredClone(update);
  }

  /**
   * Pauses the `nth` call of `op` from now (after it is logged, before it acts): `reached`
   * resolves when a run gets there, and the call goes on after `resume()`.
   */
  pauseAt(op: keyof EngineDoor, nth = 1): { reached: Promise<void>; resume(): void } {
    let reached!: () => void;
    let resume!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    const resumeP = new Promise<void>((r) => (resume = r));
    this.pauses.push({ op, left: nth, reached, resume: resumeP });
    return { reached: reachedP, resume };
  }

  /** Called by the doors before each call acts; public so the door class can reach it. */
  async enter(op: string, signal: AbortSignal | undefined, detail = ""): Promise<void> {
    this.calls.push(detail ? `${op} ${detail}` : op);
    if (signal?.aborted) throw new CancelledError(`${op} not started: the run was cancelled`);
    const failure = this.failures.get(op);
    if (failure) {
      this.failures.delete(op);
      throw failure;
    }
    for (const pause of this.pauses.filter((p) => p.op === op)) {
      pause.left -= 1;
      if (pause.left > 0) continue;
      this.pauses.splice(this.pauses.indexOf(pause), 1);
      pause.reached();
      await pause.resume;
      if (signal?.aborted) throw new CancelledError(`${op} not started: the run was cancelled`);
    }
  }

  /** What the door's `up` does, by the script; public so the door class can reach it. */
  async runUp(opts: LongOpOptions, signal: AbortSignal | undefined, behaviour = this.upScript.shift()): Promise<UpResult> {
    const b: UpBehaviour = behaviour ?? { kind: "succeed" };
    switch (b.kind) {
      case "concurrent":
        throw concurrentUpdateError();
      case "fail": {
        const update = this.recordUpdate("failed", opts.message ?? "");
        const record = this.releaseRecord(update);
        for (const name of b.switched ?? []) if (record) this.hostNamed(name).applyRelease(record);
        throw b.error ?? new Error("update failed: remote-compose-stack switch: the containers did not start within 30 s");
      }
      case "hold": {
        const cancelled = await new Promise<boolean>((resolve) => {
          if (signal?.aborted) return resolve(true);
          signal?.addEventListener("abort", () => resolve(true), { once: true });
          this.held = () => resolve(false);
          b.onHold?.();
        });
        this.held = undefined;
        if (cancelled) {
          this.recordUpdate("failed", opts.message ?? "");
          throw new CancelledError("up cancelled (signal): the engine stopped after the step in flight");
        }
        return this.runUp(opts, signal, b.then ?? { kind: "succeed" });
      }
      case "succeed": {
        const update = this.recordUpdate("succeeded", opts.message ?? "", b.changes ?? { update: 1, same: 4 });
        const record = this.releaseRecord(update);
        if (record) {
          this.outputs = { ...this.outputs, release: { value: record, secret: false } };
          if (!this.hosts) this.host?.applyRelease(record);
          if (this.hosts) {
            // A multi-host program: every host switches, and each has its own output; a host a
            // batched rollout pins (awareness:hostReleases) is unchanged: it keeps its output.
            const pins = JSON.parse(update.config["awareness:hostReleases"]?.value ?? "{}") as Record<string, unknown>;
            const before = (this.outputs.hosts?.value ?? {}) as Record<string, { release: ReleaseRecord }>;
            const perHost = Object.keys(this.hosts).map((name) => (pins[name] && before[name] ? before[name].release : { ...record, host: name }));
            for (const r of perHost) if (!pins[r.host]) this.hostNamed(r.host).applyRelease(r);
            this.outputs.release = { value: perHost[0], secret: false };
            this.outputs.hosts = { value: Object.fromEntries(perHost.map((r) => [r.host, { release: r }])), secret: false };
          }
        }
        opts.onOutput?.(`Updating (${this.stackName}):\n ~ awareness-switch updated\nResources:\n`);
        return { result: "succeeded", update, outputs: structuredClone(this.outputs) };
      }
    }
  }

  /** The release record the program outputs for the config of `update`. */
  private releaseRecord(update: UpdateSummary): ReleaseRecord | undefined {
    const release = this.releaseInConfig(update.config);
    if (!release) return undefined;
    const images = Object.fromEntries(Object.entries(release.images).map(([svc, ref]) => [svc, pinned(ref)]));
    const compose = createHash("sha256").update(JSON.stringify([images, update.config["awareness:services"]?.value])).digest("hex");
    return {
      id: release.id,
      gitSha: release.gitSha ?? null,
      images,
      composeSha256: compose,
      composeCommand: update.config["awareness:composeCommand"]?.value === "docker-compose" ? "docker-compose" : "docker compose",
      deployedAt: update.startTime.toISOString(),
      host: "sandbox",
      appDir: this.host?.layout.appDir ?? "/opt/awareness",
    };
  }
}

export class FakeEngine implements EngineDoor {
  constructor(
    readonly stack: FakeStack,
    private readonly signal: AbortSignal | undefined,
  ) {}

  get stackName(): string {
    return this.stack.stackName;
  }

  private enter(op: string, detail = ""): Promise<void> {
    return this.stack.enter(op, this.signal, detail);
  }

  detached(): FakeEngine {
    return new FakeEngine(this.stack, undefined);
  }

  async getConfig(): Promise<ConfigMap> {
    await this.enter("getConfig");
    return structuredClone(this.stack.config);
  }

  async setConfig(values: ConfigMap): Promise<void> {
    if (Object.keys(values).length === 0) return;
    await this.enter("setConfig", Object.keys(values).join(" "));
    this.stack.config = { ...this.stack.config, ...structuredClone(values) };
  }

  async removeConfig(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.enter("removeConfig", keys.join(" "));
    for (const k of keys) delete this.stack.config[k];
  }

  async preview(opts: LongOpOptions): Promise<void> {
    await this.enter("preview");
    this.stack.plans.saved.push(opts.plan);
    const events = typeof this.stack.previewEvents === "function" ? this.stack.previewEvents(structuredClone(this.stack.config)) : this.stack.previewEvents;
    for (const e of events) opts.onEvent?.(structuredClone(e));
  }

  async up(opts: LongOpOptions): Promise<UpResult> {
    await this.enter("up");
    this.stack.plans.followed.push(opts.plan);
    return this.stack.runUp(opts, this.signal);
  }

  async refresh(opts: LongOpOptions & { clearPendingCreates?: boolean }): Promise<void> {
    await this.enter("refresh");
    if (opts.clearPendingCreates) this.stack.pending = [];
  }

  async history(kinds: readonly string[] = ["update"]): Promise<UpdateSummary[]> {
    await this.enter("history");
    return structuredClone([...this.stack.updates].reverse().filter((u) => kinds.includes(u.kind)));
  }

  async tags(): Promise<Record<string, string>> {
    await this.enter("tags");
    return { ...this.stack.tags };
  }

  async setTag(key: string, value: string): Promise<void> {
    await this.enter("setTag", key);
    this.stack.tags[key] = value;
  }

  async outputs(): Promise<OutputMap> {
    await this.enter("outputs");
    return structuredClone(this.stack.outputs);
  }

  async pendingOperations(): Promise<{ type: string; urn: string }[]> {
    await this.enter("pendingOperations");
    return this.stack.pending.map((p) => ({ ...p }));
  }

  /** No file backend here: an engine lock never outlives a run. */
  async clearStaleLock(): Promise<string | undefined> {
    return undefined;
  }

  async cancel(): Promise<void> {
    await this.enter("cancel");
  }
}

export interface FakeDepsOptions {
  stack: FakeStack;
  host: FakeHost;
  /** The prober of every watch (called once per watch with the run's config and host). */
  prober: (config: StackConfig, host: FakeHost) => Prober;
  /** `git status --porcelain`; default: a clean tree. */
  gitStatus?: string;
  ciStatus?: CiStatusSource;
  clock?: Clock;
}

/** RunDeps over the fakes; `hostOpens` lists the config of each openHost. */
export function fakeDeps(opts: FakeDepsOptions): RunDeps & { hostOpens: StackConfig[] } {
  const hostOpens: StackConfig[] = [];
  opts.stack.host ??= opts.host;
  return {
    hostOpens,
    openEngine: async (args) => opts.stack.open(args),
    openHost: (config, index = 0) => {
      hostOpens.push(config);
      return index === 0 ? opts.host : Object.values(opts.stack.hosts ?? {})[index]!;
    },
    prober: (config, door) => opts.prober(config, door instanceof FakeHost ? door : opts.host),
    gitStatus: () => opts.gitStatus ?? "",
    ciStatus: opts.ciStatus,
    clock: opts.clock,
  };
}
