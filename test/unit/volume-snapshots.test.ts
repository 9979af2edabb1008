// Named volumes: the snapshotVolumes setting, the switch archiving volumes into its backup set and
// `restore --volumes` putting them back (run for real with a stand-in docker whose volumes are
// folders and whose `docker cp` is tar), and an audit that no host command ever removes a volume.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderReleaseRecordPrefix } from "../../components/compose/render.js";
import { ConfigError, parseStackConfig } from "../../components/config/parse.js";
import { volumesToSnapshot } from "../../components/config/schema.js";
import * as hc from "../../components/host-commands/index.js";

const hex = (c: string) => c.repeat(64);
const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

function configWith(services: Record<string, unknown>): Record<string, string> {
  return {
    "awareness:hosts": JSON.stringify([{ host: "server.example.com" }]),
    "awareness:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    "awareness:services": JSON.stringify(services),
    "awareness:release": JSON.stringify({ id: "v1", images: { db: `postgres@sha256:${hex("d")}` } }),
  };
}

function problemsOf(services: Record<string, unknown>) {
  try {
    parseStackConfig(configWith(services));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.key}: ${p.message}`);
  }
  throw new Error("expected the config to be refused");
}

describe("snapshotVolumes in the stack config", () => {
  const db = { volumes: ["pgdata:/var/lib/postgresql/data", "logs:/logs:ro"] };

  it("false by default; true means every volume of the service; a list names some of them", () => {
    const services = (snapshot: unknown) => parseStackConfig(configWith({ db: { ...db, ...(snapshot === undefined ? {} : { snapshotVolumes: snapshot }) } })).services.db!;
    expect(services(undefined).snapshotVolumes).toBe(false);
    expect(volumesToSnapshot(services(undefined))).toEqual([]);
    expect(volumesToSnapshot(services(true))).toEqual(["pgdata", "logs"]);
    expect(volumesToSnapshot(services(["logs"]))).toEqual(["logs"]);
    expect(volumesToSnapshot(services([]))).toEqual([]);
  });

  it("refuses, naming the key: unknown or repeated names, true without volumes, other types, hostile and huge names", () => {
    expect(problemsOf({ db: { ...db, snapshotVolumes: ["pgdata", "ghost", "pgdata"] } })).toEqual([
      'awareness:services.db.snapshotVolumes[1]: "ghost" is not a volume of this service (its volumes: pgdata, logs)',
      'awareness:services.db.snapshotVolumes[2]: "pgdata" is listed twice',
    ]);
    expect(problemsOf({ db: { snapshotVolumes: true } })).toEqual(["awareness:services.db.snapshotVolumes: snapshotVolumes is true but the service declares no volumes"]);
    for (const bad of ["yes", 1, null, { pgdata: true }]) {
      expect(problemsOf({ db: { ...db, snapshotVolumes: bad } })).toEqual(["awareness:services.db.snapshotVolumes: expected true, false or a list of at most 50 of this service's volume names"]);
    }
    for (const bad of ["pg;rm -rf /", "-v", "pg data", "../x", "pg\ndata", ""]) {
      expect(problemsOf({ db: { ...db, snapshotVolumes: [bad] } }).join("\n")).toMatch(/^awareness:services\.db\.snapshotVolumes(\[0\])?: expected the name of one of this service's volumes/);
    }
    expect(problemsOf({ db: { ...db, snapshotVolumes: ["p".repeat(256)] } })[0]).toMatch(/expected a volume name of at most 255 characters/);
    expect(problemsOf({ db: { ...db, snapshotVolumes: Array.from({ length: 51 }, () => "pgdata") } }).join("\n")).toMatch(/a list of at most 50 of this service's volume names/);
  });
});

/**
 * A temp app dir and a `docker` that logs every call: volumes are folders (their compose labels
 * in the folder name), `create` records which volume a container mounts, `cp` is tar of/into
 * that folder, `ps --filter volume=` names the app's container while it "runs".
 */
function host() {
  const dir = mkdtempSync(join(tmpdir(), "hc-vols-"));
  const layout: hc.HostLayout = { appDir: join(dir, "app"), composeProject: "shop", composeCommand: "docker compose" };
  const bin = join(dir, "bin");
  mkdirSync(bin);
  mkdirSync(join(dir, "volumes"));
  mkdirSync(join(dir, "containers"));
  writeFileSync(
    join(bin, "docker"),
    [
      "#!/bin/sh",
      `d=${dir}`,
      `echo "$*" >> "$d/docker.log"`,
      `case "$*" in`,
      `  *" up -d --remove-orphans") [ -f "$d/up-fails" ] && exit 1; touch "$d/running" ;;`,
      `  *" config --services") echo db ;;`,
      `  "ps -a -q"*) echo c1 ;;`,
      `  "ps -q --filter volume="*) [ -f "$d/running" ] && echo app1 ;;`,
      `  "stop app1") rm -f "$d/running"; echo app1 ;;`,
      `  "inspect -f"*) echo "running none 0 0" ;;`,
      `  "image inspect"*) ;;`,
      // volume ls -q --filter label=…project=P --filter label=…volume=N
      `  "volume ls"*) p=\${5#label=com.docker.compose.project=}; n=\${7#label=com.docker.compose.volume=}; [ -d "$d/volumes/\${p}_$n" ] && echo "\${p}_$n" ;;`,
      `  "volume create"*) mkdir -p "$d/volumes/$7/awareness-volume"; echo "$7" ;;`,
      `  "volume inspect"*) echo "$d/volumes/$5/awareness-volume" ;;`,
      // create --network none --label L -v VOL:/awareness-volume[:ro] IMAGE CMD
      `  "create "*) [ -f "$d/create-fails" ] && exit 1; id="h$(ls "$d/containers" | wc -l)"; v=\${7%%:*}; printf '%s %s\\n' "$v" "$8" > "$d/containers/$id"; echo "$id" ;;`,
      `  "cp - "*) id=\${3%%:*}; set -- $(cat "$d/containers/$id"); tar -C "$d/volumes/$1" -xf - ;;`,
      `  "cp "*) [ -f "$d/cp-fails" ] && exit 1; id=\${2%%:*}; set -- $(cat "$d/containers/$id"); tar -C "$d/volumes/$1" -cf - awareness-volume ;;`,
      `  "rm -f -v "*) rm -f "$d/containers/$4" ;;`,
      `esac`,
    ].join("\n"),
    { mode: 0o755 },
  );
  const env = { PATH: `${bin}:${process.env.PATH}` };
  const run = (script: string, input = "") => {
    const r = spawnSync("/bin/sh", ["-c", script], { input, encoding: "utf8", env });
    // Without the switch's phase lines (the run's breakdown reads them; host-commands.test.ts checks them).
    const stderr = r.stderr.split("\n").filter((l) => !l.startsWith(`${hc.switchPhaseMarker} `)).join("\n");
    return { code: r.status, stdout: r.stdout, stderr };
  };
  const volumeDir = (name: string) => join(dir, "volumes", `shop_${name}`, "awareness-volume");
  const makeVolume = (name: string) => mkdirSync(volumeDir(name), { recursive: true });
  const write = (name: string, files: Record<string, string>) => {
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(join(volumeDir(name), f, ".."), { recursive: true });
      writeFileSync(join(volumeDir(name), f), text);
    }
  };
  /** Every file of a volume with its text. */
  const read = (name: string): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
      for (const e of readdirSync(join(volumeDir(name), rel), { withFileTypes: true })) {
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path);
        else out[path] = readFileSync(join(volumeDir(name), path), "utf8");
      }
    };
    walk("");
    return out;
  };
  const log = () => (existsSync(join(dir, "docker.log")) ? readFileSync(join(dir, "docker.log"), "utf8").trim().split("\n") : []);
  const image = (id: string) => `postgres@sha256:${hex(id.slice(1))}`;
  const snapshots = (id: string): hc.VolumeSnapshotSpec[] => [
    { service: "db", volume: "pgdata", image: image(id) },
    { service: "db", volume: "cache", image: image(id) },
  ];
  const deploy = (id: string) => {
    const compose = `services: {db: {image: "${image(id)}"}}\n`;
    const script = hc.switchRelease({ layout, releaseId: id, services: [{ name: "db", image: image(id), waitHealthy: true }], retainBackups: 3, startTimeoutSeconds: 5, stableChecks: 1, snapshotVolumes: snapshots(id) });
    const prefix = renderReleaseRecordPrefix({ id, gitSha: null, images: { db: image(id) }, composeSha256: sha256(compose), composeCommand: "docker compose" });
    return run(hc.switchReleaseCommand({ layout, releaseId: id, images: { db: image(id) } }), hc.switchReleaseStdin({ script, compose, env: "", currentRecordPrefix: prefix }));
  };
  const sets = () => hc.parseBackupSets(run(hc.listBackupSets(layout)).stdout, layout);
  const restore = (set: hc.BackupSet, volumes?: hc.VolumeToRestore[]) =>
    run(hc.restoreBackupSet({ layout, set: set.name, retainSets: 5, startTimeoutSeconds: 5, stableChecks: 1, ...(volumes ? { volumes } : {}) }));
  const archivesOf = (set: hc.BackupSet) => set.manifest!.volumes!.map((a) => ({ ...a, image: set.manifest!.release!.images.db! }));
  return { dir, layout, makeVolume, write, read, log, deploy, sets, restore, archivesOf, image, touch: (f: string) => writeFileSync(join(dir, f), "") };
}

describe("the switch archives named volumes into its backup set", () => {
  it("a first deploy has nothing to archive; the next switch archives each existing volume, read-only, with the new release's image, never started", () => {
    const h = host();
    const first = h.deploy("v1");
    expect(first.code, first.stderr).toBe(0);
    expect(h.sets()).toEqual([]);
    h.makeVolume("pgdata");
    h.write("pgdata", { "PG_VERSION": "16\n", "base/1/table": "rows at v1\n" });
    const second = h.deploy("v2");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain("volume cache of service db does not exist yet: nothing to archive");
    const [set] = h.sets();
    const tar = readFileSync(join(set!.path, "volumes", "pgdata.tar"));
    expect(set!.manifest!.volumes).toEqual([
      { name: "pgdata", volume: "shop_pgdata", service: "db", file: "volumes/pgdata.tar", sha256: sha256(tar), size: tar.length },
    ]);
    expect(set!.releaseId).toBe("v1");
    const listing = spawnSync("tar", ["-tf", join(set!.path, "volumes", "pgdata.tar")], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).sort();
    expect(listing).toEqual(["awareness-volume/", "awareness-volume/PG_VERSION", "awareness-volume/base/", "awareness-volume/base/1/", "awareness-volume/base/1/table"]);
    const calls = h.log();
    expect(calls).toContain(`create --network none --label awareness.volume-helper=1 -v shop_pgdata:/awareness-volume:ro ${h.image("v2")} awareness-never-started`);
    expect(calls.some((c) => c.startsWith("start"))).toBe(false);
    expect(calls.filter((c) => c.startsWith("rm -f"))).toEqual(["rm -f -v h0"]);
    // Archived before the new files were switched in and started.
    expect(calls.findIndex((c) => c.startsWith("cp h0:"))).toBeLessThan(calls.findLastIndex((c) => c.endsWith("up -d --remove-orphans")));
  });

  it("a failed archive fails the switch before anything running is touched, and leaves no half set", () => {
    const h = host();
    expect(h.deploy("v1").code).toBe(0);
    h.makeVolume("pgdata");
    h.touch("cp-fails");
    const ups = h.log().filter((c) => c.endsWith("up -d --remove-orphans")).length;
    const r = h.deploy("v2");
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("archiving volume shop_pgdata failed; the running release was not touched");
    expect(h.log().filter((c) => c.endsWith("up -d --remove-orphans"))).toHaveLength(ups);
    expect(readFileSync(join(h.layout.appDir, "docker-compose.yml"), "utf8")).toContain(h.image("v1"));
    expect(h.sets()).toEqual([]);
  });
});

describe("restore --volumes puts the archives back; a restore without it never touches a volume", () => {
  /** v1 with data, v2 switched (the set of v1 holds v1's data), the data changed since. */
  function afterTwoDeploys() {
    const h = host();
    expect(h.deploy("v1").code).toBe(0);
    h.makeVolume("pgdata");
    h.write("pgdata", { "PG_VERSION": "16\n", "base/1/table": "rows at v1\n" });
    expect(h.deploy("v2").code).toBe(0);
    h.write("pgdata", { "base/1/table": "rows at v2\n", "base/2/new": "made by v2\n" });
    const [ofV1] = h.sets();
    return { h, ofV1: ofV1! };
  }

  it("stops the containers using the volume, empties it in place, unpacks the archive, starts them; the contents before are archived for an undo", () => {
    const { h, ofV1 } = afterTwoDeploys();
    const before = h.log().length;
    const r = h.restore(ofV1, h.archivesOf(ofV1));
    expect(r.code, r.stderr).toBe(0);
    expect(hc.parseRestoreOutput(r.stdout)).toMatchObject({ release: "v1", volumes: ["pgdata"] });
    expect(h.read("pgdata")).toEqual({ "PG_VERSION": "16\n", "base/1/table": "rows at v1\n" });
    const calls = h.log().slice(before);
    const stop = calls.indexOf("stop app1");
    const write = calls.findIndex((c) => c.startsWith("cp - "));
    const up = calls.findIndex((c) => c.endsWith("up -d --remove-orphans"));
    expect([stop >= 0, stop < write, write < up]).toEqual([true, true, true]);
    expect(calls).toContain(`create --network none --label awareness.volume-helper=1 -v shop_pgdata:/awareness-volume ${h.image("v1")} awareness-never-started`);
    // The restore's own set holds v2's files and the volume as it was (rows at v2): it can be undone.
    const undoSet = h.sets().at(-1)!;
    expect(undoSet.releaseId).toBe("v2");
    const tar = spawnSync("tar", ["-xOf", join(undoSet.path, "volumes", "pgdata.tar"), "awareness-volume/base/1/table"], { encoding: "utf8" });
    expect(tar.stdout).toBe("rows at v2\n");
  });

  it("refuses a damaged archive (sha256) before anything changes", () => {
    const { h, ofV1 } = afterTwoDeploys();
    const archive = join(ofV1.path, "volumes", "pgdata.tar");
    writeFileSync(archive, Buffer.concat([readFileSync(archive), Buffer.from("x")]));
    const before = h.log().length;
    const r = h.restore(ofV1, h.archivesOf(ofV1));
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `the archive ${h.layout.appDir}/backups/${ofV1.name}/volumes/pgdata.tar is damaged: its sha256 is ${sha256(readFileSync(archive))}, the manifest says ${ofV1.manifest!.volumes![0]!.sha256}; nothing was changed`,
    );
    expect(h.read("pgdata")["base/2/new"]).toBe("made by v2\n");
    expect(h.log().slice(before).filter((c) => /^(stop|create|cp|compose)/.test(c) || c.includes(" up -d"))).toEqual([]);
    expect(h.sets()).toHaveLength(1);
  });

  it("refuses an archive missing from the set before anything changes", () => {
    const { h, ofV1 } = afterTwoDeploys();
    const r = h.restore(ofV1, [{ ...h.archivesOf(ofV1)[0]!, name: "gone", file: "volumes/gone.tar" }]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`the backup set backups/${ofV1.name} has no archive of volume gone: nothing was changed`);
    expect(h.read("pgdata")["base/2/new"]).toBe("made by v2\n");
  });

  it("without --volumes the restore runs no volume command and leaves the data as it is", () => {
    const { h, ofV1 } = afterTwoDeploys();
    const before = h.log().length;
    const r = h.restore(ofV1);
    expect(r.code, r.stderr).toBe(0);
    expect(hc.parseRestoreOutput(r.stdout).volumes).toEqual([]);
    expect(h.log().slice(before).filter((c) => /volume|^create|^cp|^stop/.test(c))).toEqual([]);
    expect(h.read("pgdata")).toMatchObject({ "base/1/table": "rows at v2\n", "base/2/new": "made by v2\n" });
    expect(hc.restoreBackupSet({ layout: h.layout, set: ofV1.name, retainSets: 5, startTimeoutSeconds: 5, stableChecks: 1 })).not.toMatch(/docker volume|awareness-volume|docker cp|docker stop/);
  });
});

// ---- the audit: nothing ever removes a named volume ----

/**
 * What would remove a volume: `down -v`/`--volumes`, `volume rm`/`prune`, `system prune`, and
 * `rm -v` (a container's anonymous volumes) on anything but the never-started volume helper
 * ("$1" in volume_container_rm), whose image's VOLUME lines would otherwise leave one behind.
 */
const removesVolumes =
  /\bdown\b[^\n;|&]*\s(?:-v|--volumes)\b|\bvolume\s+(?:rm|remove|prune)\b|\bsystem\s+prune\b|\bdocker\s+(?:container\s+)?rm\b(?!\s+-f\s+-v\s+"\$1"\s+>\/dev\/null 2>&1; \})[^\n;|&]*\s-[a-z]*v/;

describe("no host command removes a named volume", () => {
  it("the pattern finds every way to remove one (so the audit can fail)", () => {
    for (const bad of [
      "docker compose -p a -f f down -v",
      "docker-compose -p a down --remove-orphans --volumes",
      "docker volume rm shop_pgdata",
      "docker volume prune -f",
      "docker system prune -af --volumes",
      "docker rm -fv c1",
      "docker container rm -v c1",
      'docker rm -f -v "$cid"',
      'volume_container_rm() { docker rm -f -v "$1" >/dev/null 2>&1; } && docker rm -v c1',
    ]) {
      expect(bad).toMatch(removesVolumes);
    }
    const helperRemoval = hc.restoreBackupSet({ layout: { appDir: "/a", composeProject: "p", composeCommand: "docker compose" }, set: "20260101T000000Z-v1", retainSets: 1, startTimeoutSeconds: 1, stableChecks: 1, volumes: [{ name: "d", volume: "p_d", service: "s", file: "volumes/d.tar", sha256: hex("a"), size: 1, image: "i:1" }] })
      .split("\n")
      .filter((l) => l.includes("docker rm"));
    expect(helperRemoval).toEqual([`volume_container_rm() { docker rm -f -v "$1" >/dev/null 2>&1; }`, `volume_container_rm() { docker rm -f -v "$1" >/dev/null 2>&1; }`]);
    for (const fine of ["docker compose -p a -f f down --remove-orphans", "docker rm -f c1", "docker volume ls -q", "docker volume create x", ...helperRemoval]) {
      expect(fine).not.toMatch(removesVolumes);
    }
  });

  it("every command the program and the driver build (switch, teardown, undo, restore with and without volumes, lock, probes, images) and every source line that builds one", () => {
    const layouts: hc.HostLayout[] = [
      { appDir: "/opt/awareness", composeProject: "shop", composeCommand: "docker compose" },
      { appDir: "/opt/awareness", composeProject: "shop", composeCommand: "docker-compose" },
    ];
    const image = `postgres@sha256:${hex("d")}`;
    const archive: hc.VolumeToRestore = { name: "pgdata", volume: "shop_pgdata", service: "db", file: "volumes/pgdata.tar", sha256: hex("a"), size: 1, image };
    const owner = { holder: "me", nonce: "n" };
    const commands = layouts.flatMap((layout) => [
      hc.switchRelease({ layout, releaseId: "v1", services: [{ name: "db", image, waitHealthy: true }], retainBackups: 3, startTimeoutSeconds: 5, stableChecks: 1, snapshotVolumes: [{ service: "db", volume: "pgdata", image }] }),
      hc.switchReleaseCommand({ layout, releaseId: "v1", images: { db: image } }),
      hc.teardown(layout),
      hc.restoreBackupSet({ layout, set: "20260101T000000Z-v1", retainSets: 3, startTimeoutSeconds: 5, stableChecks: 1 }),
      hc.restoreBackupSet({ layout, set: "20260101T000000Z-v1", retainSets: 3, startTimeoutSeconds: 5, stableChecks: 1, volumes: [archive] }),
      hc.listBackups(layout),
      hc.listBackupSets(layout),
      hc.acquireLock(layout, { ...owner, releaseId: "v1", leaseSeconds: 180 }),
      hc.renewLock(layout, owner),
      hc.releaseLock(layout, "force"),
      hc.inspectLock(layout),
      hc.precheckProbe(layout),
      hc.readDeploymentStatus(layout),
      hc.markReleaseVerified(layout, "v1"),
      hc.markReleaseFailed(layout, "v1", "broken"),
      hc.runningServices(layout),
      hc.observeHost(layout),
      hc.imagesPresent([image]),
      hc.removeImagesExcept(["postgres"], [image]),
      hc.pullAndResolveDigest("db", image),
    ]);
    for (const command of commands) expect(command).not.toMatch(removesVolumes);
    // The builders' sources and the driver's: no line (in a string or not) removes a volume.
    const sources = ["components", "automation"].flatMap((top) =>
      (readdirSync(top, { recursive: true }) as string[]).filter((f) => /\.(ts|sh)$/.test(f)).map((f) => join(top, f)),
    );
    expect(sources.length).toBeGreaterThan(40);
    const offending = sources.flatMap((f) => readFileSync(f, "utf8").split("\n").filter((l) => removesVolumes.test(l)).map((l) => `${f}: ${l.trim()}`));
    expect(offending).toEqual([]);
  });
});
