// Restore by release, end to end: the real engine, the sandbox host, real containers. v1 is
// verified; v2 fails its watch and rolls back to v1 by itself, so the newest backup set on the
// host is v2's. `restore` must still bring v1 back (the last verified release), refuse v2
// (recorded as failed) unless forced, and name the sets there are for a release without one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../../automation/commands/deploy.js";
import { restore, type RestoreRequest } from "../../automation/commands/restore.js";
import { ExitCode, type RunSummary } from "../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { lastFailedTag, releaseIn, verifiedReleases } from "../../automation/stages/releases.js";
import * as hc from "../../components/host-commands/index.js";
import { driverStack, type DriverStack, e2eLog } from "../support/driver.js";
import { clearCorner, get, onHost, runningOnHost, target, testCorner } from "./components-support.js";

const corner = testCorner("restore", { backend: 18680, frontend: 18681 });
const layout: hc.HostLayout = { appDir: corner.appDir, composeProject: corner.composeProject, composeCommand: "docker compose" };
const stackName = `test-restore-${process.pid}`;
const quiet = e2eLog("e2e-restore");
let ds: DriverStack;

const explain = (s: RunSummary) => JSON.stringify({ outcome: s.outcome, messages: s.messages, restore: s.restore, verdict: s.monitor?.verdict }, null, 1);
const run = (req: Partial<RestoreRequest> = {}) => restore({ stackName, deps: ds.deps, log: quiet, confirm: "RESTORE", ...req });
const hostStatus = () => hc.parseDeploymentStatus(onHost(hc.readDeploymentStatus(layout)), "the sandbox")!;
const sets = () => hc.parseBackupSets(onHost(hc.listBackupSets(layout)), layout);
const configRelease = async () => releaseIn(await ds.liveConfig(), "the live config");

async function liveVersion(): Promise<string> {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : "down";
}

/** Everything a restore could change: the record, the files, the sets, the containers, the release in the config. */
async function snapshot() {
  const files = onHost(`cd ${corner.appDir} && cat deployment.json docker-compose.yml .env && ls -1 backups`);
  return { files, running: runningOnHost(corner.composeProject), release: await configRelease() };
}

/** What runs is `id`: deployment.json, the containers' images, what the app answers, the stack config. */
async function expectLive(id: string): Promise<void> {
  expect(hostStatus().current).toMatchObject({ id, images: target.releases[id] });
  const running = runningOnHost(corner.composeProject);
  expect(running.backend).toMatchObject({ image: target.releases[id]!.backend, state: "running" });
  expect(running.frontend).toMatchObject({ image: target.releases[id]!.frontend, state: "running" });
  expect(await liveVersion()).toBe(id);
  expect(await configRelease()).toMatchObject({ id, images: target.releases[id] });
}

beforeAll(async () => {
  clearCorner(corner);
  ds = await driverStack(stackName, quiet);
  await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
});

afterAll(async () => {
  clearCorner(corner);
  await ds?.cleanup();
});

describe("restore by release", () => {
  it("v1 is verified; v2 fails its watch and rolls back to v1 by itself: the newest backup set is v2's", async () => {
    const base = { stackName, deps: ds.deps, log: quiet, skipCiCheck: true, allowDirty: true };
    const v1 = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
    expect(v1.outcome, explain(v1)).toBe("deployed-verified");
    const v2 = await deploy({ ...base, releaseId: "v2", images: target.releases.v2 });
    expect(v2.outcome, explain(v2)).toBe("rolled-back");
    await expectLive("v1");
    // One set per switch, named by the release its files belonged to; each manifest names it.
    const [ofV1, ofV2] = sets();
    expect([ofV1?.releaseId, ofV2?.releaseId, sets().length]).toEqual(["v1", "v2", 2]);
    expect(ofV2!.manifest).toMatchObject({ release: { id: "v2", images: target.releases.v2 }, files: ["docker-compose.yml", ".env", "deployment.json"] });
    expect(onHost(`sha256sum ${ofV2!.path}/docker-compose.yml`).slice(0, 64)).toBe(ofV2!.manifest!.composeSha256);
    expect(ofV2!.manifest!.composeSha256).toBe(ofV2!.manifest!.release!.composeSha256);
    expect(hostStatus()).toMatchObject({ verified: { id: "v1" }, failed: { id: "v2" } });
    expect((await (await ds.engine()).tags())[lastFailedTag]).toMatch(/^v2@\d+$/);
  });

  it("restore (default) brings back v1, the last verified release, not v2", async () => {
    const [ofV1] = sets();
    const s = await run();
    expect(s.outcome, explain(s)).toBe("restored");
    expect(s.exitCode).toBe(ExitCode.Ok);
    expect(s.restore).toMatchObject({ set: ofV1!.name, release: "v1", from: "v1", backup: expect.stringMatching(/^backups\/\d{8}T\d{6}Z-v1$/) });
    expect(s.monitor?.verdict.state).toBe("passed");
    await expectLive("v1");
    expect(hostStatus().verified?.id).toBe("v1");
    expect((await verifiedReleases(await ds.engine()))[0]?.id).toBe("v1");
    expect(sets().map((set) => set.releaseId)).toEqual(["v1", "v2", "v1"]);
  });

  it("restore --release v2 is refused (v2 failed) and changes nothing", async () => {
    const before = await snapshot();
    const s = await run({ release: "v2" });
    expect(s.outcome, explain(s)).toBe("usage");
    expect(s.exitCode).toBe(ExitCode.Usage);
    expect(s.messages.join(" ")).toMatch(/^Restore refused: release v2 is recorded as failed \(the host's deployment\.json records it as failed at .*; the stack tag awareness:last-failed-release is v2@\d+\)/);
    expect(await snapshot()).toEqual(before);
    await expectLive("v1");
  });

  it("restore --release v2 --force restores v2; it fails its watch again: restore-failed, v2 stays live", async () => {
    const s = await run({ release: "v2", force: true });
    expect(s.outcome, explain(s)).toBe("restore-failed");
    expect(s.exitCode).toBe(ExitCode.FailedNoRollback);
    expect(s.restore).toMatchObject({ release: "v2", from: "v1", set: expect.stringMatching(/-v2$/) });
    expect(s.monitor?.verdict).toMatchObject({ state: "failed" });
    await expectLive("v2");
    expect(hostStatus()).toMatchObject({ previous: { id: "v1" }, verified: { id: "v1" }, failed: { id: "v2" } });
  });

  it("a release without a backup set is a usage error naming the sets there are; the default brings v1 back again", async () => {
    const there = sets();
    const s = await run({ release: "v3" });
    expect(s.outcome, explain(s)).toBe("usage");
    const message = s.messages.join(" ");
    expect(message).toMatch(/^No backup set of release v3 on root@127\.0\.0\.1:\d+\. Backup sets on .* \(oldest first\): /);
    for (const set of there) expect(message).toContain(`${set.name} (release ${set.releaseId}, backed up ${set.manifest!.backedUpAt})`);
    await expectLive("v2");
    const back = await run();
    expect(back.outcome, explain(back)).toBe("restored");
    expect(back.restore).toMatchObject({ release: "v1", from: "v2" });
    await expectLive("v1");
  });
});
