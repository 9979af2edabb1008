// Preview as a precheck: the new release is set in the stack config, the engine plans it,
// and any delete or replace the policy does not allow blocks the run. The config is put back
// on the way out unless an update applied the release. The preview saves its update plan,
// and the deploy's `up` is held to it: nothing is applied that the policy did not see.
import { join } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation/index.js";
import type { Release, StackConfig } from "../../components/config/schema.js";
import { splitImageRef } from "../../components/host-commands/images.js";
import type { ReleaseContext } from "./open.js";
import { describePlan, planFromEvents } from "./preview-policy.js";
import { hostReleasesKey, releaseConfig, releaseDataKeys, setReleaseData } from "./releases.js";
import { createPrivateDir } from "../toolchain/run-workdir.js";
import { stop, stage } from "./run.js";

export interface ApplyContext extends ReleaseContext {
  /** Set once an update applied the new release: its config then stays. */
  applied?: boolean;
  /** The update plan the preview saved (a private file, removed when the run ends). */
  planFile?: string;
}

export const previewRelease = stage<ApplyContext>("preview", async (ctx) => {
  const engine = ctx.engine!;
  const release = ctx.release!;
  const before = Object.fromEntries(releaseDataKeys.filter((k) => ctx.before?.[k]).map((k) => [k, ctx.before![k]!]));
  await engine.setConfig(releaseConfig(release));
  // A rollout in batches stopped midway leaves its pins in the live config: a new release pins no host.
  if ((await engine.getConfig())[hostReleasesKey]) await engine.removeConfig([hostReleasesKey]);
  ctx.onEnd(async () => {
    if (!ctx.applied) await setReleaseData(engine.detached(), before);
  });
  const events: EngineEvent[] = [];
  const unpinned = digestsKnownOnlyOnPull(ctx.config!, release);
  const planFile = unpinned.length === 0 ? await privatePlanFile(ctx) : undefined;
  await engine.preview({ onEvent: (e) => events.push(e), message: `preview ${release.id}`, plan: planFile });
  if (planFile) ctx.planFile = planFile;
  const plan = planFromEvents(events, ctx.config!.replacePolicy.allow);
  ctx.summary.preview = {
    ops: plan.ops,
    plan: describePlan(plan),
    blocked: plan.blocked.map((s) => `${s.op} ${s.type} ${s.name}`),
    heldToPlan: planFile !== undefined,
  };
  if (unpinned.length) {
    const why =
      `The update is not held to this preview's plan: the image of ${unpinned.join(", ")} is a tag, whose digest the host ` +
      "learns only when it pulls (the switch's files are unknown until then). Pin images by digest (CI/CD does) to hold every update to its preview.";
    ctx.summary.preview.planNote = why;
    ctx.log.warn(why);
  }
  for (const line of ctx.summary.preview.plan) ctx.log.info(`  ${line}`);
  if (plan.blocked.length) {
    return stop(
      "blocked",
      `Blocked by the replace policy: ${ctx.summary.preview.blocked.join("; ")}. Allow them in awareness:replacePolicy.allow ` +
        "if they are intended. The host was not changed.",
    );
  }
});

/** A path in a fresh folder only this user reads (a plan holds the stack's inputs, secrets encrypted). */
async function privatePlanFile(ctx: ApplyContext): Promise<string> {
  const { dir, dispose } = await createPrivateDir("awareness-plan-");
  ctx.onEnd(dispose);
  return join(dir, "plan.json");
}

/**
 * Services whose image digest is known only once the host pulls it (a tag, resolved on the
 * host): their switch inputs are unknown at preview, which an update plan cannot hold (a
 * secret built from an unknown value reads as a changed value at up).
 */
export function digestsKnownOnlyOnPull(config: StackConfig, release: Pick<Release, "images">): string[] {
  if (config.imageResolver !== "host") return [];
  return Object.entries(config.services)
    .filter(([svc, def]) => !splitImageRef(release.images[svc] ?? def.image ?? "").digest)
    .map(([svc]) => svc);
}
