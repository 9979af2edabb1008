// Named volumes end to end: the real engine, the sandbox host, real containers and a real named
// volume (the backend mounts "appdata" at /data, with snapshotVolumes). v1 runs and writes its
// data; v2's switch archives the volume into the backup set of v1 (v2 then fails its watch and
// rolls back by itself); the data changes again. A restore without --volumes leaves the data
// alone, a damaged archive is refused, `restore --release v1 --volumes` brings back the data as it
// was when v2's switch began, and the volume itself is never removed (same volume, no destroy event).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { restore, type RestoreRequest } from "../../automation/commands/restore.js";
import type { RunSummary } from "../../automation/report/summary.js";
import { applySandboxStackConfig, sandboxStackConfig } from "../../automation/sandbox/target.js";
import * as hc from "../../components/host-commands/index.js";
import { driverStack, type DriverStack, e2eLog } from "../support/driver.js";
import { clearCorner, get, onHost, target, testCorner } from "./components-support.js";

const corner = testCorner("volumes", { backend: 19180, frontend: 19181 });
const layout: hc.HostLayout = { appDir: corner.appDir, composeProject: corner.composeProject, composeCommand: "docker compose" };
const volume = `${corner.composeProject}_appdata`;
const stackName = `test-volumes-${process.pid}`;
const quiet = e2eLog("e2e-volume-snapshots");
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;
/** Host clock (unix seconds) before the first deploy: volume events are read from then on. */
let since: string;
/** The volume's folder on the host as first created (device and inode): a removed and re-created volume would differ. */
let identity: string;

const explain = (s: RunSummary) => JSON.stringify({ outcome: s.outcome, messages: s.messages, restore: s.restore, verdict: s.monitor?.verdict }, null, 1);
const run = (req: Partial<RestoreRequest> = {}) => restore({ stackName, deps: ds.deps, log: quiet, confirm: "RESTORE", ...req });
const sets = () => hc.parseBackupSets(onHost(hc.listBackupSets(layout)), layout);
const backendId = () => onHost(`docker ps -q --filter label=com.docker.compose.project=${corner.composeProject} --filter label=com.docker.compose.service=backend`).trim();
/** The data as the running backend sees it in /data: every file with its text. */
const data = () => onHost(`docker exec ${backendId()} sh -c 'cd /data && find . -type f | sort | while read -r f; do printf "%s=%s\\n" "$f" "$(cat "$f")"; done'`);
const writeData = (script: string) => onHost(`docker exec ${backendId()} sh -c '${script}'`);
// Not CreatedAt: for the local driver that is the folder's mtime, which any write changes.
const volumeIdentity = () => onHost(`mp=$(docker volume inspect -f '{{.Mountpoint}}' ${volume}) && stat -c '%d:%i' "$mp" "$(dirname "$mp")" | tr '\\n' ' '`).trim();
const volumeDestroyEvents = () =>
  onHost(`docker events --since ${since} --until $(date +%s) --filter type=volume --filter event=destroy --format '{{.Actor.ID}}'`).trim();
async function liveVersion(): Promise<string> {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : "down";
}

beforeAll(async () => {
  clearCorner(corner);
  // A volume a previous run of this file left (test cleanup only: the product never removes one).
  onHost(`docker volume rm ${volume} >/dev/null 2>&1 || true`);
  ds = await driverStack(stackName, quiet);
  base = { stackName, deps: ds.deps, log: quiet, skipCiCheck: true, allowDirty: true };
  const services = JSON.parse(sandboxStackConfig(target, "v1", corner)["awareness:services"]!.value) as Record<string, Record<string, unknown>>;
  services.backend = { ...services.backend, volumes: ["appdata:/data"], snapshotVolumes: true };
  await applySandboxStackConfig(await ds.engine(), target, "v1", { ...corner, overrides: { "awareness:services": services } });
  since = onHost("date +%s").trim();
});

afterAll(async () => {
  clearCorner(corner);
  onHost(`docker volume rm ${volume} >/dev/null 2>&1 || true`);
  await ds?.cleanup();
});

const atV1 = "./notes=written by v1\n./state=at v1\n";
const atV2 = "./later=after v2\n./state=after v2\n";

describe("named volumes: snapshotVolumes and restore --volumes", () => {
  it("deploy v1: nothing to archive yet; v1 writes its data into the volume", async () => {
    const v1 = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
    expect(v1.outcome, explain(v1)).toBe("deployed-verified");
    expect(sets()).toEqual([]);
    identity = volumeIdentity();
    writeData("echo at v1 > /data/state && echo written by v1 > /data/notes");
    expect(data()).toBe(atV1);
  });

  it("deploy v2: its switch archives the volume into v1's backup set (sha256 and size in the manifest); v2 fails and rolls back", async () => {
    const v2 = await deploy({ ...base, releaseId: "v2", images: target.releases.v2 });
    expect(v2.outcome, explain(v2)).toBe("rolled-back");
    expect(await liveVersion()).toBe("v1");
    const [ofV1, ofV2] = sets();
    expect([ofV1?.releaseId, ofV2?.releaseId]).toEqual(["v1", "v2"]);
    for (const set of [ofV1!, ofV2!]) {
      const [archive] = set.manifest!.volumes!;
      expect(archive).toMatchObject({ name: "appdata", volume, service: "backend", file: "volumes/appdata.tar" });
      const path = `${set.path}/${archive!.file}`;
      expect(onHost(`sha256sum ${path} | cut -c1-64`).trim()).toBe(archive!.sha256);
      expect(Number(onHost(`wc -c < ${path}`).trim())).toBe(archive!.size);
      expect(onHost(`tar -xOf ${path} awareness-volume/state`)).toBe("at v1\n");
    }
    // The data is untouched by the switches, and it is the same volume.
    expect(data()).toBe(atV1);
    expect(volumeIdentity()).toBe(identity);
  });

  it("restore --release v1 without --volumes leaves the changed data as it is", async () => {
    writeData("rm /data/notes && echo after v2 > /data/state && echo after v2 > /data/later");
    expect(data()).toBe(atV2);
    const s = await run({ release: "v1" });
    expect(s.outcome, explain(s)).toBe("restored");
    expect(s.restore?.volumes).toBeUndefined();
    expect(data()).toBe(atV2);
  });

  it("a damaged archive is refused before anything changes", async () => {
    const ofV1 = sets().filter((s) => s.releaseId === "v1" && s.manifest?.volumes).at(-1)!;
    const path = `${ofV1.path}/volumes/appdata.tar`;
    const before = backendId();
    onHost(`printf x >> ${path}`);
    try {
      const s = await run({ release: "v1", volumes: true });
      expect(s.outcome, explain(s)).toBe("error");
      expect(s.messages.join(" ")).toContain(`the archive ${path} is damaged: its sha256 is`);
      expect(s.messages.join(" ")).toContain("nothing was changed");
    } finally {
      onHost(`truncate -s -1 ${path}`);
    }
    expect(backendId()).toBe(before);
    expect(data()).toBe(atV2);
    expect(onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim()).toBe("free");
  });

  it("restore --release v1 --volumes brings back the data as it was at v2's switch; the data before is archived for an undo", async () => {
    const ofV1 = sets().filter((s) => s.releaseId === "v1" && s.manifest?.volumes).at(-1)!;
    const s = await run({ release: "v1", volumes: true });
    expect(s.outcome, explain(s)).toBe("restored");
    expect(s.restore).toMatchObject({ set: ofV1.name, release: "v1", volumes: ["appdata"] });
    expect(await liveVersion()).toBe("v1");
    expect(data()).toBe(atV1);
    // The restore's own set holds what it replaced, the volume as it was (after v2) included.
    const undo = sets().find((set) => `backups/${set.name}` === s.restore!.backup)!;
    expect(onHost(`tar -xOf ${undo.path}/volumes/appdata.tar awareness-volume/state`)).toBe("after v2\n");
  });

  it("a plain deploy converges and keeps the data; the volume was never removed across deploys, rollbacks and restores", async () => {
    const v1 = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
    expect(v1.outcome, explain(v1)).toBe("deployed-verified");
    expect(data()).toBe(atV1);
    expect(volumeIdentity()).toBe(identity);
    expect(volumeDestroyEvents()).toBe("");
  });
});
