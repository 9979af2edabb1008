// The one step that switches the running stack, and the teardown. The new files arrive on
// stdin (the env file holds secrets, so they never appear on a command line or in an error).
import { z } from "zod";
import { parseJsonData } from "../config/parse.js";
import { backupCurrentFiles, backupFilesRelative, undoFunction, waitUntilRunning } from "./backups.js";
import { composeCli, type HostLayout, managedFiles, paths, switchLockName } from "./layout.js";
import { sh } from "./shell.js";
import { readRecordLines, recordOf, releaseRecordSchema, writeRecordLine } from "./status.js";
import { snapshotVolumes, type VolumeSnapshotSpec } from "./volumes.js";
import { switchColor, teardownColors } from "./blue-green.js";
import { switchStack, teardownStack } from "./swarm.js";

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
  /** Backup sets kept on the host (the newest; the one this switch makes counts). */
  retainBackups: number;
  startTimeoutSeconds: number;
  stableChecks: number;
  /** Named volumes archived into this switch's backup set (services with snapshotVolumes). */
  snapshotVolumes?: readonly VolumeSnapshotSpec[];
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

/** Starts each line the switch prints to stderr as a phase ends: `<marker> <phase> <host ms>`. */
export const switchPhaseMarker = "awareness-switch-phase";

/**
 * Prints one JSON line {"deployedAt": …, "backups": [...]} on success. On a failed start
 * the previous files are put back and the previous release brought up again BEFORE it exits
 * non-zero with a message naming the service and the host's error text.
 */
export function switchRelease(args: SwitchReleaseArgs): string {
  if (args.layout.blueGreen) return switchColor(args);
  if (args.layout.swarm) return switchStack(args);
  const { layout } = args;
  const up = composeCli(layout, "up", "-d", "--remove-orphans");
  const waitSpecs = args.services.map((s) => `${s.name}:${s.waitHealthy ? 1 : 0}`);
  const lines = [
    ...stageRelease(args),
    "# 3. back up the files being replaced (and the named volumes to snapshot) as one set, named by the release they belong to; keep the newest N sets",
    ...backupCurrentFiles(args.retainBackups, snapshotVolumes(layout, args.snapshotVolumes ?? [])),
    "# undo: the previous files back, the previous release up again (volumes are never removed)",
    ...undoFunction(layout),
    `phase backup`,
    "# 4. switch the files atomically (rename in one directory)",
    `mv -f "$stage/${managedFiles[0]}" ${managedFiles[0]} && mv -f "$stage/${managedFiles[1]}" ${managedFiles[1]} || { undo; fail "could not put the new files in place"; }`,
    "# 5. start, then wait until every container runs (and is healthy when it has a healthcheck)",
    `if ! out=$(${up} 2>&1); then reason=$(printf '%s\\n' "$out" | tail -n 8 | cut -c1-300); undo; fail "compose up failed for release $release: $reason"; fi`,
    `phase start`,
    ...waitUntilRunning(layout, sh`${waitSpecs}`, args.startTimeoutSeconds, args.stableChecks),
    `phase wait`,
    `if [ -n "$reason" ]; then undo; fail "release $release did not start: $reason"; fi`,
    ...recordRelease(args),
  ];
  return lines.join("\n");
}

/** The switch's first steps, for both strategies: the lock, the new files staged from stdin, every image on the host. */
export function stageRelease(args: Pick<SwitchReleaseArgs, "layout" | "releaseId" | "services">, extraImages: readonly string[] = []): string[] {
  const { layout } = args;
  const p = paths(layout);
  const imagePairs = [...args.services.map((s) => `${s.name}=${s.image}`), ...extraImages];
  return [
    "set -u",
    sh`app=${layout.appDir}`,
    sh`stage=${p.stagingDir}`,
    sh`release=${args.releaseId}`,
    `fail() { printf '%s\\n' "$*" >&2; exit 1; }`,
    // Where the switch's time goes (the run's breakdown reads these lines): a phase and the host's clock in ms.
    `phase() { printf '${switchPhaseMarker} %s %s\\n' "$1" "$(date +%s%3N)" >&2; }`,
    `phase begin`,
    // The staged files hold the env file's secrets: private from their first byte.
    `mkdir -p "$app" && cd "$app" && (umask 077 && mkdir -p "$stage") && chmod 700 "$stage" || fail "cannot create $app"`,
    "# one switch at a time; an observer waits on the same lock, so it never sees a switch half done",
    `exec 9>>"$app/${switchLockName}" && flock -w 600 9 || fail "another switch of $app is still running (waited 600 s)"`,
    "# 1. the new files, from stdin (the first line, this script, was read by the loader)",
    `umask 077`,
    `cat > "$stage/bundle" || fail "cannot stage the release files in $stage; the running release was not touched"`,
    `sed -n 1p "$stage/bundle" | base64 -d > "$stage/${managedFiles[0]}" && sed -n 2p "$stage/bundle" | base64 -d > "$stage/${managedFiles[1]}" && sed -n 3p "$stage/bundle" | base64 -d > "$stage/current.json" && [ -s "$stage/current.json" ] || fail "the release files on stdin are damaged or cannot be written to $stage; the running release was not touched"`,
    `rm -f "$stage/bundle"; chmod 644 "$stage/${managedFiles[0]}"`,
    "# 2. every image on the host before the running stack is touched",
    sh`for pair in ${imagePairs}; do svc=\${pair%%=*}; ref=\${pair#*=}; docker image inspect "$ref" >/dev/null 2>&1 || docker pull -q "$ref" >/dev/null 2>&1 || fail "service $svc: image $ref is not on the host and cannot be pulled; the running release was not touched"; done`,
    `phase images`,
  ];
}

/** The switch's last step, for both strategies: the deployment record, and the summary line. */
export function recordRelease(args: Pick<SwitchReleaseArgs, "layout" | "releaseId">): string[] {
  return [
    "# 6. the deployment record, written atomically once the new release runs ('previous' stays on a re-apply of the same release)",
    `now=$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
    ...readRecordLines(),
    `case "$rec_current" in ${recordOf(args.releaseId)}) ;; *) rec_previous=$rec_current ;; esac`,
    "rec_paused=null # a switch ends any pause",
    `rec_current="$(cat "$stage/current.json"),\\"deployedAt\\":\\"$now\\"}"`,
    `${writeRecordLine(`"$stage/${managedFiles[2]}"`)} || fail "release runs, but writing $app/${managedFiles[2]} failed"`,
    `rm -f "$stage/current.json"`,
    `printf '{"deployedAt":"%s","backups":[' "$now"; sep=""`,
    `for b in $(${backupFilesRelative}); do printf '%s"%s/%s"' "$sep" "$app" "$b"; sep=","; done`,
    `printf ']}\\n'`,
    `phase record`,
  ];
}

const switchResultSchema = z.object({
  /** The current record's deployedAt (host clock). */
  deployedAt: releaseRecordSchema.shape.deployedAt,
  /** Backup files on the host after this deploy (absolute paths, oldest set first). */
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
  if (layout.blueGreen) return teardownColors(layout);
  if (layout.swarm) return teardownStack(layout);
  return [
    sh`cd ${layout.appDir} 2>/dev/null && [ -f ${paths(layout).composeFile} ] || exit 0`,
    `out=$(${composeCli(layout, "down", "--remove-orphans")} 2>&1) || { printf '%s\\n' "$out" | tail -n 10 | cut -c1-300 >&2; exit 1; }`,
    `echo stopped`,
  ].join("\n");
}
