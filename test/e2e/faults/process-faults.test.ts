// Faults of the driver's processes and of the host's records, on one corner of the sandbox and
// one stack (the real engine, the real host), each fault leaving a converged host for the next:
//  1. SIGKILL of the driver while its monitor watches v2 (the bad release): the safety net
//     itself dies, so the host is left on an unmonitored broken release. The sharper case than a
//     good release: the next plain `rollback` must break the dead run's lock at once and really
//     bring v1 back, verified.
//  2. Five `deploy` processes started together: exactly one runs, four end at once as lock-held
//     naming it (failing fast, not queueing: five CI pushes want the newest, not all five in a
//     random order, each with its own watch; --wait-lock is there for whoever wants a queue).
//  3. A corrupt deployment.json: `status` says so; the next deploy of the very release the state
//     says runs treats it as drift, really runs the switch and ends with a valid record.
//  4. A damaged backup set (a truncated compose file, a garbage manifest): restore refuses it
//     naming the set and what is wrong, the host untouched; a good set still restores.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../../automation/commands/deploy.js";
import { restore } from "../../../automation/commands/restore.js";
import { rollback } from "../../../automation/commands/rollback.js";
import { status } from "../../../automation/commands/status.js";
import { repoRoot } from "../../../automation/common/process.js";
import { deadLocalHolder } from "../../../automation/host/lock.js";
import { renderStatus } from "../../../automation/report/status-text.js";
import type { RunSummary } from "../../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../../automation/sandbox/target.js";
import { lastFailedTag, releaseIn, verifiedReleases } from "../../../automation/stages/releases.js";
import { engineLocks } from "../../../automation/toolchain/engine-locks.js";
import * as hc from "../../../components/host-commands/index.js";
import { driverStack, type DriverStack } from "../../support/driver.js";
import { clearCorner, get, onHost, runningOnHost, target, testCorner } from "../components-support.js";

const corner = testCorner("fault-process", { backend: 18880, frontend: 18881 });
const layout: hc.HostLayout = { appDir: corner.appDir, composeProject: corner.composeProject, composeCommand: "docker compose" };
const stackName = `test-fault-process-${process.pid}`;
const logFile = join(repoRoot, ".reports", "e2e-process-faults.log");
mkdirSync(dirname(logFile), { recursive: true });
const log = {
  info: (line: string) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`),
  warn: (line: string) => appendFileSync(logFile, `${new Date().toISOString()} warning: ${line}\n`),
};
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;

const explain = (s: RunSummary) => JSON.stringify({ outcome: s.outcome, lastStage: s.lastStage, messages: s.messages }, null, 1);
const record = () => hc.parseDeploymentStatus(onHost(hc.readDeploymentStatus(layout)), "the sandbox");
const hostLock = () => hc.parseLockInfo(onHost(hc.inspectLock(layout)));
const sets = () => hc.parseBackupSets(onHost(hc.listBackupSets(layout)), layout);
const engineLockFiles = () => engineLocks({ backendUrl: ds.backendUrl, stackName });
const version = async () => {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `down (${r.status})`;
};
const imageArgs = (images: Record<string, string>) => Object.entries(images).flatMap(([s, ref]) => ["--image", `${s}=${ref}`]);

/** The driver's CLI in its own process group (a kill takes the engine and the plugin with it). */
function cli(args: string[]) {
  const child = spawn(join(repoRoot, "node_modules", ".bin", "tsx"), [join(repoRoot, "automation", "cli.ts"), ...args, "--stack", stackName], {
    cwd: repoRoot,
    env: { ...process.env, ...ds.envVars, PULUMI_BACKEND_URL: ds.backendUrl, AWARENESS_PROJECT_DIR: ds.dir },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out.stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, ...out })),
  );
  return { child, out, done };
}

/** What runs on the host is exactly `id` with `images`: record, containers, what the app answers. */
async function expectLive(id: string, images: Record<string, string>, answers: string): Promise<void> {
  expect(record()?.current).toMatchObject({ id, images });
  const running = runningOnHost(corner.composeProject);
  expect(running.backend).toMatchObject({ image: images.backend, state: "running" });
  expect(running.frontend).toMatchObject({ image: images.frontend, state: "running" });
  expect(await version()).toBe(answers);
}

/** Both locks free: the host's deploy lock and the engine's update lock. */
async function expectLocksFree(): Promise<void> {
  expect(hostLock()).toBeNull();
  expect(await engineLockFiles()).toEqual([]);
}

beforeAll(async () => {
  clearCorner(corner);
  ds = await driverStack(stackName, log);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log };
  await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
  const v1 = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
  expect(v1.outcome, explain(v1)).toBe("deployed-verified");
});

afterAll(async () => {
  clearCorner(corner);
  await ds?.cleanup();
});

describe("process faults", () => {
  it("1. SIGKILL mid-monitor: v2 stays live, unverified, the lock held by a dead run; the next plain rollback breaks it at once and ends on v1, verified", async () => {
    const run = cli(["deploy", "--release", "v2", ...imageArgs(target.releases.v2!), "--skip-ci-check", "--allow-dirty", "--report-dir", join(ds.dir, "reports")]);
    // The condition: the monitor stage has started (its header on stderr); the verdict on v2
    // needs three failed rounds (1 s or more) after it.
    let killed = false;
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (/^== monitor$/m.test(run.out.stderr)) {
          process.kill(-run.child.pid!, "SIGKILL");
          killed = true;
        }
        if (killed || run.child.exitCode !== null) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    const ended = await run.done;
    expect(killed, ended.stderr.slice(-3000)).toBe(true);
    expect(ended.signal).toBe("SIGKILL");
    expect(ended.stderr).not.toMatch(/== verdict|== rollback/);

    // The host runs v2, and says it is not verified; nothing says it is.
    const after = record()!;
    expect(after.current?.id).toBe("v2");
    expect(after.verified?.id).toBe("v1");
    expect(after.failed?.id).not.toBe("v2");
    await expectLive("v2", target.releases.v2!, "v2");
    const engine = await ds.engine();
    expect((await verifiedReleases(engine)).map((v) => v.id)).toEqual(["v1"]);
    expect((await engine.tags())[lastFailedTag]).toBeUndefined();
    // The host lock is left behind, held by the killed process of this machine.
    const lock = hostLock();
    expect(lock?.holder).toMatch(new RegExp(`@${hostname()} pid \\d+`));
    expect(lock?.release).toBe("v2");
    expect(deadLocalHolder(lock!.holder)).toBe(true);
    // The engine was idle in the watch: no update lock, or one of a dead pid the next run clears.
    const staleEngineLocks = await engineLockFiles();
    for (const l of staleEngineLocks) expect(deadLocalHolder(`x@${l.hostname} pid ${l.pid}`)).toBe(true);

    // 2. A plain rollback: no waiting for the lease (180 s), no `unlock --force`.
    const started = Date.now();
    const rb = await rollback({ stackName, deps: ds.deps, log, reason: "a deploy was killed mid-monitor", confirm: "ROLLBACK" });
    expect(rb.outcome, explain(rb)).toBe("rollback-done");
    expect(rb.rollback).toMatchObject({ from: "v2", to: "v1" });
    expect(rb.messages.join("\n")).toContain(`Broke the host lock of a run that died: ${lock!.holder} (release v2`);
    expect(Date.now() - started).toBeLessThan(170_000);
    await expectLive("v1", target.releases.v1!, "v1");
    expect(record()!.verified?.id).toBe("v1");
    expect((await verifiedReleases(engine))[0]?.id).toBe("v1");
    await expectLocksFree();
  });

  let winner = "";

  it("2. five deploys started at once: exactly one runs, four end at once as lock-held naming it; the host and the stack end on the winner, verified", async () => {
    const ids = ["five-1", "five-2", "five-3", "five-4", "five-5"];
    const engine = await ds.engine();
    const configBefore = await ds.liveConfig();
    const runs = ids.map((id) => cli(["deploy", "--release", id, ...imageArgs(target.releases.v1!), "--skip-ci-check", "--allow-dirty", "--json", "--report-dir", join(ds.dir, "reports", id)]));
    const ended = await Promise.all(runs.map((r) => r.done));
    const summaries = ended.map((e, i) => {
      expect(e.signal, `${ids[i]}: ${e.stderr.slice(-2000)}`).toBeNull();
      return JSON.parse(e.stdout) as RunSummary;
    });
    const codes = ended.map((e) => e.code);
    const winners = summaries.filter((s) => s.outcome === "deployed-verified");
    expect(winners.length, summaries.map(explain).join("\n")).toBe(1);
    winner = winners[0]!.release!.id;
    expect(codes.filter((c) => c === 0)).toHaveLength(1);
    const losers = summaries.filter((s) => s.outcome !== "deployed-verified");
    for (const l of losers) {
      expect(l.outcome, explain(l)).toBe("lock-held");
      expect(l.exitCode).toBe(6);
      // Refused at the host lock, before any engine work (no engine clash, no config written).
      expect(l.lastStage).toBe("lock");
      expect(l.messages.join(" ")).toMatch(new RegExp(`^Another deployment holds the host lock: \\S+@${hostname()} pid \\d+ \\(release ${winner},`));
      expect(l.messages.join(" ")).not.toMatch(/engine's update lock/);
    }
    expect(codes.filter((c) => c === 6)).toHaveLength(4);
    // At once: each loser ended while the winner still ran (none queued behind it).
    for (const l of losers) expect(Date.parse(l.finishedAt!)).toBeLessThan(Date.parse(winners[0]!.finishedAt!));
    // Every loser names the same holder: the one run that held the lock.
    expect(new Set(losers.map((l) => /holds the host lock: (\S+@\S+ pid \d+)/.exec(l.messages.join(" "))?.[1])).size).toBe(1);

    // The host and the stack agree on the winner: record, containers, config, output, tags, state.
    await expectLive(winner, target.releases.v1!, "v1");
    expect(record()!.verified?.id).toBe(winner);
    const configAfter = await ds.liveConfig();
    expect(releaseIn(configAfter, "the stack config")).toMatchObject({ id: winner, images: target.releases.v1 });
    // Only the release (and the winner's reconcile token, if any) changed in the stack config.
    const changed = Object.keys(configAfter).filter((k) => JSON.stringify(configAfter[k]) !== JSON.stringify(configBefore[k]));
    expect(changed.filter((k) => k !== "awareness:release" && k !== "awareness:reconcile")).toEqual([]);
    expect(((await engine.outputs()).release?.value as { id: string }).id).toBe(winner);
    expect((await verifiedReleases(engine))[0]?.id).toBe(winner);
    expect(await engine.pendingOperations()).toEqual([]);
    await expectLocksFree();
  });

  it("3. a corrupt deployment.json: status says so; the next deploy of the same release sees drift, really switches, and leaves a valid record", async () => {
    expect(winner).not.toBe("");
    const garbage = '{\n  "schema": 1,\n  "current": {"id":"' + winner + '","ima';
    onHost(`printf '%s' ${hc.shellQuote(garbage)} > ${corner.appDir}/deployment.json`);
    expect(() => record()).toThrow(/not valid JSON/);

    // status, in process and from the CLI: the record is named unreadable; no stack trace.
    const st = await status({ stackName, deps: ds.deps, log });
    expect(st.summary.outcome, explain(st.summary)).toBe("ok");
    expect(st.report?.hostError).toBeUndefined();
    expect(st.report?.hostRecordError).toMatch(/^deployment\.json on \S+ is not a valid deployment record: - \(the whole value\): not valid JSON/);
    expect(renderStatus(st.report!)).toMatch(/host: +RECORD UNREADABLE .*deployment\.json on .* not valid JSON.*, lock free/);
    const shown = spawnSync(join(repoRoot, "node_modules", ".bin", "tsx"), [join(repoRoot, "automation", "cli.ts"), "status", "--stack", stackName], {
      cwd: repoRoot,
      env: { ...process.env, ...ds.envVars, PULUMI_BACKEND_URL: ds.backendUrl, AWARENESS_PROJECT_DIR: ds.dir },
      encoding: "utf8",
    });
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/RECORD UNREADABLE \(the next deploy or rollback rewrites it\): deployment\.json on \S+ is not a valid deployment record/);
    expect(`${shown.stdout}${shown.stderr}`).not.toMatch(/^\s+at /m);

    // The same release again: without reconcile the engine would see no change and run nothing.
    const again = await deploy({ ...base, releaseId: winner, images: target.releases.v1 });
    expect(again.outcome, explain(again)).toBe("deployed-verified");
    expect(again.messages.join("\n")).toMatch(
      new RegExp(`The host differs from the state \\(it should run ${winner}\\): its record is unreadable: deployment\\.json on \\S+ is not a valid deployment record: .*not valid JSON.*Its switch runs again\\.`),
    );
    expect(again.up?.changes?.update ?? 0).toBeGreaterThanOrEqual(1);
    const fixed = record()!;
    expect(fixed.current).toMatchObject({ id: winner, images: target.releases.v1 });
    expect(fixed.verified?.id).toBe(winner);
    // The switch kept the corrupt file it replaced, in a set no release is named for.
    expect(sets().at(-1)).toMatchObject({ name: expect.stringMatching(/-unrecorded$/), manifest: expect.objectContaining({ release: null }) });
    await expectLive(winner, target.releases.v1!, "v1");
    await expectLocksFree();
  });

  it("4. a damaged backup set: restore refuses it naming the set and what is wrong, the host untouched; a good set still restores", async () => {
    // A plain deploy first (it converges from the previous fault), so a set of the winner's files exists.
    const v1 = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
    expect(v1.outcome, explain(v1)).toBe("deployed-verified");
    const all = sets();
    const ofV1 = all.filter((s) => s.releaseId === "v1").at(-1)!;
    const unrecorded = all.find((s) => s.name.endsWith("-unrecorded"))!;
    const ofWinner = all.filter((s) => s.releaseId === winner).at(-1)!;
    expect([ofV1, unrecorded, ofWinner].map((s) => s?.problem)).toEqual([undefined, undefined, undefined]);
    onHost(`f=${ofV1.path}/docker-compose.yml; head -c 40 "$f" > "$f.cut" && mv "$f.cut" "$f"`);
    onHost(`printf 'not json {{{' > ${unrecorded.path}/manifest.json`);

    const snapshot = async () => ({
      files: onHost(`cd ${corner.appDir} && cat deployment.json docker-compose.yml .env && ls -1 backups`),
      running: runningOnHost(corner.composeProject),
      release: releaseIn(await ds.liveConfig(), "the live config"),
    });
    const before = await snapshot();
    const byRelease = await restore({ stackName, deps: ds.deps, log, confirm: "RESTORE", release: "v1" });
    expect(byRelease.outcome, explain(byRelease)).toBe("usage");
    expect(byRelease.exitCode).toBe(2);
    expect(byRelease.messages.join(" ")).toMatch(
      new RegExp(`^Restore refused: backup set ${ofV1.path} on \\S+ is damaged: its docker-compose\\.yml has sha256 [0-9a-f]{12}…, its manifest\\.json says ${ofV1.manifest!.composeSha256!.slice(0, 12)}… \\(the file is damaged or was edited\\)\\. Nothing was changed\\.`),
    );
    const byName = await restore({ stackName, deps: ds.deps, log, confirm: "RESTORE", release: unrecorded.name });
    expect(byName.outcome, explain(byName)).toBe("usage");
    expect(byName.messages.join(" ")).toMatch(new RegExp(`backup set ${unrecorded.path} on \\S+ is damaged: ${unrecorded.path}/manifest\\.json is not a valid manifest: .*not valid JSON`));
    expect(await snapshot()).toEqual(before);
    await expectLive("v1", target.releases.v1!, "v1");
    await expectLocksFree();

    // A good set: the winner's files come back, watched and verified.
    const good = await restore({ stackName, deps: ds.deps, log, confirm: "RESTORE", release: winner });
    expect(good.outcome, explain(good)).toBe("restored");
    expect(good.restore).toMatchObject({ set: ofWinner.name, release: winner, from: "v1" });
    await expectLive(winner, target.releases.v1!, "v1");
    expect(record()!.verified?.id).toBe(winner);
    await expectLocksFree();
  });
});
