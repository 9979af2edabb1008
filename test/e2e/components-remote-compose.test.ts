// RemoteComposeStack through the real engine, the command plugin, the sandbox's sshd, dockerd
// and registry: deploy, fail safely, switch, come back exactly; assert what the host did.
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import type { OutputMap } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as hc from "../../components/host-commands/index.js";
import { awarenessProgram } from "../../components/program.js";
import type { ReleaseRecord } from "../../components/remote-compose-stack.js";
import { tempStack, type TempStack } from "../support/engine.js";
import { applySandboxStackConfig, type SandboxStackOptions } from "../../automation/sandbox/target.js";
import { clearCorner, get, imagePresentOnHost, onHost, runningOnHost, sha256, target, testCorner } from "./components-support.js";

const corner = testCorner("components-v2", { backend: 28080, frontend: 28081 });
const layout = { appDir: corner.appDir, composeProject: corner.composeProject, composeCommand: "docker compose" as const };
const options: SandboxStackOptions = { ...corner, composeCommand: "docker compose" };

/** The release record the program outputs. */
type Release = ReleaseRecord;

let ts: TempStack;

/** Every file of the temp stack's file backend, concatenated. */
function readStateFiles(dir: string): string {
  const files = readdirSync(join(dir, "state"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  expect(files.length).toBeGreaterThan(0);
  return files.map((e) => readFileSync(join(e.parentPath, e.name), "utf8")).join("\n");
}
const quiet = { onOutput: () => {} };

async function deploy(releaseId: string, extra: SandboxStackOptions = {}) {
  await applySandboxStackConfig(ts.engine, target, releaseId, { ...options, ...extra });
  const started = Date.now();
  const result = await ts.stack.up(quiet);
  return { outputs: result.outputs, seconds: (Date.now() - started) / 1000 };
}

async function deployExpectingFailure(releaseId: string, extra: SandboxStackOptions = {}): Promise<string> {
  await applySandboxStackConfig(ts.engine, target, releaseId, { ...options, ...extra });
  try {
    await ts.stack.up(quiet);
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err) + String((err as { stdout?: string }).stdout ?? "");
  }
  throw new Error(`deploying ${releaseId} was expected to fail`);
}

const releaseOf = (outputs: OutputMap) => outputs.release!.value as Release;
const hostFile = (name: string) => onHost(`cat ${corner.appDir}/${name}`);
const hostStatus = () => JSON.parse(hostFile("deployment.json")) as Record<string, Record<string, unknown> | null>;

beforeAll(async () => {
  clearCorner(corner);
  ts = await tempStack(awarenessProgram);
});

afterAll(async () => {
  try {
    await ts?.stack.destroy(quiet);
  } finally {
    await ts?.cleanup();
    clearCorner(corner);
  }
});

describe("RemoteComposeStack on the sandbox host (compose v2)", () => {
  let v1: Release;

  it("deploys v1: containers run v1's digests; files, record and outputs match the host", async () => {
    const { outputs, seconds } = await deploy("v1", { gitSha: "1111111" });
    v1 = releaseOf(outputs);
    console.log(`deploy v1 (first, compose v2): ${seconds.toFixed(1)} s`);
    expect(v1).toMatchObject({ id: "v1", gitSha: "1111111", images: target.releases.v1, host: "sandbox", appDir: corner.appDir });
    const running = runningOnHost(corner.composeProject);
    expect(running.backend).toMatchObject({ image: target.releases.v1!.backend, state: "running", name: `${corner.composeProject}-backend-1` });
    expect(running.frontend).toMatchObject({ image: target.releases.v1!.frontend, state: "running" });
    expect(sha256(hostFile("docker-compose.yml"))).toBe(v1.composeSha256);
    expect(hostFile(".env")).toBe("APP_ENV='sandbox'\nSESSION_SECRET='sandbox-session-secret'\n");
    expect(onHost(`stat -c %a ${corner.appDir}/.env`).trim()).toBe("600");
    const status = hostStatus();
    expect(status.current).toEqual({ ...v1, composeCommand: "docker compose", host: undefined, appDir: undefined });
    expect(status.previous).toBeNull();
    expect(outputs.deploymentStatusPath!.value).toBe(`${corner.appDir}/deployment.json`);
    expect(outputs.backups!.value).toEqual([]);
    expect(await get(corner.ports.backend, "/api/version")).toMatchObject({ status: 200, body: expect.stringContaining('"v1"') });
    // The secret env and the SSH key are stored encrypted: neither in clear nor as base64.
    const state = readStateFiles(ts.dir);
    expect(state).not.toContain("sandbox-session-secret");
    expect(state).not.toContain(Buffer.from("APP_ENV='sandbox'\nSESSION_SECRET='sandbox-session-secret'\n").toString("base64"));
    expect(state).not.toContain("PRIVATE KEY");
  });

  it("the same config again changes nothing (deployedAt stays)", async () => {
    const { outputs } = await deploy("v1", { gitSha: "1111111" });
    expect(releaseOf(outputs)).toEqual(v1);
    const history = await ts.stack.history(1);
    expect(history[0]!.resourceChanges).toEqual({ same: 5 });
  });

  it("v5 never starts: the update fails naming the service and the host's error, v1 serves again", async () => {
    const error = await deployExpectingFailure("v5");
    expect(error).toMatch(/release v5 did not start: service backend: container (restarting|exited)/);
    expect(error).toContain("fatal: this release never starts");
    expect(error).toContain("the previous release was brought up again");
    // The failure quotes a short command line, not the whole switch script.
    expect(error).toContain("# awareness: switch");
    expect(error).not.toContain("fail() {");
    expect(await get(corner.ports.backend, "/api/version")).toMatchObject({ status: 200, body: expect.stringContaining('"v1"') });
    expect(runningOnHost(corner.composeProject).backend).toMatchObject({ image: target.releases.v1!.backend, state: "running" });
    expect(sha256(hostFile("docker-compose.yml"))).toBe(v1.composeSha256);
    expect((hostStatus().current as { id: string }).id).toBe("v1");
    // The stack's outputs still describe what runs.
    expect(releaseOf(await ts.stack.outputs())).toEqual(v1);
  });

  it("a missing image fails at the pull, before the running stack is touched", async () => {
    const missing = `${target.registry}/awareness-backend@sha256:${"0".repeat(64)}`;
    const before = onHost(`ls -1a ${corner.appDir} | sort`);
    const error = await deployExpectingFailure("v3", { images: { backend: missing } });
    expect(error).toContain(`service backend: pull of ${missing} failed`);
    expect(onHost(`ls -1a ${corner.appDir} | sort`)).toBe(before);
    expect(runningOnHost(corner.composeProject).backend).toMatchObject({ image: target.releases.v1!.backend, state: "running" });
    expect(await get(corner.ports.backend, "/api/version")).toMatchObject({ status: 200, body: expect.stringContaining('"v1"') });
  });

  it("a release change previews as in-place updates only (nothing replaced or deleted)", async () => {
    await applySandboxStackConfig(ts.engine, target, "v3", { ...options, byTag: true });
    const ops: Record<string, string> = {};
    await ts.stack.preview({
      onEvent: (e) => {
        const m = e.resourcePreEvent?.metadata;
        if (m && m.type.startsWith("command:")) ops[m.urn.split("::").pop()!] = m.op;
      },
    });
    expect(ops).toEqual({
      "awareness-sandbox-pull-backend": "update",
      "awareness-sandbox-pull-frontend": "update",
      "awareness-sandbox-switch": "update",
    });
    // A preview changes nothing on the host.
    expect(runningOnHost(corner.composeProject).backend!.image).toBe(target.releases.v1!.backend);
  });

  let v3: Release;
  it("deploys v3 by tag: digests resolved on the host, v1's files backed up, v1's images kept", async () => {
    const { outputs, seconds } = await deploy("v3", { byTag: true });
    console.log(`deploy v1 -> v3 (by tag): ${seconds.toFixed(1)} s`);
    v3 = releaseOf(outputs);
    expect(v3.images).toEqual(target.releases.v3);
    expect(runningOnHost(corner.composeProject).backend).toMatchObject({ image: target.releases.v3!.backend, state: "running" });
    const backups = outputs.backups!.value as string[];
    // The newest backup set is the files v3 replaced: v1's, named by v1, the compose file byte for byte.
    const sets = hc.parseBackupSets(onHost(hc.listBackupSets(layout)), layout);
    const newest = sets.at(-1)!;
    expect(newest.name).toMatch(/^\d{8}T\d{6}Z-v1$/);
    expect(newest.manifest).toMatchObject({ release: { id: "v1", images: target.releases.v1, composeSha256: v1.composeSha256 }, composeSha256: v1.composeSha256 });
    expect(sha256(onHost(`cat ${newest.path}/docker-compose.yml`))).toBe(v1.composeSha256);
    expect(backups).toEqual(expect.arrayContaining([".env", "deployment.json", "docker-compose.yml", "manifest.json"].map((f) => `${newest.path}/${f}`)));
    expect(onHost(`cd ${corner.appDir} && find backups -type f`).trim().split("\n").map((f) => `${corner.appDir}/${f}`).sort()).toEqual(
      [...backups].sort(),
    );
    for (const ref of Object.values(target.releases.v1!)) expect(imagePresentOnHost(ref)).toBe(true);
    const status = hostStatus();
    expect(status.current).toMatchObject({ id: "v3", images: target.releases.v3 });
    expect(status.previous).toMatchObject({ id: "v1", images: target.releases.v1 });
    expect(await get(corner.ports.backend, "/api/version")).toMatchObject({ status: 200, body: expect.stringContaining('"v3"') });
  });

  it("up with v1's config again puts the host back on v1 exactly", async () => {
    const { outputs, seconds } = await deploy("v1", { gitSha: "1111111" });
    console.log(`deploy v3 -> v1 (rollback by config): ${seconds.toFixed(1)} s`);
    const back = releaseOf(outputs);
    expect({ ...back, deployedAt: "" }).toEqual({ ...v1, deployedAt: "" });
    expect(back.deployedAt >= v3.deployedAt).toBe(true);
    expect(sha256(hostFile("docker-compose.yml"))).toBe(v1.composeSha256);
    const running = runningOnHost(corner.composeProject);
    expect(running.backend!.image).toBe(target.releases.v1!.backend);
    expect(running.frontend!.image).toBe(target.releases.v1!.frontend);
    const status = hostStatus();
    expect(status.current).toMatchObject({ id: "v1", images: target.releases.v1, composeSha256: v1.composeSha256 });
    expect(status.previous).toMatchObject({ id: "v3" });
    expect(await get(corner.ports.backend, "/api/version")).toMatchObject({ status: 200, body: expect.stringContaining('"v1"') });
  });

  it("the driver's host commands work on the deployed host", async () => {
    const report = hc.parsePrecheck(onHost(hc.precheckProbe(layout)));
    expect(report.compose).toBe("2.40.3");
    expect(report.dockerServer).toMatch(/^\d+\.\d+/);
    expect(hc.judgePrecheck(report, { minFreeDiskMb: 1, minFreeMemoryMb: 1 })).toEqual([]);
    const refs = [...Object.values(target.releases.v1!), ...Object.values(target.releases.v3!)];
    expect(hc.parseImagesPresent(onHost(hc.imagesPresent(refs)))).toEqual({ present: refs, missing: [] });
    expect(hc.parseRunningServices(onHost(hc.runningServices(layout)))).toEqual([
      { service: "backend", image: target.releases.v1!.backend, state: "running" },
      { service: "frontend", image: target.releases.v1!.frontend, state: "running" },
    ]);
    expect(onHost(hc.markReleaseVerified(layout, "v1"))).toMatch(/^verified /);
    const status = hc.parseDeploymentStatus(onHost(hc.readDeploymentStatus(layout)))!;
    expect(status.verified).toMatchObject({ id: "v1", images: target.releases.v1 });
    expect(onHost(hc.listBackups(layout)).trim().split("\n").sort()).toEqual(
      [...((await ts.stack.outputs()).backups!.value as string[])].sort(),
    );
    const owner = { holder: "e2e", nonce: "e2e0001" };
    expect(onHost(hc.acquireLock(layout, { ...owner, releaseId: "v1", leaseSeconds: 60 })).trim()).toBe("acquired");
    expect(hc.parseLockInfo(onHost(hc.inspectLock(layout)))).toMatchObject({ holder: "e2e", release: "v1" });
    expect(onHost(hc.releaseLock(layout, owner)).trim()).toBe("released");
  });

  it("destroy stops the app and keeps its files", async () => {
    await ts.stack.destroy(quiet);
    expect(runningOnHost(corner.composeProject)).toEqual({});
    expect(sha256(hostFile("docker-compose.yml"))).toBe(v1.composeSha256);
    expect((await get(corner.ports.backend, "/api/health")).status).toBe(0);
  });
});

describe("a config with a hostile value", () => {
  let listener: Server;
  let connections = 0;
  beforeAll(async () => {
    // Stands in for the SSH server: counts every TCP connection attempt.
    listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  it.each([
    ["awareness:composeProject", "awareness;touch /tmp/pwned"],
    ["awareness:appDir", "/opt/$(touch /tmp/pwned)"],
    ["awareness:release", JSON.stringify({ id: "v1`id`", images: target.releases.v1 })],
  ])("%s is refused before any SSH connection", async (key, value) => {
    const port = (listener.address() as { port: number }).port;
    const hosts = [{ name: "sandbox", host: "127.0.0.1", port, user: "root" }];
    const error = await deployExpectingFailure("v1", { overrides: { "awareness:hosts": hosts, [key]: value } });
    expect(error).toContain("Stack config is invalid");
    expect(error).toContain(`${key}`);
    expect(connections).toBe(0);
    const resources = ((await ts.stack.exportStack()).deployment?.resources ?? []) as { type: string }[];
    expect(resources.filter((r) => r.type.startsWith("command:"))).toEqual([]);
  });
});

describe("the switch's wait: ready as soon as the app's own healthcheck passes (not one Docker interval later)", () => {
  // Containers of a project of their own whose Docker healthcheck is first due in 5 minutes: a
  // wait for Docker's "healthy" alone would time out; the switch's wait runs the check itself.
  const project = "awareness-ready-now";
  const run = (service: string, healthCmd: string) =>
    onHost(
      `docker run -d --label com.docker.compose.project=${project} --label com.docker.compose.service=${service} --label com.docker.compose.oneoff=False ` +
        `--health-cmd '${healthCmd}' --health-interval 300s ${target.baseImage} sleep 600 >/dev/null`,
    );
  const wait = (specs: string) =>
    onHost(
      [...hc.waitUntilRunning({ ...layout, composeProject: project }, specs, 8, 2), `echo "reason=[$reason]"`, `docker ps -q --filter label=com.docker.compose.project=${project} | xargs docker inspect -f '{{.State.Health.Status}}'`].join("\n"),
    );
  afterAll(() => onHost(`docker ps -aq --filter label=com.docker.compose.project=${project} | xargs -r docker rm -f >/dev/null`));

  it("passes once the container's own check passes, while Docker still says starting; a failing check is still waited for", () => {
    expect(target.baseImage, "the sandbox names its base image").toBeTruthy();
    run("web", "test -e /bin/sh");
    const ok = wait("web:1");
    expect(ok).toContain("reason=[]");
    expect(ok.trim().split("\n").at(-1)).toBe("starting"); // Docker's own first check is not due yet
    run("worker", "false");
    const refused = wait("web:1 worker:1");
    expect(refused).toMatch(/reason=\[not running after 8 s: worker\(health starting\)\]/);
  });
});
