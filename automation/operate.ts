// The operator's other commands: manual rollback, break-glass restore, status, and the
// precheck and preview steps of a deploy on their own.
import type { EngineEvent, UpdateSummary } from "@pulumi/pulumi/automation/index.js";
import { ConfigError } from "../components/config/parse.js";
import type { StackConfig } from "../components/config/schema.js";
import type { DeploymentStatus, LockInfo } from "../components/host-commands/index.js";
import { configWithRelease, engineTarget, nextRelease, type DeployRequest } from "./deploy.js";
import { lockHolder, takeHostLock } from "./lock.js";
import { HostOps } from "./host/operations.js";
import { describePlan, planFromEvents } from "./preview-policy.js";
import { runPrechecks } from "./prechecks.js";
import {
  currentReleaseConfig,
  lastFailed,
  releaseKey,
  releaseOf,
  updateKey,
  updates,
  verifiedReleases,
  type VerifiedRef,
} from "./releases.js";
import { rollbackTo } from "./rollout.js";
import { firstLine } from "./runner.js";
import { openSession, type EngineTarget, type Logger, type Session } from "./session.js";
import { ExitCode, newSummary, type RunSummary } from "./summary.js";

export const confirmWord = "ROLLBACK";

export class UsageError extends Error {
  override name = "UsageError";
}

const quiet: Logger = { info: () => {}, warn: () => {} };

export interface RollbackRequest extends EngineTarget {
  stackName: string;
  reason: string;
  confirm: string;
  to?: string | undefined;
  log?: Logger;
  deadlineMs?: number;
}

/** Refused before anything runs unless `confirm` is exactly ROLLBACK and a reason is given. */
export function checkRollbackRequest(req: Pick<RollbackRequest, "reason" | "confirm">): void {
  if (req.confirm !== confirmWord) {
    throw new UsageError(`Rollback refused: --confirm must be exactly ${confirmWord} (got ${JSON.stringify(req.confirm ?? "")}).`);
  }
  if (!req.reason || !req.reason.trim()) throw new UsageError("Rollback refused: --reason TEXT is required.");
  if (/[\n\r\0]/.test(req.reason)) throw new UsageError("Rollback refused: --reason must be one line.");
}

export function describeCandidates(verified: VerifiedRef[]): string {
  return verified.length
    ? `Verified releases (newest first): ${verified.map((v) => `${v.id} (update ${v.update})`).join(", ")}`
    : "No release has been verified on this stack yet.";
}

async function withHost<T>(
  stackName: string,
  log: Logger,
  target: EngineTarget,
  fn: (s: Session, config: StackConfig, ops: HostOps) => Promise<T>,
): Promise<T> {
  const session = await openSession({ ...engineTarget(target), stackName, log });
  try {
    const config = await session.config();
    return await fn(session, config, new HostOps(session.host(config), session.layout(config)));
  } finally {
    session.close();
  }
}

export async function rollback(req: RollbackRequest): Promise<RunSummary> {
  const summary = newSummary("rollback", req.stackName);
  const log = req.log ?? quiet;
  try {
    checkRollbackRequest(req);
    await withHost(req.stackName, log, req, async (session, config, ops) => {
      const holder = lockHolder();
      const verified = await verifiedReleases(session.stack);
      const hostStatus = await ops.status().catch(() => null);
      const liveId = hostStatus?.current?.id ?? (await currentReleaseConfig(session.stack))?.id;
      const target = req.to ? verified.find((v) => v.id === req.to) : verified.find((v) => v.id !== liveId);
      if (!target) {
        summary.outcome = "error";
        summary.exitCode = ExitCode.Usage;
        summary.messages.push(
          (req.to ? `Unknown rollback target "${req.to}". ` : `No verified release other than the live one (${liveId ?? "none"}). `) +
            describeCandidates(verified),
        );
        return;
      }
      const lock = await takeHostLock(ops, { holder, releaseId: `rollback-${target.id}`, stackName: req.stackName, log });
      if (!lock.acquired) {
        summary.outcome = "lock-held";
        summary.exitCode = ExitCode.LockHeld;
        summary.messages.push(lock.message);
        return;
      }
      summary.messages.push(...lock.notes);
      try {
        log.info(`== rollback ${liveId ?? "?"} -> ${target.id}: ${req.reason}`);
        const rb = await rollbackTo(session, ops, config, target, `manual: ${req.reason}`, { log, deadlineMs: req.deadlineMs });
        summary.release = (await currentReleaseConfig(session.stack)) ?? undefined;
        summary.rollback = { from: liveId ?? "unknown", to: target.id, reason: req.reason, up: rb.up, monitor: rb.monitor };
        summary.outcome = rb.ok ? "rollback-done" : "rollback-failed";
        summary.exitCode = rb.ok ? ExitCode.Ok : ExitCode.FailedNoRollback;
        summary.messages.push(
          rb.ok ? `Rolled back to ${target.id}; it passed its health check.` : `Rollback to ${target.id} failed: ${rb.error ?? "health check failed"}`,
        );
      } finally {
        await ops.unlock(holder).catch(() => undefined);
      }
    });
  } catch (err) {
    summary.outcome = err instanceof UsageError || err instanceof ConfigError ? "invalid-config" : "error";
    summary.exitCode = err instanceof UsageError || err instanceof ConfigError ? ExitCode.Usage : ExitCode.Unexpected;
    summary.messages.push(err instanceof ConfigError ? err.message : firstLine(err));
  }
  summary.finishedAt = new Date().toISOString();
  return summary;
}

/** Break-glass: the host's newest *.backup files put back and started, then the stack refreshed. */
export async function restore(req: EngineTarget & { stackName: string; log?: Logger }): Promise<RunSummary> {
  const summary = newSummary("restore", req.stackName);
  const log = req.log ?? quiet;
  try {
    await withHost(req.stackName, log, req, async (session, _config, ops) => {
      log.info("== restore from the host's newest backups");
      const out = await ops.restoreNewestBackups();
      for (const line of out.split("\n").filter(Boolean)) log.info(`  ${line}`);
      const status = await ops.status().catch(() => null);
      if (status?.current) {
        // The stack config follows the host, so the next `up` starts from what runs.
        const current = await currentReleaseConfig(session.stack);
        await session.stack.setConfig(releaseKey, {
          value: JSON.stringify({ ...current, id: status.current.id, images: status.current.images }),
          secret: false,
        });
        summary.release = { id: status.current.id, images: status.current.images };
      }
      await session.stack.refresh({ message: "refresh after restore from backups" }).catch((err: unknown) => {
        summary.messages.push(`Refresh after the restore failed (the host is restored): ${firstLine(err)}`);
      });
      summary.outcome = "restored";
      summary.exitCode = ExitCode.Ok;
      summary.messages.push(`Restored ${status?.current?.id ?? "the previous files"} from backups; the next deploy re-applies the stack.`);
    });
  } catch (err) {
    summary.outcome = "error";
    summary.exitCode = err instanceof ConfigError ? ExitCode.Usage : ExitCode.Unexpected;
    summary.messages.push(err instanceof ConfigError ? err.message : firstLine(err));
  }
  summary.finishedAt = new Date().toISOString();
  return summary;
}

export interface StatusReport {
  stack: string;
  current?: unknown;
  lastVerified?: VerifiedRef | undefined;
  verified: VerifiedRef[];
  lastFailed?: string | undefined;
  host?: DeploymentStatus | null;
  hostError?: string;
  lock?: LockInfo | null;
  history: { update: number; kind: string; result: string; message: string; startTime: string; release?: string | undefined }[];
}

function historyRow(u: UpdateSummary) {
  return {
    update: updateKey(u),
    kind: u.kind,
    result: u.result,
    message: u.message,
    startTime: new Date(u.startTime).toISOString(),
    release: releaseOf(u)?.id,
  };
}

export async function status(req: EngineTarget & { stackName: string; historySize?: number }): Promise<StatusReport> {
  const session = await openSession({ ...engineTarget(req), stackName: req.stackName, log: quiet });
  try {
    const outputs = await session.stack.outputs();
    const verified = await verifiedReleases(session.stack);
    const report: StatusReport = {
      stack: req.stackName,
      current: outputs.release?.value,
      lastVerified: verified[0],
      verified,
      lastFailed: await lastFailed(session.stack),
      history: (await updates(session.stack)).slice(0, req.historySize ?? 10).map(historyRow),
    };
    try {
      const config = await session.config();
      const ops = new HostOps(session.host(config), session.layout(config));
      report.host = await ops.status();
      report.lock = await ops.lockInfo();
    } catch (err) {
      report.hostError = firstLine(err);
    }
    return report;
  } finally {
    session.close();
  }
}

/** The prechecks of a deploy, alone (nothing is changed, no lock is taken). */
export async function precheck(req: DeployRequest): Promise<RunSummary> {
  const summary = newSummary("precheck", req.stackName);
  try {
    await withHost(req.stackName, req.log ?? quiet, req, async (session, _config, ops) => {
      const release = nextRelease(await currentReleaseConfig(session.stack), req);
      summary.release = release;
      const checked = configWithRelease(await session.stack.getAllConfig(), release);
      const lock = await ops.lockInfo();
      summary.prechecks = await runPrechecks({
        config: checked,
        release,
        host: ops,
        skipCiCheck: req.skipCiCheck ?? false,
        ciStatus: req.ciStatus,
        allowDirty: req.allowDirty ?? false,
      });
      summary.prechecks.push({
        name: "no deployment in progress",
        ok: lock === null,
        detail: lock ? `held by ${lock.holder} (release ${lock.release}, ${lock.ageSeconds} s)` : "host lock free",
      });
      const failed = summary.prechecks.filter((p) => !p.ok);
      summary.outcome = failed.length ? "blocked" : "ok";
      summary.exitCode = failed.length ? ExitCode.Blocked : ExitCode.Ok;
    });
  } catch (err) {
    summary.outcome = err instanceof ConfigError ? "invalid-config" : "error";
    summary.exitCode = err instanceof ConfigError ? ExitCode.Usage : ExitCode.Unexpected;
    summary.messages.push(err instanceof ConfigError ? err.message : firstLine(err));
  }
  summary.finishedAt = new Date().toISOString();
  return summary;
}

/** The plan for a release, checked against the replace policy; the stack config is left as it was. */
export async function preview(req: DeployRequest): Promise<RunSummary> {
  const summary = newSummary("preview", req.stackName);
  const session = await openSession({ ...engineTarget(req), stackName: req.stackName, log: req.log ?? quiet });
  const before = await session.stack.getAllConfig();
  try {
    const release = nextRelease(await currentReleaseConfig(session.stack), req);
    summary.release = release;
    const config = configWithRelease(before, release);
    await session.stack.setConfig(releaseKey, { value: JSON.stringify(release), secret: false });
    const events: EngineEvent[] = [];
    await session.stack.preview({ onEvent: (e) => events.push(e) });
    const plan = planFromEvents(events, config.replacePolicy.allow);
    summary.preview = { ops: plan.ops, plan: describePlan(plan), blocked: plan.blocked.map((s) => `${s.op} ${s.type} ${s.name}`) };
    summary.outcome = plan.blocked.length ? "blocked" : "ok";
    summary.exitCode = plan.blocked.length ? ExitCode.Blocked : ExitCode.Ok;
  } catch (err) {
    summary.outcome = err instanceof ConfigError ? "invalid-config" : "error";
    summary.exitCode = err instanceof ConfigError ? ExitCode.Usage : ExitCode.Unexpected;
    summary.messages.push(err instanceof ConfigError ? err.message : firstLine(err));
  } finally {
    const prev = before[releaseKey];
    if (prev) await session.stack.setAllConfig({ [releaseKey]: prev });
    session.close();
  }
  summary.finishedAt = new Date().toISOString();
  return summary;
}

/** Clears the host deploy lock of a run that died (the lock names its holder; nothing else changes). */
export async function unlock(req: EngineTarget & { stackName: string; log?: Logger }): Promise<{ was: LockInfo | null }> {
  return withHost(req.stackName, req.log ?? quiet, req, async (_session, _config, ops) => {
    const was = await ops.lockInfo();
    if (was) await ops.unlock(lockHolder(), true);
    return { was };
  });
}
