// A release is data: the stack config keys below are everything that differs between two
// releases. Deploying sets them and runs `up`; rolling back sets them to the values of the
// last verified release (as the engine's history recorded them) and runs `up` again. Which
// releases are verified lives in stack tags (and in the host's deployment.json).
import type { ConfigMap, UpdateSummary } from "@pulumi/pulumi/automation/index.js";
import { parseReleaseJson } from "../../components/config/parse.js";
import type { Release } from "../../components/config/schema.js";
import type { EngineDoor } from "../runner.js";

export const releaseKey = "awareness:release";
/**
 * The config keys a rollback restores; everything else in the stack config is the operator's.
 * Secret env is not among them: the current secrets apply to any release, so a rotated secret
 * never comes back with an old release.
 */
/** The hosts a batched rollout has not reached yet, and the release each keeps (stages/rollout.ts). */
export const hostReleasesKey = "awareness:hostReleases";
export const releaseDataKeys = [releaseKey, hostReleasesKey] as const;
/** Per-host tokens that make a drifted host's switch run again (stages/reconcile.ts). */
export const reconcileKey = "awareness:reconcile";
/**
 * What a run takes from the backend over its copy of the stack file: the release, and the
 * reconcile tokens the last update applied (dropping one would change the switch command and
 * run the switch again for nothing).
 */
export const liveDataKeys: readonly string[] = [...releaseDataKeys, reconcileKey];

/** Stack tags: the newest verified release first, "<release id>@<update key>" each. */
export const verifiedTag = "awareness:verified-releases";
export const lastFailedTag = "awareness:last-failed-release";
/** A release left live without a verdict (its watch was cancelled): "<id>@<update>". */
export const unverifiedTag = "awareness:unverified-release";
const keepVerified = 10;
/** Pulumi Cloud refuses longer stack tag names and values (the CLI's ValidateStackTags). */
export const stackTagLimits = { name: 40, value: 256 } as const;

/**
 * Names one update of the stack: the engine's version number where the backend keeps one
 * (Pulumi Cloud), else its start time in epoch seconds (file backends record version 0).
 */
export function updateKey(u: { version: number; startTime: Date | string }): number {
  return u.version > 0 ? u.version : Math.floor(new Date(u.startTime).getTime() / 1000);
}

export function findUpdate(history: UpdateSummary[], key: number): UpdateSummary | undefined {
  return history.find((u) => updateKey(u) === key);
}

/** A verified release; `update` names the update that deployed it (see updateKey). */
export type { VerifiedRef } from "../report/status-text.js";
import type { VerifiedRef } from "../report/status-text.js";

function parseVerifiedTag(value: string | undefined): VerifiedRef[] {
  if (!value) return [];
  return value
    .split(/\s+/)
    .filter(Boolean)
    .map((item) => {
      const at = item.lastIndexOf("@");
      return { id: item.slice(0, at), update: Number(item.slice(at + 1)) };
    })
    .filter((r) => r.id !== "" && Number.isInteger(r.update) && r.update > 0);
}

/** The newest verified releases that fit in one tag value (at least 3: ids are at most 64 characters). */
function formatVerifiedTag(refs: VerifiedRef[]): string {
  let value = "";
  for (const r of refs.slice(0, keepVerified)) {
    const next = value ? `${value} ${r.id}@${r.update}` : `${r.id}@${r.update}`;
    if (next.length > stackTagLimits.value) break;
    value = next;
  }
  return value;
}

export async function verifiedReleases(engine: EngineDoor): Promise<VerifiedRef[]> {
  return parseVerifiedTag((await engine.tags())[verifiedTag]);
}

export async function recordVerified(engine: EngineDoor, ref: VerifiedRef): Promise<void> {
  const existing = (await verifiedReleases(engine)).filter((r) => r.update !== ref.update);
  await engine.setTag(verifiedTag, formatVerifiedTag([ref, ...existing]));
}

export async function recordFailed(engine: EngineDoor, id: string, update: number | undefined): Promise<void> {
  await engine.setTag(lastFailedTag, update ? `${id}@${update}` : id);
}

export async function recordUnverified(engine: EngineDoor, id: string, update: number | undefined): Promise<void> {
  await engine.setTag(unverifiedTag, update ? `${id}@${update}` : id);
}

/** The release in a config map (the stack's now, or an update's), parsed; undefined when absent. */
export function releaseIn(config: ConfigMap | undefined, where: string): Release | undefined {
  const raw = config?.[releaseKey]?.value;
  return raw ? parseReleaseJson(raw, where) : undefined;
}

export function releaseOf(update: UpdateSummary): Release | undefined {
  return releaseIn(update.config as ConfigMap | undefined, `the config of update ${updateKey(update)}`);
}

/** The release data keys exactly as a past update had them (secret values stay secret). */
export function releaseDataOf(update: UpdateSummary, keys: readonly string[] = releaseDataKeys): ConfigMap {
  const data: ConfigMap = {};
  for (const key of keys) {
    const v = update.config?.[key];
    if (v) data[key] = { value: v.value, secret: v.secret };
  }
  return data;
}

/** Puts the release data keys back to `data` (keys absent from it are removed). */
export async function setReleaseData(engine: EngineDoor, data: ConfigMap, keys: readonly string[] = releaseDataKeys): Promise<void> {
  const now = await engine.getConfig();
  await engine.removeConfig(keys.filter((k) => !data[k] && now[k]));
  // Only what differs: each write starts the CLI (and a secret one more, through stdin).
  const same = (k: string) => now[k]?.value === data[k]!.value && Boolean(now[k]?.secret) === Boolean(data[k]!.secret);
  await engine.setConfig(Object.fromEntries(keys.filter((k) => data[k] && !same(k)).map((k) => [k, data[k]!])));
}

/**
 * The live release is the one the backend last applied: the release data keys of the stack's
 * newest successful update, as its history recorded the config. The history rather than a
 * stack output: it holds the keys exactly as they were set (a secret stays secret), it is what
 * a rollback already re-applies (releaseDataOf), and it names the update that applied it. A
 * failed update is skipped: what it left on the host is the host record's and the next run's
 * reconcile's business, not a release to build on.
 */
export function liveReleaseUpdate(history: UpdateSummary[]): UpdateSummary | undefined {
  return history.find((u) => u.result === "succeeded" && (u.kind === "update" || (u.kind === "refresh" && u.message?.startsWith(restoreRefreshPrefix))));
}

/**
 * A restore puts a backup set back on the host and records its release with a refresh (no `up`:
 * the host already runs it); that refresh, named by this message, applied the live release too.
 */
export const restoreRefreshPrefix = "refresh after restoring ";

/**
 * Puts the live release (from the backend) over the run's copy of the stack file (liveDataKeys);
 * a stack never updated keeps what its file has (a first deploy).
 */
export async function adoptLiveRelease(engine: EngineDoor): Promise<UpdateSummary | undefined> {
  const live = liveReleaseUpdate(await engine.history(["update", "refresh"]));
  if (live) await setReleaseData(engine, releaseDataOf(live, liveDataKeys), liveDataKeys);
  return live;
}

export function releaseConfig(release: Release): ConfigMap {
  return { [releaseKey]: { value: JSON.stringify(release), secret: false } };
}
