// After the update: the health monitor watches the release, and the verdict makes it
// verified or hands it to the automatic rollback. A cancelled watch leaves the release live
// and recorded as unverified.
import { CancelledError, errorDetail } from "../common/errors.js";
import type { MonitorReport } from "../monitor/monitor.js";
import { hostDisplayName } from "../../components/config/schema.js";
import { combinedProber } from "../monitor/fleet-prober.js";
import { policyFor, watchRelease } from "../monitor/watch.js";
import { failRelease, type DeployUpContext } from "./apply.js";
import { describeDrift, hostDrift, hostLabel, onEveryHost, stackHosts } from "./hosts.js";
import { pauseForDecision, type PauseContext } from "./pause.js";
import { differences } from "./reconcile.js";
import { recordUnverified, recordVerified, type VerifiedRef } from "./releases.js";
import { stage, stop, type RunContext } from "./run.js";

/**
 * Watches `releaseId` on `hosts` (a batch), each host at its own address (healthBaseUrl), its
 * samples named by the host. Without `hosts`: the whole stack, host by host too when every host
 * has its own address, else at the stack's one address (health.baseUrl). The run's signal stops it.
 */
export function watch(ctx: RunContext, releaseId: string, hosts?: readonly string[]): Promise<MonitorReport> {
  const config = ctx.config!;
  const doors = stackHosts(ctx).filter((h) => !hosts || hosts.includes(h.name));
  const own = (name: string) => config.hosts.find((c) => hostDisplayName(c) === name)?.healthBaseUrl;
  // A batch's hosts are always named in its samples; the whole stack only when each host has its own address.
  if (!hosts && !(doors.length > 1 && doors.every((h) => own(h.name)))) {
    return watchRelease({ releaseId, config, host: () => ctx.host!.exec, prober: ctx.deps.prober(config, ctx.host!), log: ctx.log, clock: ctx.deps.clock, signal: ctx.cancellation.signal });
  }
  const probers = doors.map((h) => ({ name: h.name, prober: ctx.deps.prober({ ...config, health: { ...config.health, baseUrl: own(h.name) ?? config.health.baseUrl } }, h.door) }));
  const policy = policyFor(config);
  return watchRelease({
    releaseId,
    config,
    host: () => doors[0]!.door.exec,
    prober: combinedProber(probers),
    policy: { ...policy, checksPerRound: (policy.checksPerRound ?? 1) * probers.length },
    log: ctx.log,
    clock: ctx.deps.clock,
    signal: ctx.cancellation.signal,
  });
}

/** Stack tag and the host's deployment.json: the release passed its watch. */
export async function markVerified(ctx: RunContext, ref: VerifiedRef): Promise<void> {
  // The hosts first: each refuses a release that is not the one it runs, and then nothing is tagged.
  const refused = await onEveryHost(ctx, (door) => door.markVerified(ref.id));
  if (refused.length === 1 && stackHosts(ctx).length === 1) throw refused[0]!.error;
  if (refused.length) throw new Error(`${ref.id} could not be marked verified: ${refused.map((r) => `${hostLabel(ctx, r.host)}${errorDetail(r.error)}`).join(" | ")}`);
  await recordVerified(ctx.engine!.detached(), ref);
  const where = stackHosts(ctx).length > 1 ? `deployment.json on ${stackHosts(ctx).length} hosts` : `${ctx.host!.layout.appDir}/deployment.json`;
  ctx.log.info(`  ${ref.id} marked verified (stack tag and ${where})`);
}

export type WatchContext = DeployUpContext;

/** Before watching: the host must run the release the update applied, else it failed. */
export const monitorRelease = stage<WatchContext>("monitor", async (ctx) => {
  if (ctx.failure) return; // the update already failed it: nothing to watch, the rollback acts
  const id = ctx.release!.id;
  const off = await hostDrift(ctx, ctx.up?.records ?? {}, (record, seen) => differences(record, seen));
  if (off.length) return failRelease(ctx, `after the update the host does not run ${id}: ${describeDrift(ctx, off)}`);
  const monitor = await watch(ctx, id);
  ctx.summary.monitor = monitor;
  if (!ctx.cancellation.signal.aborted) return;
  await recordUnverified(ctx.engine!.detached(), id, ctx.up?.summary.update);
  throw new CancelledError(
    `the watch of ${id} stopped after ${monitor.rounds.length} round(s); ${id} stays live, recorded as unverified ("cancelled during the watch")`,
  );
});

/** Passed: verified. Failed: to the rollback stage, or (monitor.onFailure "pause") held live until promote or abort. */
export const judgeRelease = stage<PauseContext>("verdict", async (ctx) => {
  if (ctx.failure) return; // failed before its watch: the rollback stage acts
  const id = ctx.release!.id;
  const verdict = ctx.summary.monitor!.verdict;
  if (verdict.state === "passed") {
    await markVerified(ctx, { id, update: ctx.up!.summary.update! });
    return stop("deployed-verified", `${id} is live and verified.`);
  }
  const failed = `automatic: ${id} failed its health check (${verdict.detail})`;
  if (ctx.config!.monitor.onFailure !== "pause") return failRelease(ctx, failed);
  const { action, note } = await pauseForDecision(ctx, failed);
  if (action === "abort") return failRelease(ctx, note);
  await markVerified(ctx, { id, update: ctx.up!.summary.update! });
  return stop("promoted", `${id} failed its health check and was paused; ${note}. It is live and verified.`);
});
