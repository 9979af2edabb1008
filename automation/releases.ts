// A release is data: the stack config keys below are everything that differs between two
// releases. Deploying sets them and runs `up`; rolling back sets them to the values of
// the last verified release (as the engine's history recorded them) and runs `up` again.
// Which releases are verified lives in stack tags (and in the host's deployment.json).
import type { ConfigMap, Stack, UpdateSummary } from "@pulumi/pulumi/automation/index.js";

export const releaseKey = "awareness:release";
export const secretEnvKey = "awareness:secretEnv";
/** The config keys a rollback restores; everything else in the stack config is the operator's. */
export const releaseDataKeys = [releaseKey, secretEnvKey] as const;

/** Stack tags: the newest verified release first, "<release id>@<update key>" each. */
export const verifiedTag = "awareness:verified-releases";
export const lastFailedTag = "awareness:last-failed-release";
const keepVerified = 10;

export interface ReleaseSpec {
  id: string;
  gitSha?: string | undefined;
  images: Record<string, string>;
  env?: Record<string, string> | undefined;
}

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

export interface VerifiedRef {
  id: string;
  /** The update that deployed it (see updateKey): its config is the release's exact data. */
  update: number;
}

export function parseVerifiedTag(value: string | undefined): VerifiedRef[] {
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

export function formatVerifiedTag(refs: VerifiedRef[]): string {
  return refs
    .slice(0, keepVerified)
    .map((r) => `${r.id}@${r.update}`)
    .join(" ");
}

async function tagOrUndefined(stack: Stack, key: string): Promise<string | undefined> {
  const tags = await stack.listTags();
  return tags[key];
}

export async function verifiedReleases(stack: Stack): Promise<VerifiedRef[]> {
  return parseVerifiedTag(await tagOrUndefined(stack, verifiedTag));
}

export async function recordVerified(stack: Stack, ref: VerifiedRef): Promise<void> {
  const existing = (await verifiedReleases(stack)).filter((r) => r.update !== ref.update);
  await stack.setTag(verifiedTag, formatVerifiedTag([ref, ...existing]));
}

export async function recordFailed(stack: Stack, id: string, update: number | undefined): Promise<void> {
  await stack.setTag(lastFailedTag, update ? `${id}@${update}` : id);
}

export async function lastFailed(stack: Stack): Promise<string | undefined> {
  return tagOrUndefined(stack, lastFailedTag);
}

/** The release as the stack config holds it now. */
export async function currentReleaseConfig(stack: Stack): Promise<ReleaseSpec | undefined> {
  const all = await stack.getAllConfig();
  const raw = all[releaseKey]?.value;
  return raw ? (JSON.parse(raw) as ReleaseSpec) : undefined;
}

export async function setReleaseConfig(stack: Stack, release: ReleaseSpec): Promise<void> {
  await stack.setConfig(releaseKey, { value: JSON.stringify(release), secret: false });
}

/** The release data keys exactly as a past update had them (secret values stay secret). */
export function releaseDataOf(update: UpdateSummary): ConfigMap {
  const data: ConfigMap = {};
  for (const key of releaseDataKeys) {
    const v = update.config?.[key];
    if (v) data[key] = { value: v.value, secret: v.secret };
  }
  return data;
}

export function releaseOf(update: UpdateSummary): ReleaseSpec | undefined {
  const raw = update.config?.[releaseKey]?.value;
  return raw ? (JSON.parse(raw) as ReleaseSpec) : undefined;
}

/** Puts back the release data of a past update: the next `up` re-applies that release. */
export async function restoreReleaseData(stack: Stack, update: UpdateSummary): Promise<void> {
  const data = releaseDataOf(update);
  if (!data[releaseKey]) throw new Error(`update ${updateKey(update)} has no ${releaseKey} in its config`);
  if (!data[secretEnvKey]) {
    const current = await stack.getAllConfig();
    if (current[secretEnvKey]) await stack.removeConfig(secretEnvKey);
  }
  await stack.setAllConfig(data);
}

/** Every update of the stack, newest first (secrets shown so they can be re-applied, never printed). */
export async function updates(stack: Stack): Promise<UpdateSummary[]> {
  return (await stack.history(undefined, undefined, true)).filter((u) => u.kind === "update");
}
