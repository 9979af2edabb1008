// Applying a release to the host through the engine: `up` under our own deadline with
// progress streamed, and rollback = `up` with the release data of a verified release.
import type { UpdateSummary } from "@pulumi/pulumi/automation/index.js";
import type { StackConfig } from "../components/config/schema.js";
import { watchRelease } from "./health.js";
import type { HostOps } from "./host/operations.js";
import type { Clock, MonitorReport } from "./monitor/monitor.js";
import {
  findUpdate,
  recordVerified,
  releaseKey,
  releaseOf,
  restoreReleaseData,
  updateKey,
  updates,
  type ReleaseSpec,
  type VerifiedRef,
} from "./releases.js";
import { clearInterruptedOperations, firstLine, withDeadline } from "./runner.js";
import type { Logger, Session } from "./session.js";
import type { UpSummary } from "./summary.js";

export interface UpOutcome {
  ok: boolean;
  summary: UpSummary;
  /** Service -> image by digest, from the release record the program outputs. */
  releaseImages?: Record<string, string>;
  error?: unknown;
}

const defaultUpDeadlineMs = 15 * 60_000;

/** Engine diagnostics worth a line: errors, and the plugin's command failures. */
function progressLine(line: string): string | undefined {
  const t = line.trimEnd();
  if (t.trim() === "" || /^\s*\.+$/.test(t)) return undefined;
  // The plugin's errors repeat the whole script; the host's own lines follow separately.
  return t.length > 240 ? `${t.slice(0, 240)} … (${t.length} chars)` : t;
}

export async function upRelease(
  session: Session,
  opts: {
    message: string;
    deadlineMs?: number | undefined;
    log: Logger;
    signal?: AbortSignal | undefined;
    /** How long a cancelled engine may take to stop before it is killed. */
    graceMs?: number | undefined;
  },
): Promise<UpOutcome> {
  const started = Date.now();
  const deadlineMs = opts.deadlineMs ?? defaultUpDeadlineMs;
  try {
    const cleared = await clearInterruptedOperations(session.stack);
    if (cleared) opts.log.warn(cleared);
    const result = await withDeadline("up", deadlineMs, (signal, progress) =>
      session.stack.up({
        message: opts.message,
        signal,
        onOutput: (out) => {
          for (const raw of out.split("\n")) {
            const line = progressLine(raw);
            if (line) {
              progress(line.trim());
              opts.log.info(`  | ${line}`);
            }
          }
        },
      }),
      opts.signal,
      opts.graceMs,
    );
    const record = result.outputs.release?.value as { images?: Record<string, string> } | undefined;
    return {
      ok: result.summary.result === "succeeded",
      summary: {
        result: result.summary.result,
        durationMs: Date.now() - started,
        update: updateKey(result.summary),
        changes: result.summary.resourceChanges ?? {},
      },
      ...(record?.images ? { releaseImages: record.images } : {}),
    };
  } catch (err) {
    const update = await latestUpdate(session).catch(() => undefined);
    return {
      ok: false,
      error: err,
      summary: { result: "failed", durationMs: Date.now() - started, update, error: hostError(err) },
    };
  }
}

/**
 * The host's own words from a failed update. The command plugin's error repeats the whole
 * script (`running "<command>":`); the lines after it are what the host said.
 */
export function hostError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const diagnostics = text.includes("Diagnostics:") ? text.slice(text.indexOf("Diagnostics:")) : text;
  const seen = new Set<string>();
  const lines = diagnostics
    .split("\n")
    .map((l) => l.trim())
    .filter(
      (l) =>
        l !== "" &&
        l.length < 400 &&
        !l.includes('running "') &&
        !/^(Diagnostics:|warning:|error: update failed|pulumi:pulumi:Stack|command:remote:Command \(|Resources:|Duration:|[~+-] \d+ |\d+ (unchanged|errored))/.test(l) &&
        !/using pulumi-resource-/.test(l),
    )
    .filter((l) => !seen.has(l) && Boolean(seen.add(l)));
  return lines.slice(0, 8).join("\n") || firstLine(err);
}

async function latestUpdate(session: Session): Promise<number | undefined> {
  const [latest] = await session.stack.history(1, 1, false);
  return latest ? updateKey(latest) : undefined;
}

export interface RollbackOutcome {
  ok: boolean;
  up: UpSummary;
  monitor?: MonitorReport;
  error?: string;
}

/**
 * Rollback = re-apply the release data of a verified release: the config its update had,
 * with its images pinned to the digests the host recorded when it was verified.
 */
export async function rollbackTo(
  session: Session,
  ops: HostOps,
  config: StackConfig,
  target: VerifiedRef,
  reason: string,
  opts: { log: Logger; deadlineMs?: number | undefined; clock?: Clock | undefined; monitor?: boolean; signal?: AbortSignal | undefined },
): Promise<RollbackOutcome> {
  const { log } = opts;
  const history = await updates(session.stack);
  const update = findUpdate(history, target.update);
  if (!update) throw new Error(`update ${target.update} of ${target.id} is not in the stack history`);
  await restoreReleaseData(session.stack, update);
  const pinned = await pinToVerifiedDigests(session, ops, update, log);
  log.info(`  re-applying ${target.id} (config of update ${target.update}${pinned ? ", images by digest" : ""}): ${reason}`);
  const up = await upRelease(session, {
    message: `rollback to ${target.id}: ${reason}`.slice(0, 200),
    deadlineMs: opts.deadlineMs,
    log,
    signal: opts.signal,
  });
  if (!up.ok) return { ok: false, up: up.summary, error: up.summary.error };
  if (opts.monitor === false) return { ok: true, up: up.summary };
  const monitor = await watchRelease({ releaseId: target.id, config, host: () => session.host(config), log, clock: opts.clock });
  if (monitor.verdict.state === "passed") {
    await recordVerified(session.stack, { id: target.id, update: up.summary.update! });
    await ops.markVerified(target.id).catch((err: unknown) => log.warn(`could not mark ${target.id} verified on the host: ${firstLine(err)}`));
  }
  return { ok: monitor.verdict.state === "passed", up: up.summary, monitor };
}

/** If the host's verified record is this release, use its digests (tags may have moved since). */
async function pinToVerifiedDigests(session: Session, ops: HostOps, update: UpdateSummary, log: Logger): Promise<boolean> {
  const release = releaseOf(update);
  if (!release) return false;
  const status = await ops.status().catch(() => null);
  const verified = status?.verified;
  if (!verified || verified.id !== release.id) {
    const byTag = Object.values(release.images).filter((ref) => !ref.includes("@sha256:"));
    if (byTag.length) log.warn(`${release.id} names images by tag (${byTag.join(", ")}); the host has no digest record of it`);
    return false;
  }
  const pinned: ReleaseSpec = { ...release, images: { ...release.images, ...verified.images } };
  await session.stack.setConfig(releaseKey, { value: JSON.stringify(pinned), secret: false });
  return true;
}
