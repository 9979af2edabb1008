// The host is the truth. The engine records what a switch was asked to do; an interrupted run
// (SIGKILL, a deadline kill, an SSH drop mid-switch) can leave the host elsewhere, and then
// re-applying a release shows no diff and runs nothing. So before every update the driver
// compares what the host runs with what the state says was applied and, when they differ,
// says so and makes the engine run the switch again; after it, outcomes come from the host.
import { createHash } from "node:crypto";
import type { HostObservation } from "../../components/host-commands/observe.js";
import type { ReleaseRecord } from "../../components/remote-compose-stack.js";
import type { DeployUpContext } from "./apply.js";
import { hostDrift, hostLabel, recordsIn, stackHosts, type HostRecords } from "./hosts.js";
import { reconcileKey } from "./releases.js";
import { stage, type RunContext } from "./run.js";

export { reconcileKey };

/** What a host record must match: the release id, the compose file, each service's image. */
export type Applied = Pick<ReleaseRecord, "id" | "images" | "composeSha256">;

/**
 * How what the host runs differs from `applied` (empty: it runs exactly that). `settling`:
 * containers may still be starting (right after a switch put them back), so only their images
 * count, not their state.
 */
export function differences(applied: Applied, seen: HostObservation, opts: { settling?: boolean } = {}): string[] {
  const out: string[] = [];
  const current = seen.status?.current;
  if (seen.statusProblem) out.push(`its record is unreadable: ${seen.statusProblem}`);
  else if (current?.id !== applied.id) out.push(`deployment.json names ${current?.id ?? "no release"}, not ${applied.id}`);
  if (seen.composeSha256 !== applied.composeSha256) {
    out.push(`the compose file on the host is ${seen.composeSha256?.slice(0, 12) ?? "missing"}, not ${applied.composeSha256.slice(0, 12)}`);
  }
  for (const [service, image] of Object.entries(applied.images)) {
    const c = seen.containers.find((x) => x.service === service);
    if (!c) out.push(`${service} has no container`);
    else if (c.image !== image) out.push(`${service} runs ${c.image}, not ${image}`);
    else if (c.state !== "running" && !opts.settling) out.push(`${service} is ${c.state}`);
  }
  return out;
}

/** What the state says each host was last switched to (the stack outputs), where readable. */
export async function appliedRecords(ctx: RunContext): Promise<HostRecords> {
  return recordsIn(await ctx.engine!.outputs(), ctx);
}

/**
 * Before an update: when a host does not run what the state says was applied to it, the report
 * says how, and a new reconcile token for that host makes the engine run its switch again, so
 * the end state is exactly the intended release. Returns the differences found.
 */
export async function reconcileWithHost(ctx: RunContext, known?: HostRecords): Promise<string[]> {
  const applied = known ?? (await appliedRecords(ctx));
  const drift = await hostDrift(ctx, applied, (record, seen) => differences(record, seen));
  if (drift.length === 0) return []; // nothing applied yet (a first deploy) or every host runs it
  const tokens = JSON.parse((await ctx.engine!.getConfig())[reconcileKey]?.value ?? "{}") as Record<string, string>;
  for (const d of drift) {
    tokens[applied[d.host]!.host] = createHash("sha256").update(`${d.host} ${d.diffs.join()} ${Date.now()}`).digest("hex").slice(0, 16);
  }
  await ctx.engine!.setConfig({ [reconcileKey]: { value: JSON.stringify(tokens), secret: false } });
  const [only] = drift;
  const said =
    stackHosts(ctx).length === 1 && only
      ? `The host differs from the state (it should run ${applied[only.host]!.id}): ${only.diffs.join("; ")}. Its switch runs again.`
      : `The hosts differ from the state: ${drift.map((d) => `${hostLabel(ctx, d.host)}it should run ${applied[d.host]!.id}, ${d.diffs.join("; ")}`).join(" | ")}. Their switch runs again.`;
  ctx.log.warn(said);
  ctx.summary.messages.push(said);
  return drift.flatMap((d) => d.diffs);
}

/** The deploy's reconcile stage: before the preview, so the plan shows a forced switch. */
export const reconcileHost = stage<DeployUpContext>("reconcile", async (ctx) => {
  ctx.previous = await appliedRecords(ctx);
  await reconcileWithHost(ctx, ctx.previous);
});
