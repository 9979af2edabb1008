// Named volumes: archived with the backup set of a switch (per service `snapshotVolumes`) and put
// back only by `restore --volumes`. Nothing here, or anywhere, removes a volume.
//
// How a volume is read and written: through `docker cp` on a container of the service's own image
// that is created and never started, with the volume mounted. The tar is made (and, on restore,
// unpacked) by dockerd itself, so neither the image nor the host needs tar, no image comes from
// the internet, it works for every volume driver and for a deploy user in the docker group, and
// owners and modes are kept. Only emptying a volume before a restore needs the volume's
// directory on the host (the local driver, and a user who may write there: root by default).
import { z } from "zod";
import type { HostLayout } from "./layout.js";
import { sh } from "./shell.js";

/** A named volume to archive (its compose name), the service that declares it, an image on the host to mount it in. */
export interface VolumeSnapshotSpec {
  service: string;
  volume: string;
  image: string;
}

/** A volume archive in a set's manifest.json. */
export const volumeArchiveSchema = z.object({
  /** The volume's name in the compose file. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/),
  /** The docker volume (compose names it <project>_<name>). */
  volume: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/),
  service: z.string(),
  /** Relative to the set's folder. */
  file: z.string().regex(/^volumes\/[A-Za-z0-9][A-Za-z0-9_.-]{0,254}\.tar$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});

export type VolumeArchive = z.infer<typeof volumeArchiveSchema>;

/** An archive to put back, and an image (the restored release's, for its service) to mount its volume in. */
export type VolumeToRestore = VolumeArchive & { image: string };

/** Where a volume is mounted in the never-started container (the top folder of every archive). */
const mountPoint = "/awareness-volume";

/**
 * Shell lines defining the helpers (with $app and `fail` set): `volume_of NAME` prints the
 * project's docker volume for a compose volume name (by compose's labels), `volume_image IMAGE`
 * makes sure the image is on the host, `volume_container VOLUME IMAGE MODE` creates (never
 * starts) a container mounting it and prints its id.
 */
function volumeHelpers(layout: HostLayout): string[] {
  return [
    sh`project=${layout.composeProject}`,
    `volume_of() { docker volume ls -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.volume=$1" | head -n 1; }`,
    `volume_image() { docker image inspect "$1" >/dev/null 2>&1 || docker pull -q "$1" >/dev/null 2>&1; }`,
    // A dummy command: the container is never started, so the image needs no shell and no tar.
    `volume_container() { docker create --network none --label awareness.volume-helper=1 -v "$1:${mountPoint}$3" "$2" awareness-never-started; }`,
    // -v: the anonymous volumes an image's VOLUME lines gave the helper (postgres has one), else
    // each snapshot would leave one behind. Docker never removes a named volume this way.
    `volume_container_rm() { docker rm -f -v "$1" >/dev/null 2>&1; }`,
  ];
}

/**
 * Shell lines (after volumeHelpers, with $bak set to a new set's folder, or empty) archiving each
 * volume to "$bak/volumes/<name>.tar" while its service runs (crash-consistent). Sets $vol_json
 * (which backupCurrentFiles starts empty):
 * the manifest's `"volumes"` line (with its leading comma), empty when nothing was archived. A
 * volume that does not exist yet (a first deploy) has nothing to archive; a failure removes the
 * set and fails before anything running is touched.
 */
export function snapshotVolumes(layout: HostLayout, specs: readonly VolumeSnapshotSpec[]): string[] {
  if (specs.length === 0) return [];
  const triples = specs.map((s) => `${s.service}|${s.volume}|${s.image}`);
  return [
    ...volumeHelpers(layout),
    `vol_entries=""`,
    `snapshot_failed() { rm -rf "$bak"; fail "$1; the running release was not touched"; }`,
    sh`[ -z "$bak" ] || for triple in ${triples}; do`,
    `  svc=\${triple%%|*}; rest=\${triple#*|}; name=\${rest%%|*}; img=\${rest#*|}; dv=$(volume_of "$name")`,
    `  [ -n "$dv" ] || { echo "volume $name of service $svc does not exist yet: nothing to archive" >&2; continue; }`,
    `  case ",$vol_entries" in *"\\"name\\":\\"$name\\","*) continue ;; esac`,
    `  mkdir -p "$bak/volumes" && volume_image "$img" || snapshot_failed "volume $dv: the image $img to read it with is not on the host"`,
    `  cid=$(volume_container "$dv" "$img" :ro) || snapshot_failed "volume $dv: cannot create a container of $img to read it"`,
    `  docker cp "$cid:${mountPoint}" - > "$bak/volumes/$name.tar"; ok=$?; volume_container_rm "$cid"`,
    `  [ "$ok" = 0 ] || snapshot_failed "archiving volume $dv failed"`,
    `  s=$(sha256sum "$bak/volumes/$name.tar" | cut -c1-64); n=$(wc -c < "$bak/volumes/$name.tar" | tr -d ' ')`,
    `  vol_entries="$vol_entries\${vol_entries:+,}{\\"name\\":\\"$name\\",\\"volume\\":\\"$dv\\",\\"service\\":\\"$svc\\",\\"file\\":\\"volumes/$name.tar\\",\\"sha256\\":\\"$s\\",\\"size\\":$n}"`,
    `done`,
    `[ -z "$vol_entries" ] || vol_json=$(printf ',\\n  "volumes": [%s]' "$vol_entries")`,
  ];
}

/**
 * Shell lines (after volumeHelpers, in the app dir, with $src the set to restore) that check
 * every archive before anything changes: present, its sha256 as the manifest says, its volume
 * there (created with compose's labels when it is gone) and emptyable from the host. Each archive
 * is linked into the staging dir ($stage), since keeping the newest sets may remove $src. Sets $restore_vols.
 */
export function checkVolumeArchives(layout: HostLayout, archives: readonly VolumeToRestore[]): string[] {
  const rows = archives.map((a) => `${a.name}|${a.sha256}|${a.image}`);
  return [
    ...volumeHelpers(layout),
    `restore_vols=""`,
    sh`for row in ${rows}; do`,
    `  name=\${row%%|*}; rest=\${row#*|}; want=\${rest%%|*}; img=\${rest#*|}; f="$src/volumes/$name.tar"`,
    `  [ -f "$f" ] || fail "the backup set $src has no archive of volume $name: nothing was changed"`,
    `  got=$(sha256sum "$f" | cut -c1-64); [ "$got" = "$want" ] || fail "the archive $app/$f is damaged: its sha256 is $got, the manifest says $want; nothing was changed"`,
    `  volume_image "$img" || fail "volume $name: the image $img to write it with is not on the host and cannot be pulled; nothing was changed"`,
    `  dv=$(volume_of "$name"); if [ -z "$dv" ]; then dv="$project"_"$name"; docker volume create --label "com.docker.compose.project=$project" --label "com.docker.compose.volume=$name" "$dv" >/dev/null || fail "cannot create volume $dv; nothing was changed"; fi`,
    `  mp=$(docker volume inspect -f '{{.Mountpoint}}' "$dv" 2>/dev/null); [ -n "$mp" ] && [ -d "$mp" ] && [ -w "$mp" ] || fail "volume $dv cannot be emptied from the host (its directory '$mp' is not writable here: restore --volumes needs the local volume driver and root); nothing was changed"`,
    `  ln -f "$f" "$stage/volume-$name.tar" 2>/dev/null || cp -p "$f" "$stage/volume-$name.tar" || fail "cannot stage $app/$f; nothing was changed"`,
    `  restore_vols="$restore_vols $name|$dv|$img|$mp"`,
    `done`,
  ];
}

/**
 * Shell lines (after checkVolumeArchives) that put the archives back: every container using a
 * volume is stopped, the volume emptied in place (never removed) and the archive unpacked into
 * it by dockerd. The containers are started again by the restore's `up -d`.
 */
export function restoreVolumes(): string[] {
  return [
    `for row in $restore_vols; do`,
    `  name=\${row%%|*}; rest=\${row#*|}; dv=\${rest%%|*}; rest=\${rest#*|}; img=\${rest%%|*}; mp=\${rest#*|}`,
    `  users=$(docker ps -q --filter "volume=$dv"); [ -z "$users" ] || docker stop $users >/dev/null || fail "cannot stop the containers using volume $dv; its contents were not changed"`,
    `  echo "volume $dv: stopped its containers, putting back $src/volumes/$name.tar" >&2`,
    `  find "$mp" -mindepth 1 -maxdepth 1 -exec rm -rf {} + || fail "emptying volume $dv failed; it is incomplete (its contents before the restore are in $app/$bak/volumes/$name.tar), its containers are stopped"`,
    `  cid=$(volume_container "$dv" "$img" "") || fail "volume $dv: cannot create a container of $img to write it; it is empty, its containers are stopped"`,
    `  docker cp - "$cid:/" < "$stage/volume-$name.tar"; ok=$?; volume_container_rm "$cid"; rm -f "$stage/volume-$name.tar"`,
    `  [ "$ok" = 0 ] || fail "unpacking $src/volumes/$name.tar into volume $dv failed; its containers are stopped"`,
    `done`,
  ];
}
