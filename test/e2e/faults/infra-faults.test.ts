// Faults of the infrastructure under a deploy, injected for real on the sandbox: sshd stopped
// (and its sessions dropped) mid-switch, the registry down at the prechecks and at the pull,
// dockerd restarted mid-monitor. Each is injected at a named point (a host condition or a
// stage/log line of the run), the end state is read on the host, the part is restored, and the
// next plain run must converge. One stack and one corner: each fault starts from the converged
// state the previous one left.
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../../automation/commands/deploy.js";
import type { Logger } from "../../../automation/common/log.js";
import { repoRoot } from "../../../automation/common/process.js";
import { outcomes } from "../../../automation/report/outcomes.js";
import type { RunSummary } from "../../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../../automation/sandbox/target.js";
import { lastFailedTag, releaseKey, verifiedReleases } from "../../../automation/stages/releases.js";
import { driverStack, type DriverStack } from "../../support/driver.js";
import { clearCorner, get, onHost, onHostAsync, runningOnHost, target, testCorner } from "../components-support.js";

const corner = testCorner("fault-infra", { backend: 18980, frontend: 18981 });
const stackName = `test-fault-infra-${process.pid}`;
const quiet: Logger = { info: () => {}, warn: () => {} };
const sandboxScript = join(repoRoot, "test", "sandbox", "sandbox.sh");
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;

/** One part of this tree's sandbox: stop, start or restart (sandbox.sh, by its recorded pid and port). */
const sandbox = (action: "stop" | "start" | "restart", part: "sshd" | "registry" | "dockerd") =>
  execFileSync("bash", [sandboxScript, action, part], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
const sandboxAsync = (action: "restart", part: "dockerd") =>
  new Promise<void>((resolve, reject) => {
    const child = spawn("bash", [sandboxScript, action, part], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`sandbox.sh ${action} ${part}: exit ${code}\n${stderr}`))));
  });

interface HostRecord {
  current: { id: string; images: Record<string, string> };
  verified?: { id: string };
  failed?: { id: string; reason?: string } | null;
}
const record = () => JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)) as HostRecord;
const hostLock = () => onHost(`test -d ${corner.appDir}/.deploy-lock && echo held || echo free`).trim();
const engineLocks = () => readdirSync(join(ds.dir, ".pulumi", "locks"), { recursive: true }).map(String).filter((f) => f.endsWith(".json"));
const composeSha = () => onHost(`sha256sum ${corner.appDir}/docker-compose.yml | cut -d' ' -f1`).trim();
const composeShaAsync = async () => (await onHostAsync(`sha256sum ${corner.appDir}/docker-compose.yml | cut -d' ' -f1`)).trim();
/** Everything a change would touch: the managed files, the backup sets, the containers (by id). */
const hostSnapshot = (files = "docker-compose.yml .env deployment.json") =>
  onHost(
    `cd ${corner.appDir} && sha256sum ${files} && ls backups && ` +
      `docker ps -a -q --no-trunc --filter label=com.docker.compose.project=${corner.composeProject} | sort`,
  );
const version = async () => {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `down (${r.status})`;
};
/** A release of v1's healthy images under another id (a real switch, a release that passes its watch). */
const healthy = (id: string) => ({ ...base, releaseId: id, images: target.releases.v1! });
const said = (s: RunSummary) => s.messages.join("\n");

/** The host runs `id` exactly, verified, and both locks are free. */
async function expectConverged(id: string): Promise<void> {
  const r = record();
  expect(r.current.id).toBe(id);
  expect(r.verified?.id).toBe(id);
  const running = runningOnHost(corner.composeProject);
  for (const [service, image] of Object.entries(r.current.images)) expect(running[service]).toMatchObject({ image, state: "running" });
  expect(await version()).toBe("v1");
  expect(hostLock()).toBe("free");
  expect(engineLocks()).toEqual([]);
  const engine = await ds.engine();
  expect((await verifiedReleases(engine))[0]?.id).toBe(id);
  expect(JSON.parse((await ds.liveConfig())[releaseKey]!.value) as { id: string }).toMatchObject({ id });
}

beforeAll(async () => {
  clearCorner(corner);
  ds = await driverStack(stackName, quiet);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
  const v1 = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
  expect(v1.outcome, said(v1)).toBe("deployed-verified");
});

afterAll(async () => {
  // Whatever a failed test left stopped comes back, so later files find a whole sandbox.
  for (const part of ["dockerd", "registry", "sshd"] as const) sandbox("start", part);
  clearCorner(corner);
  await ds?.cleanup();
});

describe("sshd stopped mid-up", () => {
  it("fails as host-unreachable, claims nothing it did not see, leaves the host lock said so; the next deploy reconciles and converges", async () => {
    // 1. deploy v2 from the CLI (its own process: the lock it leaves names a process that ends)
    //    and stop sshd, dropping every live session, once the switch has put v2's compose file
    //    in place (it is starting the containers).
    const reports = join(ds.dir, "reports-sshd");
    const args = [join(repoRoot, "automation", "cli.ts"), "deploy", "--stack", stackName, "--release", "v2",
      ...Object.entries(target.releases.v2!).flatMap(([s, ref]) => ["--image", `${s}=${ref}`]), "--skip-ci-check", "--allow-dirty",
      "--report-dir", reports];
    const child = spawn(join(repoRoot, "node_modules", ".bin", "tsx"), args, {
      cwd: repoRoot,
      env: { ...process.env, ...ds.envVars, PULUMI_BACKEND_URL: ds.backendUrl, AWARENESS_PROJECT_DIR: ds.dir },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let ended = false;
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => ((ended = true), r(code))));
    const before = composeSha();
    let dropped = false;
    let code: number | null;
    try {
      while (!ended && !dropped) {
        if ((await composeShaAsync()) !== before) {
          sandbox("stop", "sshd");
          dropped = true;
        }
      }
      code = await exited;
    } finally {
      sandbox("start", "sshd");
    }
    expect(dropped, stderr.slice(-2000)).toBe(true);

    // 2. The run says the host went away during the update, and claims nothing about what it runs.
    const [json] = readdirSync(reports).filter((f) => f.endsWith(".json"));
    const failed = JSON.parse(readFileSync(join(reports, json!), "utf8")) as RunSummary;
    expect(failed.outcome, said(failed)).toBe("host-unreachable");
    expect(failed.lastStage).toBe("up");
    expect(code).toBe(1);
    expect(failed.exitCode).toBe(1);
    expect(said(failed)).toMatch(/The host stopped answering during up: cannot reach root@127\.0\.0\.1:\d+ over SSH: ECONNREFUSED.*What it runs now was not checked/);
    expect(said(failed)).not.toMatch(/still runs|rolled back|verified/);
    expect(said(failed)).toMatch(/the host lock could not be released .*once this process is gone/);

    // 3. On the host: the lock is left behind (nothing could release it), the engine's lock is
    //    free (the engine finished its failed update). The switch went on without its session:
    //    wait for it (it holds the switch flock), then the host no longer runs v1.
    expect(hostLock()).toBe("held");
    expect(engineLocks()).toEqual([]);
    onHost(`flock ${corner.appDir}/.switch.lock true`);
    expect(composeSha()).not.toBe(before);

    // 4. The next plain deploy breaks the dead run's lock, sees the drift, and converges.
    const again = await deploy(healthy("r-ssh"));
    expect(again.outcome, said(again)).toBe("deployed-verified");
    expect(said(again)).toMatch(/Broke the host lock of a run that died: .* pid \d+ \(release v2/);
    expect(said(again)).toMatch(/The host differs from the state \(it should run v1\)/);
    await expectConverged("r-ssh");
  });
});

describe("registry down at the prechecks", () => {
  it("blocks naming the images it could not find; nothing reaches the host; the next deploy converges", async () => {
    const before = hostSnapshot();
    const updates = (await (await ds.engine()).history()).length;
    let blocked: RunSummary;
    try {
      sandbox("stop", "registry");
      blocked = await deploy({ ...base, releaseId: "v2", images: target.releases.v2! });
    } finally {
      sandbox("start", "registry");
    }
    expect(blocked.outcome, said(blocked)).toBe("blocked");
    expect(blocked.exitCode).toBe(outcomes.blocked.exitCode);
    expect(blocked.lastStage).toBe("prechecks");
    const check = blocked.prechecks.find((p) => p.name === "images in registry");
    expect(check?.ok).toBe(false);
    for (const ref of Object.values(target.releases.v2!)) expect(check?.detail).toContain(`${ref} not found`);
    expect(check?.detail).toMatch(/connection refused/);
    expect(blocked.prechecks.filter((p) => !p.ok).map((p) => p.name)).toEqual(["images in registry"]);
    // Nothing sent: the files, backup sets and containers as they were, no update of the stack.
    expect(hostSnapshot()).toBe(before);
    expect((await (await ds.engine()).history()).length).toBe(updates);
    expect(hostLock()).toBe("free");

    const again = await deploy(healthy("r-registry"));
    expect(again.outcome, said(again)).toBe("deployed-verified");
    await expectConverged("r-registry");
  });
});

describe("registry down at the pull", () => {
  it("fails the update before the running release is touched (up-failed, checked on the host); the next deploy pulls and converges", async () => {
    // An image the host does not have, so the switch must pull it: v1's backend with a label of its own.
    const repo = target.releases.v1!.backend!.split("@")[0]!;
    const tag = `${repo}:fault-pull-${process.pid}-${Date.now()}`;
    const digest = onHost(
      `printf 'FROM %s\\nLABEL sandbox.fault=pull\\n' ${target.releases.v1!.backend} | DOCKER_BUILDKIT=0 docker build -q -t ${tag} - >/dev/null && ` +
        `docker push -q ${tag} >/dev/null && docker image inspect -f '{{index .RepoDigests 0}}' ${tag} && docker rmi -f ${tag} >/dev/null`,
    ).trim();
    expect(digest).toMatch(new RegExp(`^${repo.replace(/\./g, "\\.")}@sha256:[0-9a-f]{64}$`));
    expect(onHost(`docker image inspect ${digest} >/dev/null 2>&1 && echo present || echo absent`).trim()).toBe("absent");
    const images = { ...target.releases.v1!, backend: digest };

    // deployment.json gains the failed record; everything else stays byte for byte.
    const before = hostSnapshot("docker-compose.yml .env");
    const currentBefore = record().current;
    let failed: RunSummary;
    try {
      // The prechecks found the image in the registry; it goes away as the update starts.
      failed = await deploy({ ...base, releaseId: "r-pull", images, onStage: (stage) => stage === "up" && void sandbox("stop", "registry") });
    } finally {
      sandbox("start", "registry");
    }
    expect(failed.prechecks.find((p) => p.name === "images in registry")?.ok).toBe(true);
    expect(failed.outcome, said(failed)).toBe("up-failed");
    expect(failed.exitCode).toBe(outcomes["up-failed"].exitCode);
    expect(said(failed)).toContain(`The update failed: service backend: pull of ${digest} failed:`);
    expect(said(failed)).toMatch(/127\.0\.0\.1:\d+: connect: connection refused/);
    expect(said(failed)).not.toContain("Outputs:");
    expect((await (await ds.engine()).tags())[lastFailedTag]).toMatch(/^r-pull@\d+$/);
    expect(said(failed)).toContain("The previous release r-registry still runs (checked on the host).");
    // The switch stopped before the backup and the file switch: the host as it was, its record
    // naming the same current release and r-pull as the last failed one.
    expect(hostSnapshot("docker-compose.yml .env")).toBe(before);
    expect(record()).toMatchObject({ current: currentBefore, failed: { id: "r-pull" } });
    await expectConverged("r-registry");

    const again = await deploy({ ...base, releaseId: "r-pull", images });
    expect(again.outcome, said(again)).toBe("deployed-verified");
    await expectConverged("r-pull");
    expect(runningOnHost(corner.composeProject).backend?.image).toBe(digest);
  });
});

describe("dockerd restarted mid-monitor", () => {
  it("the watch judges the outage by its rules; containers come back by their restart policy; host and state agree; the next deploy converges", async () => {
    const project = corner.composeProject;
    const running = () => onHost(`docker ps -q --filter label=com.docker.compose.project=${project} --filter status=running | wc -l`).trim();
    let restart: Promise<void> | undefined;
    let backBeforeVerdict = "";
    const log: Logger = {
      info: (line) => {
        // Mid-monitor: after two good rounds of the new release.
        if (!restart && /^monitor: round 2 ok/.test(line)) restart = sandboxAsync("restart", "dockerd");
      },
      warn: () => {},
    };
    // The watch is over: before the verdict acts (and any rollback runs), the containers must
    // come back by their restart policy alone (nothing of the driver touches them meanwhile).
    const onStage = (stage: string) => {
      if (stage !== "verdict" || !restart) return;
      backBeforeVerdict = onHost(
        `timeout 90 sh -c 'until [ "$(docker ps -q --filter label=com.docker.compose.project=${project} --filter status=running 2>/dev/null | wc -l)" -eq 2 ]; do sleep 0.2; done' && echo back`,
      ).trim();
    };
    let run: RunSummary;
    try {
      run = await deploy({ ...healthy("r-dockerd"), log, onStage });
    } finally {
      await restart;
    }
    expect(restart).toBeDefined();
    expect(backBeforeVerdict).toBe("back");
    // The monitor saw the outage: the app did not answer while dockerd restarted.
    const rounds = run.monitor!.rounds;
    expect(rounds.slice(0, 2).every((r) => r.ok)).toBe(true);
    expect(rounds.some((r) => !r.ok && r.failures.some((f) => /ECONNREFUSED/.test(f)))).toBe(true);
    // Its rules decide, as for any outage users saw: failed rounds in a row over the limit fail
    // the release and the last verified one comes back; a shorter outage is tolerated.
    if (run.monitor!.verdict.state === "failed") {
      expect(run.outcome, said(run)).toBe("rolled-back");
      expect(run.rollback).toMatchObject({ from: "r-dockerd", to: "r-pull" });
      expect(record().failed).toMatchObject({ id: "r-dockerd" });
      expect((await (await ds.engine()).tags())[lastFailedTag]).toMatch(/^r-dockerd@\d+$/);
      await expectConverged("r-pull");
    } else {
      expect(run.outcome, said(run)).toBe("deployed-verified");
      await expectConverged("r-dockerd");
    }
    expect(runningOnHost(project).backend?.image).toBe(record().current.images.backend);

    // The sandbox is whole again, and the next plain deploy converges.
    expect(execFileSync("bash", [sandboxScript, "status"], { encoding: "utf8" })).toMatch(/dockerd\s+running/);
    expect(running()).toBe("2");
    const again = await deploy(healthy("r-dockerd"));
    expect(again.outcome, said(again)).toBe("deployed-verified");
    await expectConverged("r-dockerd");
  });
});
