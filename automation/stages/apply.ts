// Applying a release to the host through the engine: `up` under our own deadline with
// progress streamed; a second signal kills the engine and clears its lock at once.
import { ConcurrentUpdateError } from "@pulumi/pulumi/automation/index.js";
import type { ReleaseRecord } from "../../components/remote-compose-stack.js";
import { firstLine } from "../common/errors.js";
import { HostUnreachableError } from "../host/ssh.js";
import { redactText } from "../report/redact.js";
import type { Logger } from "../common/log.js";
import type { UpSummary } from "../report/summary.js";
import type { EngineDoor } from "../runner.js";
import { DeadlineExceededError, killEngineProcesses } from "../toolchain/processes.js";
import type { ApplyContext } from "./preview.js";
import { describeDrift, hostDrift, hostLabel, onEveryHost, recordsIn, stackHosts, type HostRecords } from "./hosts.js";
import { differences } from "./reconcile.js";
import { recordFailed, updateKey, verifiedReleases, type VerifiedRef } from "./releases.js";
import { stage, stop, type RunContext, type Stop } from "./run.js";
import { isPhaseLine, UpPhaseRecorder } from "./up-phases.js";

export interface UpOutcome {
  ok: boolean;
  summary: UpSummary;
  /** The release record the program outputs for the primary host (what the switch applied), when readable. */
  record?: ReleaseRecord;
  /** The record of every host, by host name. */
  records: HostRecords;
  error?: unknown;
}

export interface UpOptions {
  message: string;
  deadlineMs?: number | undefined;
  /** How long a cancelled engine may take to stop before it is killed. */
  graceMs?: number | undefined;
  /** The update plan the run's preview saved: the update may do only what it holds. */
  plan?: string | undefined;
}

/** Engine output worth a line: long lines (the plugin repeats whole scripts) are cut. */
function progressLine(line: string): string | undefined {
  const t = line.trimEnd();
  if (t.trim() === "" || /^\s*\.+$/.test(t) || isPhaseLine(t)) return undefined;
  return t.length > 240 ? `${t.slice(0, 240)} … (${t.length} chars)` : t;
}

/**
 * A cancelled or killed update can leave operations pending in the state. Pending updates
 * and deletes are re-planned by the next update; pending creates block it, so they are
 * cleared with a refresh (the commands they stand for are re-run by the next `up`).
 */
export async function clearInterruptedOperations(engine: EngineDoor, log: Logger): Promise<void> {
  const pending = await engine.pendingOperations();
  if (pending.length === 0) return;
  await engine.refresh({ clearPendingCreates: true, message: "clear operations interrupted by a cancelled run" });
  log.warn(`cleared ${pending.length} operation(s) an interrupted run left pending: ${pending.map((p) => `${p.type} ${p.urn.split("::").at(-1)}`).join(", ")}`);
}

/** `up` of whatever release data the stack config holds now. Never throws for a failed update. */
export async function applyStackConfig(ctx: RunContext, opts: UpOptions): Promise<UpOutcome> {
  const engine = ctx.engine!;
  const started = Date.now();
  const phases = new UpPhaseRecorder();
  // A second signal cannot wait for the engine: kill it, and clear the update lock it leaves.
  const urgent = ctx.cancellation.onUrgent(async () => {
    killEngineProcesses();
    await engine.detached().cancel();
  });
  try {
    // An engine killed earlier in this run (a deadline) leaves its update lock behind.
    const cleared = await engine.clearStaleLock();
    if (cleared) ctx.log.warn(cleared);
    await clearInterruptedOperations(engine, ctx.log);
    const result = await engine.up({
      // Who ran it, in the stack's history too.
      message: `${ctx.actor.who}: ${opts.message}`.slice(0, 400),
      deadlineMs: opts.deadlineMs,
      graceMs: opts.graceMs,
      plan: opts.plan,
      onEvent: phases.onEvent,
      onOutput: (out) => {
        for (const raw of out.split("\n")) {
          // Masked before it is shortened: a cut must never leave half a secret.
          const line = progressLine(redactText(raw, ctx.secrets));
          if (line) ctx.log.info(`  | ${line}`);
        }
      },
    });
    const records = recordsIn(result.outputs, ctx, (host, err) =>
      ctx.log.warn(`the update succeeded but the release output of host ${host} is unreadable: ${firstLine(err)}`),
    );
    const record = stackHosts(ctx)[0] ? records[stackHosts(ctx)[0]!.name] : undefined;
    return {
      ok: result.result === "succeeded",
      records,
      summary: {
        result: result.result,
        durationMs: Date.now() - started,
        update: updateKey(result.update),
        changes: result.update.resourceChanges ?? {},
        phases: phases.phases(),
      },
      ...(record ? { record } : {}),
    };
  } catch (err) {
    const upPhases = phases.phases();
    const [latest] = await engine.detached().history().catch(() => []);
    return {
      ok: false,
      records: {},
      error: err,
      summary: {
        result: "failed",
        durationMs: Date.now() - started,
        update: latest ? updateKey(latest) : undefined,
        error: hostError(err),
        phases: upPhases,
      },
    };
  } finally {
    urgent();
  }
}

export interface DeployUpContext extends ApplyContext {
  upOptions: Omit<UpOptions, "message">;
  up?: UpOutcome;
  /** What the state said each host ran before this run (read by the reconcile stage). */
  previous?: HostRecords | undefined;
  /** Set when the new release failed: the rollback stage acts on it. */
  failure?: { reason: string; target?: VerifiedRef };
  /** A batched rollout that stopped: the hosts it never switched (their records do not name the failed release). */
  unreached?: readonly string[];
}

/**
 * The deploy's update. A cancel or a held engine lock ends the run as such; a failed update is
 * judged on the host: still the previous release -> up-failed; anything else -> the release is
 * failed and the automatic rollback brings the last verified release back.
 */
export const upRelease = stage<DeployUpContext>("up", async (ctx) => {
  if (ctx.failure) return; // a batch of the rollout failed: the rollback acts
  const release = ctx.release!;
  const up = await applyStackConfig(ctx, { ...ctx.upOptions, message: `deploy ${release.id}`, plan: ctx.planFile });
  ctx.up = up;
  ctx.summary.up = up.summary;
  if (up.ok) {
    ctx.applied = true;
    ctx.summary.release = { ...release, images: up.record?.images ?? release.images };
    return;
  }
  if (ctx.cancellation.signal.aborted || up.error instanceof ConcurrentUpdateError) throw up.error;
  const why = up.error instanceof DeadlineExceededError ? up.error.message : `The update failed: ${up.summary.error ?? ""}`;
  const previous = ctx.previous ?? {};
  const before = Object.values(previous)[0];
  if (!before) return failRelease(ctx, `${why} (a first deploy: nothing ran before it)`);
  // The failed switch has just put the previous files back and started them: judge files,
  // record and images on every host (its containers may still be starting).
  const off = await hostDrift(ctx, previous, (record, seen) => differences(record, seen, { settling: true })).catch((err: unknown) => {
    if (err instanceof HostUnreachableError) ctx.summary.messages.push(why); // the run ends on the host's silence: keep why the update failed
    throw err;
  });
  if (off.length === 0) {
    await recordFailure(ctx, release.id, why);
    const where = stackHosts(ctx).length > 1 ? "checked on every host" : "checked on the host";
    return stop("up-failed", `${why} The previous release ${before.id} still runs (${where}).`);
  }
  return failRelease(ctx, `${why} The host no longer runs the previous release: ${describeDrift(ctx, off)}`);
});

/** Records the release failed and picks the rollback target; no target ends the run. */
export async function failRelease(ctx: DeployUpContext, reason: string): Promise<Stop | void> {
  const id = ctx.release!.id;
  // Recording the failure and finding the rollback target are independent: the rollback starts sooner.
  const [, verified] = await Promise.all([recordFailure(ctx, id, reason), verifiedReleases(ctx.engine!)]);
  const target = verified.find((v) => v.id !== id);
  ctx.failure = { reason, ...(target ? { target } : {}) };
  if (!target) {
    return stop("failed-no-rollback", `${id} failed (${reason}) and there is no verified release to roll back to (first deploy): the host is left as it is.`);
  }
}

/** A failed release in the stack tag and on the host (a restore reads the host when the stack state is gone). */
async function recordFailure(ctx: DeployUpContext, id: string, reason: string): Promise<void> {
  // deployment.json is readable by every user of the host and holds one line per record: the
  // reason goes there masked and on one line (a host's error can quote an app's secret).
  const onHost = redactText(reason, ctx.secrets).replace(/\s*[\r\n]+\s*/g, " | ");
  // The stack tag and the hosts' records at once (neither depends on the other).
  const [, refused] = await Promise.all([
    recordFailed(ctx.engine!.detached(), id, ctx.up?.summary.update),
    onEveryHost(ctx, (door) => door.markFailed(id, onHost), (host) => !ctx.unreached?.includes(host)),
  ]);
  for (const f of refused) {
    ctx.log.warn(`could not record ${id} as failed on ${hostLabel(ctx, f.host) || "the host: "}${firstLine(f.error)}`);
  }
}

/**
 * The host's own words from a failed update. The command plugin's error repeats the whole
 * script (`running "<command>":`); the lines after it are what the host said.
 */
export function hostError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const fromDiagnostics = text.includes("Diagnostics:") ? text.slice(text.indexOf("Diagnostics:")) : text;
  // The stack's outputs follow the diagnostics (file lists of an earlier update): not the host's words.
  const diagnostics = fromDiagnostics.split(/^\s*Outputs:\s*$/m)[0]!;
  const seen = new Set<string>();
  const lines = diagnostics
    .split("\n")
    .map((l) => l.trim())
    .filter(
      (l) =>
        l !== "" &&
        !l.includes('running "') &&
        !isPhaseLine(l) &&
        !/^(Diagnostics:|warning:|error: update failed|pulumi:pulumi:Stack|command:remote:Command \(|Resources:|Duration:|[~+-] \d+ |\d+ (unchanged|errored))/.test(l) &&
        !/using pulumi-resource-/.test(l),
    )
    .filter((l) => !seen.has(l) && Boolean(seen.add(l)));
  return lines.slice(0, 8).join("\n") || firstLine(err);
}
