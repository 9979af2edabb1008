// Restore (break glass) by release. The host is the truth: its backup sets say which release
// each set of files belonged to, and its deployment.json which release was verified or failed.
// The default is the last verified release; one recorded as failed is refused unless forced.
// The set is put back on the host, the stack config names the restored release, the state is
// refreshed (a failed refresh fails the run), and the release is watched like a rollback.
import { releaseInSetName, type BackupSet, type DeploymentStatus, type VolumeToRestore } from "../../components/host-commands/index.js";
import { CancelledError, errorDetail, firstLine, UsageError } from "../common/errors.js";
import { lastFailedTag, releaseConfig, releaseIn, releaseOf, restoreRefreshPrefix, updateKey, verifiedReleases, verifiedTag, type VerifiedRef } from "./releases.js";
import { stage, stop, type RunContext } from "./run.js";
import { markVerified, watch } from "./watch.js";

export const restoreConfirmWord = "RESTORE";

export interface RestoreFields {
  confirm: string;
  /** A release id (its newest set) or a set's name; default: the last verified release. */
  release?: string | undefined;
  /** Restore a release recorded as failed. */
  force?: boolean | undefined;
  /** Also put back the set's named volume archives (never without it). */
  volumes?: boolean | undefined;
}

export interface RestoreContext extends RunContext {
  readonly request: RestoreFields;
  /** The set to restore (its manifest names its release). */
  target?: BackupSet & { releaseId: string };
  /** What the host ran before the restore. */
  fromId?: string | undefined;
}

export const checkRestoreRequest = stage<RestoreContext>("request", async (ctx) => {
  const { confirm } = ctx.request;
  if (confirm !== restoreConfirmWord) {
    throw new UsageError(`Restore refused: --confirm must be exactly ${restoreConfirmWord} (got ${JSON.stringify(confirm ?? "")}).`);
  }
});

function describeSets(sets: BackupSet[], where: string): string {
  if (sets.length === 0) return `There is no backup set on ${where}.`;
  const each = sets.map((s) => `${s.name} (${s.manifest ? `release ${s.releaseId ?? "unrecorded"}, backed up ${s.manifest.backedUpAt}` : s.problem})`);
  return `Backup sets on ${where} (oldest first): ${each.join(", ")}.`;
}

/** Why `id` counts as failed: the host's record, or the stack tag unless it was verified since. */
function failedRecords(id: string, host: DeploymentStatus | null, tags: Record<string, string>, verified: VerifiedRef[]): string[] {
  const why: string[] = [];
  if (host?.failed?.id === id) why.push(`the host's deployment.json records it as failed at ${host.failed.failedAt}: ${host.failed.reason}`);
  const tag = tags[lastFailedTag];
  const at = tag?.lastIndexOf("@") ?? -1;
  const [tagId, tagUpdate] = tag && at > 0 ? [tag.slice(0, at), Number(tag.slice(at + 1))] : [tag, undefined];
  const verifiedSince = tagUpdate !== undefined && verified.some((v) => v.id === id && v.update >= tagUpdate);
  if (tagId === id && !verifiedSince) why.push(`the stack tag ${lastFailedTag} is ${tag}`);
  return why;
}

export const pickBackupSet = stage<RestoreContext>("target", async (ctx) => {
  const { request } = ctx;
  if (ctx.config!.engine === "swarm") {
    throw new UsageError("Restore refused: engine swarm has no restore from backup sets yet (its files are backed up all the same). Nothing was changed; `rollback` re-deploys a verified release.");
  }
  const where = ctx.host!.exec.address;
  const sets = await ctx.host!.backupSets();
  const record = await ctx.host!.status().catch((err: unknown) => {
    ctx.log.warn(`deployment.json is unreadable (${firstLine(err)}): only the stack tags say what was verified or failed`);
    return null;
  });
  const tags = await ctx.engine!.tags();
  const verified = await verifiedReleases(ctx.engine!);
  ctx.fromId = record?.current?.id;
  const wanted = request.release ?? record?.verified?.id ?? verified[0]?.id;
  if (!wanted) {
    throw new UsageError(
      `Nothing to restore by default: neither deployment.json on ${where} nor the stack tag ${verifiedTag} names a verified release; pick one with --release. ${describeSets(sets, where)}`,
    );
  }
  // A set of the release by its manifest or, when that is unreadable, by its name: the newest
  // one is the one meant, and a damaged one is refused rather than passed over in silence. With
  // --volumes, the newest set that has volume archives (a restore without them makes sets without).
  const ofRelease = sets.filter((s) => (s.releaseId ?? (s.manifest ? undefined : releaseInSetName(s.name))) === wanted);
  const set = sets.find((s) => s.name === wanted) ?? (request.volumes ? ofRelease.filter((s) => s.manifest?.volumes?.length).at(-1) : undefined) ?? ofRelease.at(-1);
  if (!set) {
    const which = request.release ? `release ${wanted}` : `release ${wanted} (the last verified release)`;
    throw new UsageError(`No backup set of ${which} on ${where}. ${describeSets(sets, where)}`);
  }
  if (set.problem) {
    const intact = ofRelease.filter((s) => !s.problem).map((s) => s.name);
    throw new UsageError(
      `Restore refused: backup set ${set.path} on ${where} is damaged: ${set.problem}. Nothing was changed.` +
        (intact.length ? ` Intact sets of ${wanted}: ${intact.join(", ")} (name one with --release).` : ""),
    );
  }
  const id = set.releaseId;
  if (!id) throw new UsageError(`Backup set ${set.name} names no release (its files belonged to none): restore its files by hand.`);
  const failed = failedRecords(id, record, tags, verified);
  if (failed.length > 0 && !request.force) {
    throw new UsageError(`Restore refused: release ${id} is recorded as failed (${failed.join("; ")}). Nothing was changed; --force restores it anyway.`);
  }
  if (request.volumes && !set.manifest?.volumes?.length) {
    throw new UsageError(`Restore refused: backup set ${set.name} (release ${id}) has no volume archive (only a switch of a service with snapshotVolumes makes one). Nothing was changed; without --volumes the files alone are restored.`);
  }
  if (failed.length > 0) ctx.summary.messages.push(`Restoring ${id} although it is recorded as failed (--force): ${failed.join("; ")}.`);
  ctx.target = { ...set, releaseId: id };
  ctx.log.info(`  backup set ${set.name}: release ${id}, backed up ${set.manifest?.backedUpAt ?? "?"}`);
});

/** The set's volume archives, each with the image of its service in the restored release (to mount the volume in). */
function volumesToRestore(set: BackupSet): VolumeToRestore[] {
  const images = set.manifest?.release?.images ?? {};
  return (set.manifest?.volumes ?? []).map((archive) => {
    const image = Object.hasOwn(images, archive.service) ? images[archive.service] : undefined;
    if (!image) throw new UsageError(`Restore refused: the manifest of backup set ${set.name} names no image of service ${archive.service} to reach volume ${archive.name} with. Nothing was changed.`);
    return { ...archive, image };
  });
}

export const restoreBackupSet = stage<RestoreContext>("restore", async (ctx) => {
  const { target, config } = ctx;
  const restored = target!.manifest!.release!;
  const result = await ctx.host!.restoreBackupSet({
    set: target!.name,
    ...(ctx.request.volumes ? { volumes: volumesToRestore(target!) } : {}),
    retainSets: config!.backups.retain,
    startTimeoutSeconds: config!.rollout.startTimeoutSeconds,
    stableChecks: config!.rollout.stableChecks,
  });
  ctx.summary.restore = {
    set: target!.name,
    release: result.release,
    from: ctx.fromId ?? "none",
    backup: result.backup,
    ...(result.volumes.length > 0 ? { volumes: result.volumes } : {}),
  };
  ctx.log.info(`  ${ctx.fromId ?? "none"} -> ${result.release} (${result.restored}); the replaced files are in ${result.backup || "no set (there were none)"}`);
  if (result.volumes.length > 0) ctx.log.info(`  volumes put back: ${result.volumes.join(", ")} (their contents before are in ${result.backup || "no set"})`);
  // The stack config follows the host: the release of the set (id, gitSha, images as its
  // manifest names them), env as configured now; the next `up` starts from what runs.
  const current = releaseIn(await ctx.engine!.getConfig(), "the stack config awareness:release");
  const { gitSha: _replaced, ...rest } = { env: {}, ...current };
  const release = { ...rest, id: restored.id, images: restored.images, ...(restored.gitSha ? { gitSha: restored.gitSha } : {}) };
  await ctx.engine!.setConfig(releaseConfig(release));
  ctx.summary.release = release;
});

export const refreshAfterRestore = stage<RestoreContext>("refresh", async (ctx) => {
  const { set, release } = ctx.summary.restore!;
  try {
    await ctx.engine!.refresh({ message: `${restoreRefreshPrefix}${release} from backup set ${set}` });
  } catch (err) {
    if (err instanceof CancelledError || ctx.cancellation.signal.aborted) throw err;
    throw new Error(`The refresh after the restore failed: ${errorDetail(err)} (the host runs ${release} from backup set ${set}; the stack config names it).`);
  }
});

/** The verified ref for `id`: its newest entry in the stack tag, else the newest update that deployed it. */
async function verifiedRefFor(ctx: RunContext, id: string): Promise<VerifiedRef | undefined> {
  const tagged = (await verifiedReleases(ctx.engine!)).find((v) => v.id === id);
  if (tagged) return tagged;
  const deployed = (await ctx.engine!.history()).find((u) => {
    try {
      return u.result === "succeeded" && releaseOf(u)?.id === id;
    } catch {
      return false;
    }
  });
  return deployed ? { id, update: updateKey(deployed) } : undefined;
}

export const watchRestored = stage<RestoreContext>("watch", async (ctx) => {
  const { set, release: id } = ctx.summary.restore!;
  const monitor = await watch(ctx, id);
  ctx.summary.monitor = monitor;
  if (ctx.cancellation.signal.aborted) {
    throw new CancelledError(`${id} was restored; its watch was cancelled after ${monitor.rounds.length} round(s), it stays live unverified`);
  }
  if (monitor.verdict.state !== "passed") {
    return stop("restore-failed", `${id} was restored from backup set ${set} but failed its health check (${monitor.verdict.detail}); it stays live.`);
  }
  const ref = await verifiedRefFor(ctx, id);
  if (ref) {
    await markVerified(ctx, ref);
  } else {
    await ctx.host!.markVerified(id);
    ctx.summary.messages.push(`${id} is verified on the host only: no update in the stack history deployed it, so \`rollback\` cannot pick it.`);
  }
  return stop("restored", `Restored ${id} from backup set ${set}; it passed its health check and is verified.`);
});
