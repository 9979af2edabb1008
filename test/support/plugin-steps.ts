// Helpers for the command-plugin e2e tests: run one engine step (preview/up/destroy/refresh)
// and collect what the facts' per-step table records — engine op and detailed diff per
// resource, ephemeral log lines, warnings and errors — plus the resources in state.
import { existsSync, readFileSync, truncateSync } from "node:fs";
import type { EngineEvent, PulumiFn, Stack } from "@pulumi/pulumi/automation/index.js";
import { DeadlineExceededError, withDeadline } from "../../automation/toolchain/processes.js";

/**
 * Every step runs under a deadline of our own (the driver's withDeadline: one SIGINT, a
 * graceful cancel). It marks the step `timedOut`; how promptly the engine then returns depends
 * on the running command (see the "deadline abort" tests): a plugin that truly hangs needs a
 * hard kill, which the Automation API does not offer.
 */
export const STEP_DEADLINE_MS = 120_000;

export type StepKind = "preview" | "up" | "destroy" | "refresh";

export interface StepResult {
  ok: boolean;
  /** The thrown error's text (CommandError carries the CLI's stderr/stdout). */
  error: string;
  /** Engine ops per resource name, in event order (e.g. create-replacement, replace, delete-replaced). */
  ops: Record<string, string[]>;
  /** Replace keys (`keys` of the step metadata) per resource name, from the last event that had them. */
  replaceKeys: Record<string, string[]>;
  /** detailedDiff per resource name: property path -> kind (update, add, delete, update-replace). */
  diffs: Record<string, Record<string, string>>;
  /** Ephemeral info diagnostics per resource name (one per logged output line). */
  logs: Record<string, string[]>;
  /** Non-ephemeral diagnostics by severity, with the resource name ("" when resource-less). */
  diagnostics: { severity: string; resource: string; message: string; ephemeral: boolean }[];
  /** Preview only: stdout/stderr/create outputs per resource as the engine showed them. */
  previewOutputs: Record<string, Record<string, unknown>>;
  durationMs: number;
  /** The step's deadline (STEP_DEADLINE_MS or opts.deadlineMs) expired and it was cancelled. */
  timedOut: boolean;
}

export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function resourceName(urn: string | undefined): string {
  if (!urn) return "";
  return urn.split("::").pop() ?? "";
}

function isCommandUrn(urn: string | undefined): boolean {
  return !!urn && urn.includes("::command:");
}

export async function runStep(
  stack: Stack,
  kind: StepKind,
  program?: PulumiFn,
  opts: {
    continueOnError?: boolean;
    deadlineMs?: number;
    /**
     * The deadline counts from the moment this holds (polled every 100 ms), not from the
     * step's start: "cancel 2 s into the command" must not depend on how long the engine took
     * to start it on a loaded machine.
     */
    deadlineFrom?: () => boolean;
  } = {},
): Promise<StepResult> {
  const result: StepResult = {
    ok: true,
    error: "",
    ops: {},
    replaceKeys: {},
    diffs: {},
    logs: {},
    diagnostics: [],
    previewOutputs: {},
    durationMs: 0,
    timedOut: false,
  };
  const onEvent = (event: EngineEvent) => {
    const pre = event.resourcePreEvent?.metadata;
    if (pre && isCommandUrn(pre.urn)) {
      const name = resourceName(pre.urn);
      (result.ops[name] ??= []).push(pre.op);
      if (pre.keys) result.replaceKeys[name] = pre.keys;
      if (pre.detailedDiff) {
        const diff = (result.diffs[name] ??= {});
        // The event JSON names the kind `diffKind` (the SDK's type says `kind`): accept both.
        for (const [path, d] of Object.entries(pre.detailedDiff)) {
          const entry = d as unknown as { diffKind?: string; kind?: string };
          diff[path] = entry.diffKind ?? entry.kind ?? "";
        }
      }
      if (kind === "preview" && pre.new?.outputs) {
        result.previewOutputs[name] = pre.new.outputs as Record<string, unknown>;
      }
    }
    const outs = event.resOutputsEvent?.metadata;
    if (outs && kind === "preview" && isCommandUrn(outs.urn) && outs.new?.outputs) {
      result.previewOutputs[resourceName(outs.urn)] = outs.new.outputs as Record<string, unknown>;
    }
    const diag = event.diagnosticEvent;
    if (diag) {
      const name = resourceName(diag.urn);
      const message = diag.message.replace(/\n$/, "");
      if ((diag.severity as string) === "debug") return;
      if (diag.ephemeral && diag.severity === "info") {
        (result.logs[name] ??= []).push(message);
      } else {
        result.diagnostics.push({ severity: diag.severity, resource: name, message, ephemeral: !!diag.ephemeral });
      }
    }
  };
  const started = Date.now();
  const operation = `${kind} (command-plugin e2e step)`;
  const late = opts.deadlineFrom && armDeadlineWhen(opts.deadlineFrom, opts.deadlineMs ?? STEP_DEADLINE_MS);
  try {
    await withDeadline(operation, late ? STEP_DEADLINE_MS : (opts.deadlineMs ?? STEP_DEADLINE_MS), async (signal) => {
      if (kind === "preview") await stack.preview({ onEvent, program, diff: false, signal });
      else if (kind === "up") await stack.up({ onEvent, program, continueOnError: opts.continueOnError, signal });
      else if (kind === "destroy") await stack.destroy({ onEvent, signal });
      else await stack.refresh({ onEvent, signal });
    }, late?.signal);
  } catch (err) {
    result.ok = false;
    result.timedOut = err instanceof DeadlineExceededError || !!late?.expired();
    const message = err instanceof Error ? err.message : String(err);
    result.error = late?.expired() ? `${new DeadlineExceededError(operation, opts.deadlineMs!, undefined).message}\n${message}` : message;
  } finally {
    late?.stop();
  }
  result.durationMs = Date.now() - started;
  return result;
}

/** An abort signal that fires `deadlineMs` after `condition` first holds. */
function armDeadlineWhen(condition: () => boolean, deadlineMs: number) {
  const controller = new AbortController();
  let fired = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = setInterval(() => {
    if (!condition()) return;
    clearInterval(poll);
    timer = setTimeout(() => {
      fired = true;
      controller.abort();
    }, deadlineMs);
  }, 100);
  return {
    signal: controller.signal,
    expired: () => fired,
    stop: () => {
      clearInterval(poll);
      clearTimeout(timer);
    },
  };
}

/** Errors of the step, as `resource: message` (resource-less ones as `: message`). */
export function errorsOf(step: StepResult): string[] {
  return step.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.resource}: ${d.message}`);
}

/** Warnings of one resource. */
export function warningsOf(step: StepResult, resource: string): string[] {
  return step.diagnostics.filter((d) => d.severity === "warning" && d.resource === resource).map((d) => d.message);
}

export interface StateResource {
  type: string;
  id: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/**
 * The command resources in the stack's state, by name. exportStack() runs `stack export
 * --show-secrets`: secrets come back wrapped (see isSecretValue) but in plaintext.
 */
export async function stateResources(stack: Stack): Promise<Record<string, StateResource>> {
  const deployment = await stack.exportStack();
  const resources = (deployment.deployment?.resources ?? []) as {
    urn: string;
    type: string;
    id?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
  }[];
  const byName: Record<string, StateResource> = {};
  for (const r of resources) {
    if (!r.type.startsWith("command:")) continue;
    byName[resourceName(r.urn)] = { type: r.type, id: r.id ?? "", inputs: r.inputs ?? {}, outputs: r.outputs ?? {} };
  }
  return byName;
}

/**
 * A value the state keeps as a secret. exportStack() runs `stack export --show-secrets`, so
 * it arrives as the secret signature with `plaintext` (on disk it is `ciphertext`).
 */
export function isSecretValue(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270" &&
    (typeof v.ciphertext === "string" || typeof v.plaintext === "string")
  );
}

// ---- marker probes: commands that record what they saw, in order ----

export interface MarkerLine {
  tag: string;
  /** PULUMI_COMMAND_STDOUT / STDERR as seen by the command; undefined = unset. */
  out: string | undefined;
  err: string | undefined;
  probeX: string | undefined;
  /** The sshd address the session landed on (remote), or "local". */
  at: string;
}

const UNSET = "<unset>";

/**
 * A shell snippet that appends one line `tag OUT=<b64|<unset>> ERR=… X=… AT=…` to the marker
 * file, then prints `<tag>-out` to stdout and `<tag>-err` to stderr (as the facts' probes do).
 */
export function probe(markerFile: string, tag: string, opts: { print?: boolean } = {}): string {
  const b64 = (v: string) => `$(if [ "\${${v}+set}" = set ]; then printf %s "$${v}" | base64 | tr -d '\\n'; else printf '${UNSET}'; fi)`;
  const at = `$(if [ -n "\${SSH_CONNECTION:-}" ]; then set -- $SSH_CONNECTION; printf %s "$3"; else printf local; fi)`;
  const record =
    `printf '%s OUT=%s ERR=%s X=%s AT=%s\\n' '${tag}' "${b64("PULUMI_COMMAND_STDOUT")}" ` +
    `"${b64("PULUMI_COMMAND_STDERR")}" "\${PROBE_X-${UNSET}}" "${at}" >> '${markerFile}'`;
  const print = opts.print === false ? "" : `; echo '${tag}-out'; echo '${tag}-err' >&2`;
  return record + print;
}

export function readMarkers(markerFile: string): MarkerLine[] {
  if (!existsSync(markerFile)) return [];
  const decode = (v: string): string | undefined => (v === UNSET ? undefined : Buffer.from(v, "base64").toString("utf8"));
  return readFileSync(markerFile, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((line) => {
      const m = /^(\S+) OUT=(\S*) ERR=(\S*) X=(.*) AT=(\S+)$/.exec(line);
      if (!m) throw new Error(`unparsable marker line: ${line}`);
      return {
        tag: m[1]!,
        out: decode(m[2]!),
        err: decode(m[3]!),
        probeX: m[4] === UNSET ? undefined : m[4],
        at: m[5]!,
      };
    });
}

/** Reads and then empties the marker file, so each step's assertions see only its own commands. */
export function takeMarkers(markerFile: string): MarkerLine[] {
  const lines = readMarkers(markerFile);
  if (existsSync(markerFile)) {
    truncateSync(markerFile, 0);
  }
  return lines;
}
