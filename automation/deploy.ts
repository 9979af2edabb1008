// deploy = lock -> prechecks -> preview-as-precheck -> up -> health monitor -> verdict.
// A failed verdict rolls back by itself to the last verified release (up with its config),
// which is watched again. The lock is released in `finally`, whatever happened.
import type { ConfigMap, EngineEvent } from "@pulumi/pulumi/automation/index.js";
import { ConcurrentUpdateError } from "@pulumi/pulumi/automation/index.js";
import { ConfigError, parseStackConfig, rawFromAutomationConfig } from "../components/config/parse.js";
import type { StackConfig } from "../components/config/schema.js";
import { watchRelease } from "./health.js";
import { HostOps } from "./host/operations.js";
import { lockHolder, takeHostLock } from "./lock.js";
import { HostUnreachableError } from "./host/ssh.js";
import type { Clock, MonitorReport } from "./monitor/monitor.js";
import { describePlan, planFromEvents } from "./preview-policy.js";
import { runPrechecks, type CiStatusSource } from "./prechecks.js";
import {
  recordFailed,
  recordVerified,
  releaseDataKeys,
  releaseKey,
  verifiedReleases,
  type ReleaseSpec,
} from "./releases.js";
import { rollbackTo, upRelease, type UpOutcome } from "./rollout.js";
import { DeadlineExceededError, firstLine } from "./runner.js";
import { openSession, type EngineTarget, type Logger, type Session } from "./session.js";
import { ExitCode, newSummary, type RunSummary } from "./summary.js";

export interface DeployRequest extends EngineTarget {
  stackName: string;
  releaseId: string;
  gitSha?: string | undefined;
  /** Service -> image reference; services not named keep the image of the current release. */
  images?: Record<string, string> | undefined;
  env?: Record<string, string> | undefined;
  skipCiCheck?: boolean;
  allowDirty?: boolean;
  /** Queue behind a deploy in progress instead of failing. */
  waitLock?: boolean;
  waitLockTimeoutMs?: number;
  /** A host lock older than this is abandoned and broken (default one hour). */
  staleLockSeconds?: number;
  /** Our own bound on each `up` (default 15 min). */
  upDeadlineMs?: number | undefined;
  /** After the deadline, how long the engine may take to cancel before it is killed (default 60 s). */
  upGraceMs?: number | undefined;
  ciStatus?: CiStatusSource | undefined;
  log?: Logger;
  clock?: Clock;
  /** Cancels the run (the CLI aborts it on SIGTERM/SIGINT): the engine update is cancelled, locks released. */
  signal?: AbortSignal;
  /** Lets tests watch each stage (e.g. stop the process mid-up). */
  onStage?: (stage: string) => void;
}

export function engineTarget(t: EngineTarget): EngineTarget {
  return { envVars: t.envVars, workDir: t.workDir, backendUrl: t.backendUrl };
}

/** The new release: the current release's images, overridden by the request. */
export function nextRelease(current: ReleaseSpec | undefined, req: DeployRequest): ReleaseSpec {
  return {
    id: req.releaseId,
    ...(req.gitSha ? { gitSha: req.gitSha } : {}),
    images: { ...(current?.images ?? {}), ...(req.images ?? {}) },
    env: req.env ?? current?.env ?? {},
  };
}

/** The stack config as it would be with `release`, validated (throws ConfigError). */
export function configWithRelease(all: ConfigMap, release: ReleaseSpec): StackConfig {
  return parseStackConfig({ ...rawFromAutomationConfig(all), [releaseKey]: JSON.stringify(release) });
}

export async function deploy(req: DeployRequest): Promise<RunSummary> {
  const summary = newSummary("deploy", req.stackName);
  const log = req.log ?? { info: () => {}, warn: () => {} };
  const stage = (name: string) => {
    req.onStage?.(name);
    log.info(`== ${name}`);
  };
  let session: Session | undefined;
  let ops: HostOps | undefined;
  const holder = lockHolder();
  let locked = false;
  try {
    stage("config");
    session = await openSession({ ...engineTarget(req), stackName: req.stackName, log });
    const stack = session.stack;
    const before = await stack.getAllConfig();
    const current = before[releaseKey]?.value ? (JSON.parse(before[releaseKey].value) as ReleaseSpec) : undefined;
    const release = nextRelease(current, req);
    summary.release = release;
    // Validate the whole new config before any remote command runs.
    const config = configWithRelease(before, release);
    ops = new HostOps(session.host(config), session.layout(config));

    stage("lock");
    try {
      const lock = await takeHostLock(ops, {
        holder,
        releaseId: release.id,
        stackName: req.stackName,
        staleSeconds: req.staleLockSeconds,
        wait: req.waitLock,
        waitTimeoutMs: req.waitLockTimeoutMs,
        log,
      });
      locked = lock.acquired;
      if (lock.acquired) summary.messages.push(...lock.notes);
      else {
        summary.outcome = "lock-held";
        summary.exitCode = ExitCode.LockHeld;
        summary.messages.push(lock.message);
      }
    } catch (err) {
      if (!(err instanceof HostUnreachableError)) throw err;
      // The lock lives on the host: an unreachable host is the first failed precheck.
      summary.prechecks.push({ name: "ssh reachable", ok: false, detail: err.message });
      summary.outcome = "blocked";
      summary.exitCode = ExitCode.Blocked;
      summary.messages.push(`Blocked: ${err.message}. Nothing was changed.`);
      return summary;
    }
    if (!locked) return summary;

    stage("prechecks");
    const verified = await verifiedReleases(stack);
    const rollbackTarget = verified.find((v) => v.id !== release.id) ?? verified[0];
    const hostStatus = await ops.status().catch(() => null);
    const rollbackImages =
      hostStatus?.verified && rollbackTarget && hostStatus.verified.id === rollbackTarget.id
        ? Object.values(hostStatus.verified.images)
        : undefined;
    summary.prechecks = await runPrechecks({
      config,
      release,
      host: ops,
      skipCiCheck: req.skipCiCheck ?? false,
      ciStatus: req.ciStatus,
      allowDirty: req.allowDirty ?? false,
      rollbackImages,
      rollbackReleaseId: rollbackTarget?.id,
    });
    for (const p of summary.prechecks) log.info(`  ${p.ok ? "pass" : "FAIL"} ${p.name}: ${p.detail}`);
    const failed = summary.prechecks.filter((p) => !p.ok);
    if (failed.length) {
      summary.outcome = "blocked";
      summary.exitCode = ExitCode.Blocked;
      summary.messages.push(`Blocked by prechecks: ${failed.map((f) => f.name).join(", ")}. The host was not changed.`);
      return summary;
    }

    stage("preview");
    await stack.setAllConfig({ [releaseKey]: { value: JSON.stringify(release), secret: false } });
    const events: EngineEvent[] = [];
    await stack.preview({ onEvent: (e) => events.push(e), message: `preview ${release.id}` });
    const plan = planFromEvents(events, config.replacePolicy.allow);
    summary.preview = { ops: plan.ops, plan: describePlan(plan), blocked: plan.blocked.map((s) => `${s.op} ${s.type} ${s.name}`) };
    for (const line of summary.preview.plan) log.info(`  ${line}`);
    if (plan.blocked.length) {
      await restoreConfig(session, before);
      summary.outcome = "blocked";
      summary.exitCode = ExitCode.Blocked;
      summary.messages.push(
        `Blocked by the replace policy: ${summary.preview.blocked.join("; ")}. Allow them in awareness:replacePolicy.allow ` +
          "if they are intended. The host was not changed.",
      );
      return summary;
    }

    stage("up");
    const up = await upRelease(session, {
      message: `deploy ${release.id}`,
      deadlineMs: req.upDeadlineMs,
      graceMs: req.upGraceMs,
      log,
      signal: req.signal,
    });
    summary.up = up.summary;
    if (!up.ok) {
      // The program undoes a failed start on the host itself; put the config back too, so
      // the stack says what runs.
      await restoreConfig(session, before);
      await recordFailed(stack, release.id, up.summary.update);
      summary.outcome = up.error instanceof ConcurrentUpdateError ? "lock-held" : "up-failed";
      summary.exitCode = up.error instanceof ConcurrentUpdateError ? ExitCode.LockHeld : ExitCode.FailedRolledBack;
      summary.messages.push(
        up.error instanceof ConcurrentUpdateError
          ? "Another update of this stack is running (engine lock). Nothing was changed."
          : up.error instanceof DeadlineExceededError
            ? up.error.message
            : req.signal?.aborted
            ? "Cancelled during the update (signal): the engine stopped after the step in flight; the locks are released " +
              "and the next deploy re-applies the intended state."
            : `The update failed; the previous release is still running (the switch undoes itself on a failed start). ${up.summary.error ?? ""}`,
      );
      if (!verified.length) summary.messages.push("No verified release exists yet.");
      return summary;
    }
    summary.release = { ...release, images: up.releaseImages ?? release.images };

    stage("monitor");
    const monitor = await watchRelease({ releaseId: release.id, config, host: () => session!.host(config), log, clock: req.clock });
    summary.monitor = monitor;
    if (monitor.verdict.state === "passed") {
      await markVerified(session, ops, release.id, up.summary.update!, log);
      summary.outcome = "deployed-verified";
      summary.exitCode = ExitCode.Ok;
      summary.messages.push(`${release.id} is live and verified.`);
      return summary;
    }

    await recordFailed(stack, release.id, up.summary.update);
    const target = verified.find((v) => v.id !== release.id);
    if (!target) {
      summary.outcome = "failed-no-rollback";
      summary.exitCode = ExitCode.FailedNoRollback;
      summary.messages.push(
        `${release.id} failed its health check and there is no verified release to roll back to (first deploy): ` +
          "the host is left as the update left it.",
      );
      return summary;
    }
    stage(`rollback to ${target.id}`);
    const reason = `automatic: ${release.id} failed its health check (${(monitor.verdict as { detail: string }).detail})`;
    const rb = await rollbackTo(session, ops, config, target, reason, { log, deadlineMs: req.upDeadlineMs, clock: req.clock });
    summary.rollback = { from: release.id, to: target.id, reason, up: rb.up, monitor: rb.monitor };
    if (rb.ok) {
      summary.outcome = "rolled-back";
      summary.exitCode = ExitCode.FailedRolledBack;
      summary.messages.push(`${release.id} was rolled back to ${target.id}, which passed its health check again.`);
    } else {
      summary.outcome = "rollback-failed";
      summary.exitCode = ExitCode.FailedNoRollback;
      summary.messages.push(`Rolling back to ${target.id} did not bring a healthy release back: ${rb.error ?? "see the monitor"}.`);
    }
    return summary;
  } catch (err) {
    summary.outcome = err instanceof ConfigError ? "invalid-config" : "error";
    summary.exitCode = err instanceof ConfigError ? ExitCode.Usage : ExitCode.Unexpected;
    summary.messages.push(err instanceof ConfigError ? err.message : firstLine(err));
    return summary;
  } finally {
    if (locked && ops) {
      await ops.unlock(holder).catch((err: unknown) => {
        summary.messages.push(`Could not release the host lock: ${firstLine(err)}`);
      });
    }
    session?.close();
    summary.finishedAt = new Date().toISOString();
  }
}

async function restoreConfig(session: Session, before: ConfigMap): Promise<void> {
  const now = await session.stack.getAllConfig();
  for (const key of releaseDataKeys) {
    if (before[key]) await session.stack.setAllConfig({ [key]: before[key] });
    else if (now[key]) await session.stack.removeConfig(key);
  }
}

export async function markVerified(
  session: Session,
  ops: HostOps,
  releaseId: string,
  update: number,
  log: Logger,
): Promise<void> {
  await recordVerified(session.stack, { id: releaseId, update });
  await ops.markVerified(releaseId);
  log.info(`  ${releaseId} marked verified (stack tag and ${ops.layout.appDir}/deployment.json)`);
}

export type { UpOutcome, MonitorReport };
