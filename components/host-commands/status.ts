// The host's deployment record (<appDir>/deployment.json): read it, and mark the current
// release verified once its health monitor passed. The file keeps one top-level key per line
// so POSIX tools on any host can rewrite it without jq.
import { managedFiles, paths, type HostLayout } from "./layout.js";
import { sh } from "./shell.js";

export interface DeploymentRecord {
  id: string;
  gitSha: string | null;
  images: Record<string, string>;
  composeSha256: string;
  composeCommand: string;
  deployedAt: string;
  verifiedAt?: string;
}

export interface DeploymentStatus {
  schema: 1;
  current: DeploymentRecord | null;
  previous: DeploymentRecord | null;
  verified: DeploymentRecord | null;
  updatedAt: string;
}

/** Prints deployment.json, or `null` when the host has none yet. */
export function readDeploymentStatus(layout: HostLayout): string {
  return sh`cat ${paths(layout).statusFile} 2>/dev/null || echo null`;
}

export function parseDeploymentStatus(stdout: string): DeploymentStatus | null {
  const text = stdout.trim();
  if (text === "" || text === "null") return null;
  return JSON.parse(text) as DeploymentStatus;
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
