// The host's deployment record (<appDir>/deployment.json): read it, mark the current release
// verified once its health monitor passed, and record a release that failed it. The file
// keeps one top-level key per line so POSIX tools on any host can rewrite it without jq.
import { z } from "zod";
import { parseJsonData } from "../config/parse.js";
import { composeCommandSchema, releaseSchema } from "../config/schema.js";
import { stopIdleColor } from "./idle-color.js";
import { managedFiles, paths, type HostLayout } from "./layout.js";
import { oneLine, sh } from "./shell.js";

/** The host's clock as the scripts write it: `date -u +%Y-%m-%dT%H:%M:%SZ`. */
export const utcTime = z.iso.datetime({ message: "expected a UTC time like 2026-11-27T06:00:00Z" });

/**
 * One release as a host recorded it: the release's identifying fields (its env stays in the
 * env file, not here) plus what the switch recorded. The switch writes it as "current"
 * (renderReleaseRecordPrefix + deployedAt); markReleaseVerified copies it to "verified" with
 * verifiedAt. Keys this version does not know (a newer writer's) are dropped, not refused.
 */
export const releaseRecordSchema = releaseSchema
  // images: the pinned reference per service (repo@sha256:…) the switch ran.
  .pick({ id: true, images: true })
  .extend({
    /** The release's git sha; null when the release named none. */
    gitSha: releaseSchema.shape.gitSha.unwrap().nullable(),
    composeSha256: z.string().regex(/^[0-9a-f]{64}$/, "expected the compose file's sha256 (64 lowercase hex digits)"),
    composeCommand: composeCommandSchema,
    /** When the host switched to this release (host clock). */
    deployedAt: utcTime,
    /** When the driver marked it verified (only in "verified"). */
    verifiedAt: utcTime.optional(),
  })
  .strip();

/** The last release that failed its health check on this host (markReleaseFailed). */
const failedRecordSchema = z
  .object({
    id: releaseSchema.shape.id,
    /** One line: why (the verdict). */
    reason: z.string(),
    failedAt: utcTime,
  })
  .strip();

/**
 * The release held live after a failed verdict, waiting for promote or abort (stages/pause.ts):
 * why, until when, what the timeout decides, and the exact commands that decide.
 */
export const pausedRecordSchema = z
  .object({
    id: releaseSchema.shape.id,
    reason: z.string(),
    pausedAt: utcTime,
    deadline: utcTime,
    onTimeout: z.enum(["promote", "abort"]),
    promote: z.string(),
    abort: z.string(),
  })
  .strip();

/**
 * deployment.json: the current release, the one before it, the last verified one, and the
 * last one that failed its health check here (absent from files written before it existed;
 * cleared when that release is verified later).
 */
export const deploymentStatusSchema = z.object({
  schema: z.literal(1),
  current: releaseRecordSchema.nullable(),
  previous: releaseRecordSchema.nullable(),
  verified: releaseRecordSchema.nullable(),
  failed: failedRecordSchema.nullable().default(null),
  paused: pausedRecordSchema.nullable().default(null),
  updatedAt: utcTime,
});

export type DeploymentRecord = z.infer<typeof releaseRecordSchema>;
export type DeploymentStatus = z.infer<typeof deploymentStatusSchema>;
export type PausedRecord = z.infer<typeof pausedRecordSchema>;

const recordKeys = ["current", "previous", "verified", "failed", "paused"] as const;

/**
 * Shell lines (run in the app dir) that read deployment.json's records into $rec_current,
 * $rec_previous, $rec_verified, $rec_failed and $rec_paused: each one line of JSON, `null` when absent or
 * not a record (a corrupt file's garbage line is not carried into the record written next).
 */
export function readRecordLines(): string[] {
  return recordKeys.map(
    (k) =>
      `rec_${k}=$(sed -n 's/^  "${k}": \\(.*\\),$/\\1/p' ${managedFiles[2]} 2>/dev/null); ` +
      `case "$rec_${k}" in '{"id":"'*'}') ;; *) rec_${k}=null ;; esac`,
  );
}

/** The shell line that writes deployment.json from those variables and $now, atomically (through `tmp`). */
export function writeRecordLine(tmp: string): string {
  const keys = recordKeys.map((k) => `\\n  "${k}": %s,`).join("");
  const values = recordKeys.map((k) => `"$rec_${k}"`).join(" ");
  return `printf '{\\n  "schema": 1,${keys}\\n  "updatedAt": "%s"\\n}\\n' ${values} "$now" > ${tmp} && chmod 644 ${tmp} && mv -f ${tmp} ${managedFiles[2]}`;
}

/** The shell pattern a record of `releaseId` matches (its JSON starts with the id). */
export function recordOf(releaseId: string): string {
  return sh`*${`"id":${JSON.stringify(releaseId)},`}*`;
}

/** Prints deployment.json, or `null` when the host has none yet. */
export function readDeploymentStatus(layout: HostLayout): string {
  return sh`cat ${paths(layout).statusFile} 2>/dev/null || echo null`;
}

/**
 * What readDeploymentStatus printed: null when the host has no deployment.json yet (the
 * output is empty or "null"). A file that is not JSON or has the wrong shape throws an
 * InvalidDataError naming deployment.json (on `host`, when given) and the bad key path.
 */
export function parseDeploymentStatus(stdout: string, host?: string): DeploymentStatus | null {
  const text = stdout.trim();
  if (text === "" || text === "null") return null;
  const where = host ? `deployment.json on ${host}` : "the host's deployment.json";
  return parseJsonData(deploymentStatusSchema, text, where, "a valid deployment record");
}

/** An error (e.g. an unreadable deployment.json's InvalidDataError with its problems) as one line. */
export function oneLineMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" ")
    .slice(0, 500);
}

/**
 * Copies "current" into "verified" (with verifiedAt), only if the current release is
 * `releaseId`; exits 4 otherwise, so a late verdict can never bless another release. A
 * "failed" record of the same release is cleared: it passed since.
 */
export function markReleaseVerified(layout: HostLayout, releaseId: string): string {
  return [
    sh`cd ${layout.appDir} || exit 1`,
    ...readRecordLines(),
    `case "$rec_current" in ${recordOf(releaseId)}) ;; *) ${sh`echo ${`release ${releaseId} is not the current release on this host; not marked verified`}`} >&2; exit 4 ;; esac`,
    `now=$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
    `rec_verified="$(printf '%s' "$rec_current" | sed 's/,"verifiedAt":"[^"]*"//; s/}$//'),\\"verifiedAt\\":\\"$now\\"}"`,
    `case "$rec_failed" in ${recordOf(releaseId)}) rec_failed=null ;; esac`,
    endPauseOf(releaseId),
    `${writeRecordLine(`${managedFiles[2]}.tmp`)} || exit 1`,
    ...stopIdleColor(layout),
    `echo "verified $now"`,
  ].join("\n");
}

/**
 * Records `releaseId` as the last release that failed its health check on this host (with
 * the reason, one line); the other records stay. A host without deployment.json records nothing.
 */
export function markReleaseFailed(layout: HostLayout, releaseId: string, reason: string): string {
  const prefix = JSON.stringify({ id: releaseId, reason: oneLine("the reason", reason).slice(0, 300) }).slice(0, -1);
  return [
    sh`cd ${layout.appDir} || exit 1`,
    `[ -f ${managedFiles[2]} ] || { echo "no ${managedFiles[2]} on this host: nothing recorded" >&2; exit 0; }`,
    ...readRecordLines(),
    `now=$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
    `rec_failed=${sh`${`${prefix},"failedAt":"`}`}"$now"'"}'`,
    endPauseOf(releaseId),
    `${writeRecordLine(`${managedFiles[2]}.tmp`)} || exit 1`,
    `echo "failed $now"`,
  ].join("\n");
}

/** A verdict on the paused release (verified or failed) ends its pause. */
export function endPauseOf(releaseId: string): string {
  return `case "$rec_paused" in ${recordOf(releaseId)}) rec_paused=null ;; esac`;
}
