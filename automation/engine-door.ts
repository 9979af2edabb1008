// What the stages ask of the engine (the door), and the options of its calls: the types only.
// The real door is runner.ts's Engine; unit tests put test/support/fake-engine.ts behind it.
import type { ConfigMap, EngineEvent, OutputMap, PulumiFn, UpdateSummary } from "@pulumi/pulumi/automation/index.js";
import type { Logger } from "./common/log.js";
import type { PluginRequirement } from "./toolchain/versions.js";

/** Where the engine keeps a stack; defaults: the repository root and the default backend. */
export interface EngineTarget {
  /** Extra environment for the engine (tests add the command plugin's PATH here). */
  envVars?: Record<string, string> | undefined;
  /** The folder with Pulumi.yaml and Pulumi.<stack>.yaml. */
  workDir?: string | undefined;
  backendUrl?: string | undefined;
}

/** select: it must exist; deploy: also created when the work dir has its Pulumi.<stack>.yaml; create: create or select. */
export type OpenMode = "select" | "deploy" | "create";

export interface OpenEngineArgs extends EngineTarget {
  stackName: string;
  program: PulumiFn;
  mode: OpenMode;
  /** Resource plugins the program needs; checked (and installed when allowed) before use. */
  plugins?: PluginRequirement[];
  /** The run's cancel signal: every call observes it (see Engine.detached for wind-down work). */
  signal?: AbortSignal | undefined;
  log?: Logger | undefined;
  /** The work dir is the run's own (no one else writes its stack file): config reads are cached. */
  privateWorkDir?: boolean | undefined;
}

export interface LongOpOptions {
  message?: string;
  onEvent?: (event: EngineEvent) => void;
  onOutput?: (out: string) => void;
  deadlineMs?: number | undefined;
  /** After a cancel, how long the engine may take to stop before it is killed. */
  graceMs?: number | undefined;
  /**
   * An update plan file (Pulumi update plans): preview saves the plan there, up is held to
   * the plan there (any step the plan does not hold fails the update before it runs).
   */
  plan?: string | undefined;
}

export interface UpResult {
  result: string;
  update: UpdateSummary;
  outputs: OutputMap;
}

/** What the stages ask of the engine; tests put a fake behind the same interface. */
export interface EngineDoor {
  readonly stackName: string;
  getConfig(): Promise<ConfigMap>;
  setConfig(values: ConfigMap): Promise<void>;
  removeConfig(keys: string[]): Promise<void>;
  preview(opts: LongOpOptions): Promise<void>;
  up(opts: LongOpOptions): Promise<UpResult>;
  refresh(opts: LongOpOptions & { clearPendingCreates?: boolean }): Promise<void>;
  /** Entries of these kinds (default: updates), newest first (secret config shown so it can be re-applied, never printed). */
  history(kinds?: readonly string[]): Promise<UpdateSummary[]>;
  tags(): Promise<Record<string, string>>;
  setTag(key: string, value: string): Promise<void>;
  outputs(): Promise<OutputMap>;
  /** Operations a killed or cancelled update left pending in the state. */
  pendingOperations(): Promise<{ type: string; urn: string }[]>;
  /** Clears the engine's update lock (`pulumi cancel`). */
  cancel(): Promise<void>;
  /** Clears an update lock left by a dead local run (a killed engine); says so when it did. */
  clearStaleLock(): Promise<string | undefined>;
  /** The same stack, not bound to the run's cancel signal: for recording what happened after a cancel. */
  detached(): EngineDoor;
}

/**
 * The stack config as this run last read or wrote it. Only for a run's private work dir (no
 * one else writes its stack file): every config read after the first is then free, where each
 * would start the CLI and decrypt the secrets again.
 */
export interface ConfigCache {
  map?: ConfigMap | undefined;
}
