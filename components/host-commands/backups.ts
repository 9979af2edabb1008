// Backups on the host, one set per switch: `<appDir>/backups/<UTC time>-<release id>/` holds
// the compose file, the env file and deployment.json exactly as the switch found them, and a
// manifest.json naming the release they belonged to. The switch (deploy.ts) and a restore both
// make a set before they replace anything; the newest `backups.retain` sets are kept. List the
// sets, and restore one by name (the current files are backed up first, so it can be undone).
import { z } from "zod";
import { parseJsonData } from "../config/parse.js";
import { colorSwitch } from "./blue-green.js";
import { backupsDirName, colorWords, composeCli, managedFiles, paths, projectFilters, type HostLayout, switchLockName } from "./layout.js";
import { raw, sh } from "./shell.js";
import { readRecordLines, recordOf, releaseRecordSchema, utcTime, writeRecordLine } from "./status.js";
import { checkVolumeArchives, restoreVolumes, snapshotVolumes, volumeArchiveSchema, type VolumeSnapshotSpec, type VolumeToRestore } from "./volumes.js";

/** A set's folder name: the switch's UTC time, then the id of the release its files belonged to. */
export const backupSetNamePattern = /^\d{8}T\d{6}Z-[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The release id in the name of a set whose files no deployment.json named. */
export const unrecordedRelease = "unrecorded";

/** manifest.json of a set: one top-level key per line, like deployment.json. */
export const backupManifestSchema = z.object({
  schema: z.literal(1),
  /** The set's folder name. */
  set: z.string().regex(backupSetNamePattern),
  /** When the files were backed up (host clock). */
  backedUpAt: utcTime,
  /** The release these files belonged to: deployment.json's "current" then; null when it named none. */
  release: releaseRecordSchema.nullable(),
  /** sha256 of the backed-up compose file itself; null when there was none. */
  composeSha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  /** The files of the set (besides manifest.json). */
  files: z.array(z.enum(managedFiles)),
  /** The named volumes archived with the set (services with snapshotVolumes), in volumes/. */
  volumes: z.array(volumeArchiveSchema).optional(),
});

export type BackupManifest = z.infer<typeof backupManifestSchema>;

export interface BackupSet {
  name: string;
  /** Absolute path of the set's folder. */
  path: string;
  /** The manifest; null when it is missing or unreadable (`problem` says why). */
  manifest: BackupManifest | null;
  /** The release the files belonged to (from the manifest), if known. */
  releaseId?: string | undefined;
  /** Every file in the folder. */
  files: string[];
  /** Why the set cannot be restored: no or an unreadable manifest, or files missing or changed since. */
  problem?: string;
}

const setNow = `at=$(date -u +%Y-%m-%dT%H:%M:%SZ); ts=$(printf '%s' "$at" | tr -d ':-')`;

/**
 * Shell lines (run in the app dir, with `fail` defined) that back up the current files as one
 * set, then keep the newest `retain` sets. Sets $bak (the set's folder relative to the app dir;
 * empty when there was nothing to back up) and $had_previous (1 when a compose file was there).
 * `snapshot` (snapshotVolumes) archives named volumes into the set, recorded in its manifest.
 */
export function backupCurrentFiles(retain: number, snapshot: readonly string[] = []): string[] {
  const [compose, env, record] = managedFiles;
  return [
    `${setNow}; bak=""; had_previous=0; [ -f ${compose} ] && had_previous=1`,
    `cur_rec=$(sed -n 's/^  "current": \\(.*\\),$/\\1/p' ${record} 2>/dev/null)`,
    `cur_id=$(printf '%s' "$cur_rec" | sed -n 's/^{"id":"\\([A-Za-z0-9._-]*\\)",.*/\\1/p'); [ -n "$cur_id" ] || { cur_id=${unrecordedRelease}; cur_rec=null; }`,
    `if [ -f ${compose} ] || [ -f ${env} ] || [ -f ${record} ]; then`,
    `  while [ -n "$(ls -d ${backupsDirName}/"$ts"-* 2>/dev/null)" ]; do sleep 1; ${setNow}; done`,
    `  bak="${backupsDirName}/$ts-$cur_id"; files=""; sum=null`,
    `  mkdir -p "$bak" || fail "cannot create $app/$bak"`,
    `  for f in ${managedFiles.join(" ")}; do if [ -f "$f" ]; then cp -p "$f" "$bak/$f" || fail "backup of $app/$f failed"; files="$files\${files:+,}\\"$f\\""; fi; done`,
    `  s=$(sha256sum ${compose} 2>/dev/null | cut -c1-64); [ -z "$s" ] || sum="\\"$s\\""`,
    `fi`,
    `vol_json=""`,
    ...snapshot,
    `if [ -n "$bak" ]; then`,
    `  printf '{\\n  "schema": 1,\\n  "set": "%s",\\n  "backedUpAt": "%s",\\n  "release": %s,\\n  "composeSha256": %s,\\n  "files": [%s]%s\\n}\\n' "\${bak#${backupsDirName}/}" "$at" "$cur_rec" "$sum" "$files" "$vol_json" > "$bak/manifest.json" || fail "writing $app/$bak/manifest.json failed"`,
    `fi`,
    sh`ls -1 ${raw(backupsDirName)} 2>/dev/null | sort -r | tail -n +${retain + 1} | while read -r old; do rm -rf ${raw(backupsDirName)}/"$old"; done`,
  ];
}

/**
 * Shell lines (with `fail`, $app, $stage, $bak and $had_previous set) defining `undo`: the
 * backed-up files back in place and that release up again; with no previous release, the new
 * containers are stopped (volumes are never removed).
 */
export function undoFunction(layout: HostLayout): string[] {
  const [compose, env] = managedFiles;
  const up = composeCli(layout, "up", "-d", "--remove-orphans");
  const down = composeCli(layout, "down", "--remove-orphans");
  return [
    `undo() {`,
    `  if [ "$had_previous" = 1 ]; then`,
    `    cp -p "$bak/${compose}" "$stage/${compose}.prev" && mv -f "$stage/${compose}.prev" ${compose}`,
    `    if [ -f "$bak/${env}" ]; then cp -p "$bak/${env}" "$stage/${env}.prev" && mv -f "$stage/${env}.prev" ${env}; else rm -f ${env}; fi`,
    `    if uout=$(${up} 2>&1); then echo "the previous release was brought up again" >&2; else printf 'bringing the previous release up again FAILED too:\\n%s\\n' "$(printf '%s\\n' "$uout" | tail -n 5 | cut -c1-300)" >&2; fi`,
    `  else`,
    `    ${down} >/dev/null 2>&1; rm -f ${compose} ${env}; echo "there was no previous release: the new containers were stopped (volumes kept)" >&2`,
    `  fi`,
    `}`,
  ];
}

/** Restarts a new container may take while it starts before it counts as a crash loop. */
const maxStartRestarts = 3;

/**
 * `ready_now <container>`: runs the container's own healthcheck command in it at once (as
 * Docker runs it: CMD-SHELL through /bin/sh, CMD as its arguments; bounded by its own timeout,
 * at most 5 s), so a release counts as ready as soon as it answers, not one healthcheck
 * interval later. Docker's own status stays the second signal: "unhealthy" still fails the
 * switch. Not ready: no healthcheck, a failed check, no `timeout` on the host (a hung check
 * must never hold the wait), or a container whose check once ran out of time (an app that
 * hangs: from then on the wait polls Docker's status alone, every second).
 */
export const readyNowFunction = [
  `rn_hung=" "`,
  `ready_now() {`,
  `  command -v timeout >/dev/null 2>&1 || return 1`,
  `  case "$rn_hung" in *" $1 "*) return 1 ;; esac`,
  `  set -- "$1" $(docker inspect -f '{{if .Config.Healthcheck}}{{index .Config.Healthcheck.Test 0}} {{printf "%d" .Config.Healthcheck.Timeout}}{{end}}' "$1" 2>/dev/null)`,
  `  rn_id=$1; rn_kind=\${2:-}; rn_secs=$(( \${3:-0} / 1000000000 ))`,
  `  if [ "$rn_secs" -le 0 ] || [ "$rn_secs" -gt 5 ]; then rn_secs=5; fi`,
  `  case "$rn_kind" in`,
  `    CMD-SHELL) rn_cmd=$(docker inspect -f '{{index .Config.Healthcheck.Test 1}}' "$rn_id" 2>/dev/null) || return 1`,
  `      timeout "$rn_secs" docker exec "$rn_id" /bin/sh -c "$rn_cmd" >/dev/null 2>&1 ;;`,
  // One argument per line; the function's own positional parameters hold them.
  `    CMD) rn_args=$(docker inspect -f '{{range $i, $a := .Config.Healthcheck.Test}}{{if $i}}{{println $a}}{{end}}{{end}}' "$rn_id" 2>/dev/null) || return 1`,
  `      rn_ifs=$IFS; IFS='`,
  `'; set -f; set -- $rn_args; set +f; IFS=$rn_ifs`,
  `      timeout "$rn_secs" docker exec "$rn_id" "$@" >/dev/null 2>&1 ;;`,
  `    *) return 1 ;;`,
  `  esac`,
  `  rn_rc=$?`,
  `  [ "$rn_rc" = 124 ] && rn_hung="$rn_hung$rn_id "`,
  `  return "$rn_rc"`,
  `}`,
];

/**
 * Shell lines that wait until every container of each service in `specs` ("name:1" waits for
 * healthy where there is a healthcheck, "name:0" only for running) runs, for `stableChecks`
 * checks in a row, at most `startTimeoutSeconds`. Healthy: Docker says so, or, while Docker's
 * first check is still due, the container's own healthcheck passes when run now (ready_now).
 * Leaves $reason empty on success.
 */
export function waitUntilRunning(layout: HostLayout, specs: string, startTimeoutSeconds: number, stableChecks: number): string[] {
  return [
    ...readyNowFunction,
    sh`start=$(date +%s); stable=0; prev_sig=""; reason=""`,
    `while :; do`,
    `  bad=""; pending=""; sig=""`,
    `  for spec in ${specs}; do`,
    `    name=\${spec%:*}; wait_healthy=\${spec#*:}`,
    `    ids=$(docker ps -a -q ${projectFilters(layout)} --filter "label=com.docker.compose.service=$name" 2>/dev/null)`,
    `    if [ -z "$ids" ]; then pending="$pending $name(no container)"; continue; fi`,
    `    for id in $ids; do`,
    `      set -- $(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}} {{.RestartCount}}' "$id" 2>/dev/null) gone none 0 0`,
    `      sig="$sig $id:$4"`,
    `      case "$1" in`,
    `        running) case "$2" in`,
    `          unhealthy) [ "$wait_healthy" = 1 ] && bad="service $name: container is unhealthy" ;;`,
    `          starting) [ "$wait_healthy" = 1 ] && ! ready_now "$id" && pending="$pending $name(health starting)" ;;`,
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
    sh`  if [ "$stable" -ge ${stableChecks} ]; then break; fi`,
    sh`  if [ $(( $(date +%s) - start )) -ge ${startTimeoutSeconds} ]; then reason="not running after ${startTimeoutSeconds} s:$pending"; break; fi`,
    `  sleep 1`,
    `done`,
  ];
}

/** Shell text printing every backup file relative to the app dir, oldest first (sets by name; flat `*.backup` files of older versions first). */
export const backupFilesRelative = `{ ls -1 *.backup .*.backup 2>/dev/null | sort; for s in $(ls -1 ${backupsDirName} 2>/dev/null | sort); do ls -1A ${backupsDirName}/"$s" | sort | sed "s|^|${backupsDirName}/$s/|"; done; }`;

/** Absolute paths of every backup file, oldest first. */
export function listBackups(layout: HostLayout): string {
  return sh`cd ${layout.appDir} 2>/dev/null || exit 0; ${raw(backupFilesRelative)} | while read -r f; do echo ${layout.appDir}/"$f"; done`;
}

/** One line per set, oldest first: its name, its manifest on one line (or null), its files, its compose file's sha256. */
export function listBackupSets(layout: HostLayout): string {
  const [compose] = managedFiles;
  return [
    sh`cd ${paths(layout).backupsDir} 2>/dev/null || exit 0`,
    `for s in $(ls -1 | sort); do [ -d "$s" ] || continue; m=null; [ -f "$s/manifest.json" ] && m=$(tr -d '\\n' < "$s/manifest.json"); printf '%s\\t%s\\t%s\\t%s\\n' "$s" "$m" "$(ls -1A "$s" | sort | tr '\\n' ' ')" "$(sha256sum "$s/${compose}" 2>/dev/null | cut -c1-64)"; done`,
  ].join("\n");
}

/** The release id a set's name carries (`<UTC time>-<id>`); undefined for an unrecorded one. */
export function releaseInSetName(name: string): string | undefined {
  const id = backupSetNamePattern.test(name) ? name.slice(name.indexOf("-") + 1) : undefined;
  return id === unrecordedRelease ? undefined : id;
}

/** What is wrong with a set whose manifest reads well: files it names that are missing or changed. */
function damageOf(set: BackupSet, manifest: BackupManifest, composeSum: string): string | undefined {
  const [compose] = managedFiles;
  const missing = manifest.files.filter((f) => !set.files.includes(f));
  if (missing.length) return `${missing.join(", ")} named in its manifest.json ${missing.length === 1 ? "is" : "are"} missing`;
  if (manifest.set !== set.name) return `its manifest.json names another set (${manifest.set})`;
  if (manifest.files.includes(compose) && composeSum !== manifest.composeSha256) {
    return `its ${compose} has sha256 ${composeSum.slice(0, 12) || "(unreadable)"}…, its manifest.json says ${manifest.composeSha256?.slice(0, 12) ?? "none"}… (the file is damaged or was edited)`;
  }
  return undefined;
}

/** What listBackupSets printed. A set whose manifest is missing or unreadable is listed with its problem. */
export function parseBackupSets(stdout: string, layout: HostLayout): BackupSet[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((line) => {
      const [name = "", manifestText = "null", files = "", composeSum = ""] = line.split("\t");
      const set: BackupSet = { name, path: `${paths(layout).backupsDir}/${name}`, manifest: null, files: files.split(" ").filter(Boolean) };
      if (manifestText.trim() === "null") return { ...set, problem: "no manifest.json" };
      let manifest: BackupManifest;
      try {
        manifest = parseJsonData(backupManifestSchema, manifestText, `${set.path}/manifest.json`, "a valid manifest");
      } catch (err) {
        return { ...set, problem: err instanceof Error ? err.message.split("\n").join(" ") : String(err) };
      }
      const damage = damageOf(set, manifest, composeSum.trim());
      return { ...set, manifest, releaseId: manifest.release?.id, ...(damage ? { problem: damage } : {}) };
    });
}

export interface RestoreSetArgs {
  layout: HostLayout;
  /** The set's folder name (backupSetNamePattern). */
  set: string;
  /** Sets kept on the host (the one the current files become counts). */
  retainSets: number;
  startTimeoutSeconds: number;
  stableChecks: number;
  /**
   * `restore --volumes`: the set's volume archives to put back (never without it). The current
   * contents are archived into the set the restore makes first, so it can be undone.
   */
  volumes?: readonly VolumeToRestore[];
}

/**
 * Restores one set: its files to the staging dir, the current files backed up as a set of their
 * own, the set's compose and env files switched in, `up -d --remove-orphans`, a wait until every
 * container runs (healthy where it has a healthcheck); a failed start puts the previous files
 * back and brings them up again. Then deployment.json's "current" is the manifest's release
 * (deployedAt now); "previous" is what ran before; "verified" and "failed" stay. Prints one
 * JSON line {"restored", "release", "backup", "deployedAt", "volumes"}.
 */
export function restoreBackupSet(args: RestoreSetArgs): string {
  const { layout } = args;
  if (!backupSetNamePattern.test(args.set)) throw new Error(`not a backup set name: ${JSON.stringify(args.set)}`);
  const [compose, env] = managedFiles;
  const up = composeCli(layout, "up", "-d", "--remove-orphans");
  const volumes = args.volumes ?? [];
  return [
    "set -u",
    sh`app=${layout.appDir}`,
    sh`stage=${paths(layout).stagingDir}`,
    sh`src=${`${backupsDirName}/${args.set}`}`,
    `fail() { printf '%s\\n' "$*" >&2; exit 1; }`,
    `cd "$app" || fail "cannot enter $app"`,
    "# a restore is a switch: one at a time, and observers wait for it",
    `exec 9>>"$app/${switchLockName}" && flock -w 600 9 || fail "another switch of $app is still running (waited 600 s)"`,
    `[ -f "$src/manifest.json" ] && [ -f "$src/${compose}" ] || fail "no backup set $app/$src with a manifest and a compose file on this host"`,
    `restored=$(sed -n 's/^  "release": \\(.*\\),$/\\1/p' "$src/manifest.json")`,
    `release=$(printf '%s' "$restored" | sed -n 's/^{"id":"\\([A-Za-z0-9._-]*\\)",.*/\\1/p')`,
    `[ -n "$release" ] || fail "the manifest of $app/$src names no release: nothing was changed"`,
    "# 1. the set's files to the staging dir first (keeping the newest sets below may remove the set)",
    `umask 077; mkdir -p "$stage" || fail "cannot create $stage"`,
    `cp -p "$src/${compose}" "$stage/${compose}" && rm -f "$stage/${env}" && { [ ! -f "$src/${env}" ] || cp -p "$src/${env}" "$stage/${env}"; } || fail "cannot copy the files of $app/$src: nothing was changed"`,
    "# the copy must be the file the manifest recorded (a truncated or edited set is refused)",
    `want=$(sed -n 's/^  "composeSha256": "\\([0-9a-f]*\\)",$/\\1/p' "$src/manifest.json"); got=$(sha256sum "$stage/${compose}" | cut -c1-64)`,
    `[ -n "$want" ] && [ "$got" = "$want" ] || fail "backup set $app/$src is damaged: its ${compose} has sha256 $got, its manifest.json says \${want:-none}: nothing was changed"`,
    ...(volumes.length > 0 ? ["# the volume archives: all checked before anything changes", ...checkVolumeArchives(layout, volumes)] : []),
    "# 2. back up the current files (and volumes to put back) as a set of their own, so the restore can be undone",
    ...backupCurrentFiles(args.retainSets, snapshotVolumes(layout, volumes.map((v) => ({ service: v.service, volume: v.name, image: v.image })))),
    ...(layout.blueGreen
      ? [
          "# 3. blue-green: the set's release starts in the idle color (or is found running there) and the proxy flips to it",
          "phase() { :; }",
          ...colorSwitch(layout, { specs: `"$(${composeCli({ ...layout, live: colorWords(layout, "$next") }, "config", "--services")} 2>/dev/null | sed 's/$/:1/' | tr '\\n' ' ')"`, startTimeoutSeconds: args.startTimeoutSeconds, stableChecks: args.stableChecks }),
        ]
      : restoreInPlace(layout, args)),
    "# 4. the deployment record: the restored release is current",
    `now=$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
    ...readRecordLines(),
    `case "$rec_current" in *"\\"id\\":\\"$release\\","*) ;; *) rec_previous=$rec_current ;; esac`,
    "rec_paused=null # a switch ends any pause",
    `rec_current="$(printf '%s' "$restored" | sed 's/,"deployedAt":"[^"]*"//; s/}$//'),\\"deployedAt\\":\\"$now\\"}"`,
    `${writeRecordLine(`"$stage/${managedFiles[2]}"`)} || fail "release $release runs again, but writing $app/${managedFiles[2]} failed"`,
    `vols=""; for row in \${restore_vols:-}; do vols="$vols\${vols:+,}\\"\${row%%|*}\\""; done`,
    `printf '{"restored":"%s","release":"%s","backup":"%s","deployedAt":"%s","volumes":[%s]}\\n' "$src" "$release" "$bak" "$now" "$vols"`,
  ].join("\n");
}

/** recreate: the set's files switched in over the running containers, started, waited for; undone on a failed start. */
function restoreInPlace(layout: HostLayout, args: RestoreSetArgs): string[] {
  const [compose, env] = managedFiles;
  const up = composeCli(layout, "up", "-d", "--remove-orphans");
  const volumes = args.volumes ?? [];
  return [
    ...undoFunction(layout),

    ...(volumes.length > 0 ? ["# the volumes: their containers stopped, emptied in place, the archives unpacked; `up -d` starts them", ...restoreVolumes()] : []),
    "# 3. switch the files (rename in one directory), start, wait until every container runs",
    `mv -f "$stage/${compose}" ${compose} && { if [ -f "$stage/${env}" ]; then mv -f "$stage/${env}" ${env}; else rm -f ${env}; fi; } || { undo; fail "could not put the files of $src in place"; }`,
    `if ! out=$(${up} 2>&1); then reason=$(printf '%s\\n' "$out" | tail -n 8 | cut -c1-300); undo; fail "compose up failed for the restored release $release: $reason"; fi`,
    `specs=$(${composeCli(layout, "config", "--services")} 2>/dev/null | sed 's/$/:1/' | tr '\\n' ' ')`,
    ...waitUntilRunning(layout, "$specs", args.startTimeoutSeconds, args.stableChecks),
    `if [ -n "$reason" ]; then undo; fail "the restored release $release did not start: $reason"; fi`,
  ];
}

const restoreResultSchema = z.object({
  /** The set restored, relative to the app dir. */
  restored: z.string(),
  release: z.string(),
  /** The set the replaced files went to ("" when there were none). */
  backup: z.string(),
  deployedAt: utcTime,
  /** The volumes put back (restore --volumes). */
  volumes: z.array(z.string()).default([]),
});

export type RestoreResult = z.infer<typeof restoreResultSchema>;

/** Reads the restore's one-line summary (its last line starting with "{"). */
export function parseRestoreOutput(stdout: string): RestoreResult {
  const line = stdout.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (!line) throw new Error(`the restore printed no summary: ${stdout.slice(0, 200)}`);
  return parseJsonData(restoreResultSchema, line, "the restore's summary line", "a valid summary");
}
