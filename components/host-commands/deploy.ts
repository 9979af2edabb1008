// The one step that switches the running stack, and the teardown. The new files arrive on
// stdin (the env file holds secrets, so they never appear on a command line or in an error).
import { z } from "zod";
import { parseJsonData } from "../config/parse.js";
import { composeCli, type HostLayout, managedFiles, paths, projectFilters } from "./layout.js";
import { raw, sh } from "./shell.js";
import { releaseRecordSchema } from "./status.js";

export interface SwitchServiceSpec {
  name: string;
  /** The pinned reference the compose file runs (repo@sha256:…). */
  image: string;
  /** Wait for "healthy" when the container has a healthcheck. */
  waitHealthy: boolean;
}

export interface SwitchReleaseArgs {
  layout: HostLayout;
  releaseId: string;
  services: readonly SwitchServiceSpec[];
  /** Backups of each managed file kept on the host, newest first. */
  retainBackups: number;
  startTimeoutSeconds: number;
  stableChecks: number;
}

/**
 * What goes on stdin of the switch step: four lines, each base64 of one text: the switch
 * script itself, the compose file, the env file, and the deployment record of this release as a
 * JSON object WITHOUT its closing brace (the host appends "deployedAt" from its own clock).
 */
export function switchReleaseStdin(files: { script: string; compose: string; env: string; currentRecordPrefix: string }): string {
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  return [files.script, files.compose, files.env, files.currentRecordPrefix].map(b64).join("\n") + "\n";
}

/**
 * The command line of the switch step: a comment saying what it does (so a failure message,
 * which quotes the command, stays short) and a loader that reads the script from the first line
 * of stdin (`read` consumes exactly one line, leaving the files for the script).
 */
export function switchReleaseCommand(args: {
  layout: HostLayout;
  releaseId: string;
  images: Record<string, string>;
  /** A token the driver sets when the host drifted from the state: a new token re-runs the switch. */
  reconcileToken?: string | undefined;
}): string {
  const pins = Object.entries(args.images)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([svc, ref]) => `${svc}=${ref}`)
    .join(" ");
  const what = `awareness: switch ${args.layout.appDir} to release ${args.releaseId} (${pins})`;
  if (/[\n\r]/.test(what)) throw new Error("release values must be single-line");
  if (args.reconcileToken !== undefined && !/^[0-9a-f]{8,64}$/.test(args.reconcileToken)) throw new Error("a reconcile token is hex");
  const reconcile = args.reconcileToken ? [`# reconcile ${args.reconcileToken}: the host differed from the state`] : [];
  return [`# ${what}`, ...reconcile, `IFS= read -r script && eval "$(printf '%s' "$script" | base64 -d)"`].join("\n");
}

/**
 * Prints one JSON line {"deployedAt": …, "backups": [...]} on success. On a failed start
 * the previous files are put back and the previous release brought up again BEFORE it exits
 * non-zero with a message naming the service and the host's error text.
 */
/** Restarts a new container may take while it starts before the switch calls it a crash loop. */
const maxStartRestarts = 3;

/** The host-side lock a switch holds while it runs (flock on this file in the app dir). */
export const switchLockName = ".switch.lock";

export function switchRelease(args: SwitchReleaseArgs): string {
  const { layout } = args;
  const p = paths(layout);
  const up = composeCli(layout, "up", "-d", "--remove-orphans");
  const down = composeCli(layout, "down", "--remove-orphans");
  const imagePairs = args.services.map((s) => `${s.name}=${s.image}`);
  const waitSpecs = args.services.map((s) => `${s.name}:${s.waitHealthy ? 1 : 0}`);
  const sameReleasePattern = `"id":${JSON.stringify(args.releaseId)},`;
  const lines = [
    "set -u",
    sh`app=${layout.appDir}`,
    sh`stage=${p.stagingDir}`,
    sh`release=${args.releaseId}`,
    `fail() { printf '%s\\n' "$*" >&2; exit 1; }`,
    `mkdir -p "$app" "$stage" && cd "$app" || fail "cannot create $app"`,
    "# one switch at a time; an observer waits on the same lock, so it never sees a switch half done",
    `exec 9>>"$app/${switchLockName}" && flock -w 600 9 || fail "another switch of $app is still running (waited 600 s)"`,
    "# 1. the new files, from stdin (the first line, this script, was read by the loader)",
    `cat > "$stage/bundle" || fail "cannot read the release files from stdin"`,
    `umask 077`,
    `sed -n 1p "$stage/bundle" | base64 -d > "$stage/${managedFiles[0]}" && sed -n 2p "$stage/bundle" | base64 -d > "$stage/${managedFiles[1]}" && sed -n 3p "$stage/bundle" | base64 -d > "$stage/current.json" && [ -s "$stage/current.json" ] || fail "the release files on stdin are damaged"`,
    `rm -f "$stage/bundle"; chmod 644 "$stage/${managedFiles[0]}"`,
    "# 2. every image on the host before the running stack is touched",
    sh`for pair in ${imagePairs}; do svc=\${pair%%=*}; ref=\${pair#*=}; docker image inspect "$ref" >/dev/null 2>&1 || docker pull -q "$ref" >/dev/null 2>&1 || fail "service $svc: image $ref is not on the host and cannot be pulled; the running release was not touched"; done`,
    "# 3. back up the files being replaced; keep the newest N of each",
    `ts=$(date -u +%Y%m%dT%H%M%SZ)`,
    `had_previous=0; [ -f ${managedFiles[0]} ] && had_previous=1`,
    `for f in ${managedFiles.join(" ")}; do if [ -f "$f" ]; then cp -p "$f" "$f.$ts.backup" || fail "backup of $app/$f failed"; fi; done`,
    sh`for f in ${raw(managedFiles.join(" "))}; do ls -1 "$f".*.backup 2>/dev/null | sort -r | tail -n +${args.retainBackups + 1} | while read -r old; do rm -f "$old"; done; done`,
    "# undo: the previous files back, the previous release up again (volumes are never removed)",
    `undo() {`,
    `  if [ "$had_previous" = 1 ]; then`,
    `    cp -p "${managedFiles[0]}.$ts.backup" "$stage/${managedFiles[0]}.prev" && mv -f "$stage/${managedFiles[0]}.prev" ${managedFiles[0]}`,
    `    if [ -f "${managedFiles[1]}.$ts.backup" ]; then cp -p "${managedFiles[1]}.$ts.backup" "$stage/${managedFiles[1]}.prev" && mv -f "$stage/${managedFiles[1]}.prev" ${managedFiles[1]}; else rm -f ${managedFiles[1]}; fi`,
    `    if uout=$(${up} 2>&1); then echo "the previous release was brought up again" >&2; else printf 'bringing the previous release up again FAILED too:\\n%s\\n' "$(printf '%s\\n' "$uout" | tail -n 5 | cut -c1-300)" >&2; fi`,
    `  else`,
    `    ${down} >/dev/null 2>&1; rm -f ${managedFiles[0]} ${managedFiles[1]}; echo "there was no previous release: the new containers were stopped (volumes kept)" >&2`,
    `  fi`,
    `}`,
    "# 4. switch the files atomically (rename in one directory)",
    `mv -f "$stage/${managedFiles[0]}" ${managedFiles[0]} && mv -f "$stage/${managedFiles[1]}" ${managedFiles[1]} || { undo; fail "could not put the new files in place"; }`,
    "# 5. start, then wait until every container runs (and is healthy when it has a healthcheck)",
    `if ! out=$(${up} 2>&1); then reason=$(printf '%s\\n' "$out" | tail -n 8 | cut -c1-300); undo; fail "compose up failed for release $release: $reason"; fi`,
    sh`start=$(date +%s); stable=0; prev_sig=""; reason=""`,
    `while :; do`,
    `  bad=""; pending=""; sig=""`,
    sh`  for spec in ${waitSpecs}; do`,
    `    name=\${spec%:*}; wait_healthy=\${spec#*:}`,
    `    ids=$(docker ps -a -q ${projectFilters(layout)} --filter "label=com.docker.compose.service=$name" 2>/dev/null)`,
    `    if [ -z "$ids" ]; then pending="$pending $name(no container)"; continue; fi`,
    `    for id in $ids; do`,
    `      set -- $(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}} {{.RestartCount}}' "$id" 2>/dev/null) gone none 0 0`,
    `      sig="$sig $id:$4"`,
    `      case "$1" in`,
    `        running) case "$2" in`,
    `          unhealthy) [ "$wait_healthy" = 1 ] && bad="service $name: container is unhealthy" ;;`,
    `          starting) [ "$wait_healthy" = 1 ] && pending="$pending $name(health starting)" ;;`,
    `        esac ;;`,
    `        created) pending="$pending $name(created)" ;;`,
    // A start can fail once for a passing cause (its port still held by the container it
    // replaces) and docker restarts it; a crash loop reaches the limit within about a second.
    `        restarting) if [ "$4" -lt ${maxStartRestarts} ]; then pending="$pending $name(restarting, $4)"; else bad="service $name: container $1 (exit code $3, restarts $4)"; fi ;;`,
    `        *) bad="service $name: container $1 (exit code $3, restarts $4)" ;;`,
    `      esac`,
    `      if [ -n "$bad" ]; then bad="$bad; last log lines: $(docker logs --tail 5 "$id" 2>&1 | cut -c1-200 | tr '\\n' '|')"; break 2; fi`,
    `    done`,
    `  done`,
    `  if [ -n "$bad" ]; then reason="$bad"; break; fi`,
    `  if [ -z "$pending" ]; then if [ "$sig" = "$prev_sig" ]; then stable=$((stable + 1)); else stable=1; fi; else stable=0; fi`,
    `  prev_sig="$sig"`,
    sh`  if [ "$stable" -ge ${args.stableChecks} ]; then break; fi`,
    sh`  if [ $(( $(date +%s) - start )) -ge ${args.startTimeoutSeconds} ]; then reason="not running after ${args.startTimeoutSeconds} s:$pending"; break; fi`,
    `  sleep 1`,
    `done`,
    `if [ -n "$reason" ]; then undo; fail "release $release did not start: $reason"; fi`,
    "# 6. the deployment record, written atomically once the new release runs",
    `now=$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
    `prev=$(sed -n 's/^  "current": \\(.*\\),$/\\1/p' ${managedFiles[2]} 2>/dev/null)`,
    `old_prev=$(sed -n 's/^  "previous": \\(.*\\),$/\\1/p' ${managedFiles[2]} 2>/dev/null)`,
    `verified=$(sed -n 's/^  "verified": \\(.*\\),$/\\1/p' ${managedFiles[2]} 2>/dev/null)`,
    sh`case "$prev" in *${sameReleasePattern}*) prev=$old_prev ;; esac`,
    `[ -n "$prev" ] || prev=null; [ -n "$verified" ] || verified=null`,
    `cur=$(cat "$stage/current.json")`,
    `printf '{\\n  "schema": 1,\\n  "current": %s,"deployedAt":"%s"},\\n  "previous": %s,\\n  "verified": %s,\\n  "updatedAt": "%s"\\n}\\n' "$cur" "$now" "$prev" "$verified" "$now" > "$stage/${managedFiles[2]}" && chmod 644 "$stage/${managedFiles[2]}" && mv -f "$stage/${managedFiles[2]}" ${managedFiles[2]} || fail "release runs, but writing $app/${managedFiles[2]} failed"`,
    `rm -f "$stage/current.json"`,
    `printf '{"deployedAt":"%s","backups":[' "$now"; sep=""`,
    `for b in $(ls -1 *.backup .*.backup 2>/dev/null | sort); do printf '%s"%s/%s"' "$sep" "$app" "$b"; sep=","; done`,
    `printf ']}\\n'`,
  ];
  return lines.join("\n");
}

const switchResultSchema = z.object({
  /** The current record's deployedAt (host clock). */
  deployedAt: releaseRecordSchema.shape.deployedAt,
  /** Backup files on the host after this deploy (absolute paths). */
  backups: z.array(z.string()),
});

export type SwitchResult = z.infer<typeof switchResultSchema>;

/** Reads the switch step's one-line summary (its last line starting with "{"), validated. */
export function parseSwitchOutput(stdout: string): SwitchResult {
  const line = stdout.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (!line) throw new Error(`the switch step printed no summary: ${stdout.slice(0, 200)}`);
  return parseJsonData(switchResultSchema, line, "the switch step's summary line", "a valid summary");
}

/** Destroy: stop and remove the app's containers; data volumes and files stay (no -v). */
export function teardown(layout: HostLayout): string {
  return [
    sh`cd ${layout.appDir} 2>/dev/null && [ -f ${paths(layout).composeFile} ] || exit 0`,
    `out=$(${composeCli(layout, "down", "--remove-orphans")} 2>&1) || { printf '%s\\n' "$out" | tail -n 10 | cut -c1-300 >&2; exit 1; }`,
    `echo stopped`,
  ].join("\n");
}
