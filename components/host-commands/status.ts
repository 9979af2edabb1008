// The host's deployment record (<appDir>/deployment.json): read it, and mark the current
// release verified once its health monitor passed. The file keeps one top-level key per line
// so POSIX tools on any host can rewrite it without jq.
import { z } from "zod";
import { parseJsonData } from "../config/parse.js";
import { composeCommandSchema, releaseSchema } from "../config/schema.js";
import { managedFiles, paths, type HostLayout } from "./layout.js";
import { sh } from "./shell.js";

/** The host's clock as the scripts write it: `date -u +%Y-%m-%dT%H:%M:%SZ`. */
const utcTime = z.iso.datetime({ message: "expected a UTC time like 2026-11-27T06:00:00Z" });

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

/** deployment.json: the current release, the one before it, and the last verified one. */
export const deploymentStatusSchema = z.object({
  schema: z.literal(1),
  current: releaseRecordSchema.nullable(),
  previous: releaseRecordSchema.nullable(),
  verified: releaseRecordSchema.nullable(),
  updatedAt: utcTime,
});

export type DeploymentRecord = z.infer<typeof releaseRecordSchema>;
export type DeploymentStatus = z.infer<typeof deploymentStatusSchema>;

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

/**
 * Copies "current" into "verified" (with verifiedAt), only if the current release is
 * `releaseId`; exits 4 otherwise, so a late verdict can never bless another release.
 */
export function markReleaseVerified(layout: HostLayout, releaseId: string): string {
  const idField = `"id":${JSON.stringify(releaseId)},`;
  return [
    sh`cd ${layout.appDir} || exit 1`,
    `f=${managedFiles[2]}`,
    `cur=$(sed -n 's/^  "current": \\(.*\\),$/\\1/p' "$f" 2>/dev/null)`,
    `prev=$(sed -n 's/^  "previous": \\(.*\\),$/\\1/p' "$f" 2>/dev/null)`,
    sh`case "$cur" in *${idField}*) ;; *) echo ${`release ${releaseId} is not the current release on this host; not marked verified`} >&2; exit 4 ;; esac`,
    `[ -n "$prev" ] || prev=null`,
    `now=$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
    `ver=$(printf '%s' "$cur" | sed 's/,"verifiedAt":"[^"]*"//; s/}$//')`,
    `printf '{\\n  "schema": 1,\\n  "current": %s,\\n  "previous": %s,\\n  "verified": %s,"verifiedAt":"%s"},\\n  "updatedAt": "%s"\\n}\\n' "$cur" "$prev" "$ver" "$now" "$now" > "$f.tmp" && chmod 644 "$f.tmp" && mv -f "$f.tmp" "$f" || exit 1`,
    `echo "verified $now"`,
  ].join("\n");
}
