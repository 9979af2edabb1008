// A fleet rolled out in batches: the canary host(s) first, then batches of rollout.batchSize,
// each its own update (the hosts not reached yet pinned to the release they run, config
// awareness:hostReleases) and each health-gated by a watch of its own hosts before the next
// starts. The last batch is the deploy's own `up` (nothing pinned), watched with the whole fleet
// by the monitor stage. A failed gate fails the release: the automatic rollback re-applies the
// last verified config, which pins nothing, so every host switched so far goes back (with
// monitor.onFailure pause: once abort is decided; a promote goes on with the next batch).
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import type { Release } from "../../components/config/schema.js";
import type { MonitorReport } from "../monitor/monitor.js";
import { applyStackConfig, failRelease } from "./apply.js";
import { describeDrift, hostDrift, stackHosts } from "./hosts.js";
import { differences } from "./reconcile.js";
import { pauseForDecision, type PauseContext } from "./pause.js";
import { hostReleasesKey, releaseKey } from "./releases.js";
import { stage } from "./run.js";
import { watch } from "./watch.js";

/** The hosts of each batch, in order: `canary` first (if any), then `batchSize` at a time. */
export function rolloutBatches(hosts: readonly string[], canary: number, batchSize?: number): string[][] {
  const batches: string[][] = [];
  const first = Math.min(canary, hosts.length);
  if (first > 0) batches.push(hosts.slice(0, first));
  const size = batchSize ?? Math.max(1, hosts.length - first);
  for (let i = first; i < hosts.length; i += size) batches.push(hosts.slice(i, i + size));
  return batches;
}

export interface BatchReport {
  hosts: string[];
  update?: number | undefined;
  verdict: MonitorReport["verdict"]["state"] | "up-failed" | "not-running";
  detail?: string;
  /** monitor.onFailure pause: how the pause of a failed gate ended (promoted: the rollout went on). */
  decision?: string;
}

/** The release every host ran before this run (the config's own release then), or undefined on a first deploy. */
function releaseBefore(before: ConfigMap | undefined): Release | undefined {
  const text = before?.[releaseKey]?.value;
  return text ? (JSON.parse(text) as Release) : undefined;
}

export const rollOutInBatches = stage<PauseContext>("rollout", async (ctx) => {
  const config = ctx.config!;
  const names = stackHosts(ctx).map((h) => h.name);
  const batches = rolloutBatches(names, config.rollout.canary, config.rollout.batchSize);
  if (batches.length <= 1) return;
  const release = ctx.release!;
  const before = releaseBefore(ctx.before);
  if (!before || before.id === release.id) {
    ctx.log.info(`  rollout: ${before ? "a re-apply" : "a first deploy"} goes to all ${names.length} hosts at once`);
    return;
  }
  // Each batch is its own update: the preview's plan (of the whole change) cannot hold any of them.
  ctx.planFile = undefined;
  if (ctx.summary.preview) ctx.summary.preview = { ...ctx.summary.preview, heldToPlan: false, planNote: "a batched rollout: each batch is its own update" };
  const reports: BatchReport[] = [];
  ctx.summary.rollout = reports;
  for (const [i, batch] of batches.slice(0, -1).entries()) {
    const reached = batches.slice(0, i + 1).flat();
    ctx.unreached = names.filter((n) => !reached.includes(n));
    const pins = Object.fromEntries(names.filter((n) => !reached.includes(n)).map((n) => [n, before]));
    ctx.log.info(`== rollout batch ${i + 1}/${batches.length}${i === 0 && config.rollout.canary > 0 ? " (canary)" : ""}: ${batch.join(", ")}`);
    await ctx.engine!.setConfig({ [hostReleasesKey]: { value: JSON.stringify(pins), secret: false } });
    const up = await applyStackConfig(ctx, { ...ctx.upOptions, message: `deploy ${release.id}: batch ${i + 1}/${batches.length} (${batch.join(", ")})` });
    ctx.up = up;
    if (!up.ok) {
      if (ctx.cancellation.signal.aborted) throw up.error;
      reports.push({ hosts: batch, update: up.summary.update, verdict: "up-failed", detail: up.summary.error });
      return failRelease(ctx, `batch ${i + 1} (${batch.join(", ")}) failed its update: ${up.summary.error ?? ""}`);
    }
    const batchRecords = Object.fromEntries(Object.entries(up.records).filter(([n]) => batch.includes(n)));
    const off = await hostDrift(ctx, batchRecords, (record, seen) => differences(record, seen));
    if (off.length) {
      reports.push({ hosts: batch, update: up.summary.update, verdict: "not-running", detail: describeDrift(ctx, off) });
      return failRelease(ctx, `after batch ${i + 1} the host does not run ${release.id}: ${describeDrift(ctx, off)}`);
    }
    const watched = await watch(ctx, release.id, batch);
    const verdict = watched.verdict;
    reports.push({ hosts: batch, update: up.summary.update, verdict: verdict.state, ...(verdict.state === "passed" ? {} : { detail: verdict.detail }) });
    if (verdict.state !== "passed") {
      const failed = `automatic: ${release.id} failed its health check on batch ${i + 1} (${batch.join(", ")}): ${verdict.detail}`;
      if (config.monitor.onFailure !== "pause") return failRelease(ctx, failed);
      // On failure: pause. Abort (or the timeout's abort) rolls back; promote goes on with the next batch.
      const { action, note } = await pauseForDecision(ctx, failed);
      reports.at(-1)!.decision = note;
      if (action === "abort") return failRelease(ctx, note);
      await ctx.host!.clearPause(release.id);
    }
  }
  // The last batch is the deploy's own up: nothing pinned.
  ctx.unreached = undefined;
  await ctx.engine!.removeConfig([hostReleasesKey]);
  ctx.log.info(`== rollout batch ${batches.length}/${batches.length}: ${batches.at(-1)!.join(", ")} (the deploy's up, then the whole fleet is watched)`);
});
