// Preview as a precheck: the new release is set in the stack config, the engine plans it,
// and any delete or replace the policy does not allow blocks the run. The config is put back
// on the way out unless an update applied the release.
import type { EngineEvent } from "@pulumi/pulumi/automation/index.js";
import type { ReleaseContext } from "./open.js";
import { describePlan, planFromEvents } from "./preview-policy.js";
import { releaseConfig, releaseDataKeys, setReleaseData } from "./releases.js";
import { stop, stage } from "./run.js";

export interface ApplyContext extends ReleaseContext {
  /** Set once an update applied the new release: its config then stays. */
  applied?: boolean;
}

export const previewRelease = stage<ApplyContext>("preview", async (ctx) => {
  const engine = ctx.engine!;
  const release = ctx.release!;
  const before = Object.fromEntries(releaseDataKeys.filter((k) => ctx.before?.[k]).map((k) => [k, ctx.before![k]!]));
  await engine.setConfig(releaseConfig(release));
  ctx.onEnd(async () => {
    if (!ctx.applied) await setReleaseData(engine.detached(), before);
  });
  const events: EngineEvent[] = [];
  await engine.preview({ onEvent: (e) => events.push(e), message: `preview ${release.id}` });
  const plan = planFromEvents(events, ctx.config!.replacePolicy.allow);
  ctx.summary.preview = { ops: plan.ops, plan: describePlan(plan), blocked: plan.blocked.map((s) => `${s.op} ${s.type} ${s.name}`) };
  for (const line of ctx.summary.preview.plan) ctx.log.info(`  ${line}`);
  if (plan.blocked.length) {
    return stop(
      "blocked",
      `Blocked by the replace policy: ${ctx.summary.preview.blocked.join("; ")}. Allow them in awareness:replacePolicy.allow ` +
        "if they are intended. The host was not changed.",
    );
  }
});
