// Benchmark (not a test): on the sandbox, in one run, prints
//   detection: first failing probe -> rollback start, next to its floor (consecutiveFailures x interval)
//   recovery:  rollback start -> the app healthy again, next to a fair `compose up -d --wait` of the
//              previous files (and the old baseline: `up -d` without waiting, to the first 200)
//   overhead:  a deploy up to the monitor (lock, prechecks, preview, up), next to a fair ssh +
//              `compose pull && up -d --wait` (and the old one: pull + up -d, no wait)
//   the driver's per-stage breakdown (medians; the up split into engine start, pulls, the
//   switch's phases, engine finish) and the process's CPU time and peak RSS
// Each comparison is measured in this same run (these machines are noisy); ratios are printed
// against the targets, and .reports/bench/bench-<time>.{md,json,svg} hold the table and chart.
// Run: npm run bench   (brings the sandbox up; stops it again unless KEEP_SANDBOX=1)
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { repoRoot } from "../../automation/common/process.js";
import { applySandboxStackConfig, type SandboxTarget } from "../../automation/sandbox/target.js";
import { runOnSandbox } from "./bench-sandbox.js";
import { driverStack } from "../support/driver.js";
import { renderBenchChart } from "./bench-chart.js";
import { benchBars, benchMarkdown, medians, type BenchResults } from "./bench-report.js";

let target: SandboxTarget;
const ports = { backend: 18580, frontend: 18581 };
let corner: { appDir: string; composeProject: string; ports: typeof ports };
// Medians of at least 5 rounds by default (these machines are noisy).
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

function onHost(command: string): string {
  const r = spawnSync(
    "ssh",
    ["-i", target.ssh.privateKeyPath, "-p", String(target.ssh.port), "-o", "BatchMode=yes",
      "-o", `UserKnownHostsFile=${target.ssh.knownHostsPath}`, `${target.ssh.user}@${target.ssh.host}`, command],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
  return r.stdout;
}

async function healthy(path = "/api/auth/status"): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${ports.backend}${path}`, { signal: AbortSignal.timeout(500) });
    return res.status === 200;
  } catch {
    return false;
  }
}

async function waitHealthy(from: number): Promise<number> {
  while (!(await healthy())) await new Promise((r) => setTimeout(r, 50));
  return Date.now() - from;
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(sandboxTarget: SandboxTarget): Promise<void> {
  target = sandboxTarget;
  corner = { appDir: `${target.appDir}-bench`, composeProject: "awareness-bench", ports };
  onHost(`ids=$(docker ps -a -q --filter label=com.docker.compose.project=${corner.composeProject}); [ -z "$ids" ] || docker rm -f $ids >/dev/null; rm -rf ${corner.appDir}`);
  const stackName = "test-bench";
  const ds = await driverStack(stackName);
  const quiet = { info: () => {}, warn: () => {} };
  const base: Omit<DeployRequest, "releaseId"> = {
    stackName, deps: ds.deps,
    skipCiCheck: true, allowDirty: true, log: quiet,
  };
  const engine = await ds.engine();
  await applySandboxStackConfig(engine, target, "v1", corner);
  const monitor = JSON.parse((await engine.getConfig())["awareness:monitor"]!.value) as {
    intervalSeconds: number;
    consecutiveFailures: number;
  };
  const compose = `docker compose -p ${corner.composeProject} -f ${corner.appDir}/docker-compose.yml`;

  const first = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
  if (first.outcome !== "deployed-verified") throw new Error(`v1 did not deploy: ${first.messages.join(" ")}`);
  // The previous release's files, for the bare baselines.
  onHost(`mkdir -p ${corner.appDir}-v1 && cp ${corner.appDir}/docker-compose.yml ${corner.appDir}/.env ${corner.appDir}-v1/`);
  const v1Compose = `docker compose -p ${corner.composeProject} -f ${corner.appDir}-v1/docker-compose.yml --env-file ${corner.appDir}-v1/.env`;
  const v2Compose = `docker compose -p ${corner.composeProject} -f ${corner.appDir}-v1/v2.yml --env-file ${corner.appDir}-v1/.env`;

  const detection: number[] = [];
  const recovery: number[] = [];
  const bareRecovery: number[] = [];
  const overhead: number[] = [];
  const bareDeploy: number[] = [];
  // Fair baselines: the same files, waiting for the app to be healthy as the driver does
  // (compose v2's `up -d --wait` returns once every healthcheck passes).
  const fairDeploy: number[] = [];
  const fairRecovery: number[] = [];
  /** The driver's own per-stage breakdown (its run summary) of each v2 deploy that rolled back, and its ups' phases. */
  const stageRounds: { name: string; ms: number }[][] = [];
  const upPhaseRounds: { name: string; ms: number }[][] = [];
  const rollbackPhaseRounds: { name: string; ms: number }[][] = [];
  for (let i = 0; i < rounds; i++) {
    // Driver: deploy v2, detect, roll back by itself.
    let rollbackStart = 0;
    let monitorStart = 0;
    let recovered: Promise<number> | undefined;
    const started = Date.now();
    const bad = await deploy({
      ...base,
      releaseId: "v2",
      images: target.releases.v2,
      onStage: (stage: string) => {
        if (stage === "monitor") monitorStart = Date.now();
        if (stage.startsWith("rollback")) {
          rollbackStart = Date.now();
          // Healthy again = the first 200 of /api/auth/status (v2 answers 500 there).
          recovered = waitHealthy(rollbackStart);
        }
      },
    });
    if (bad.outcome !== "rolled-back") throw new Error(`v2 was not rolled back: ${bad.messages.join(" ")}`);
    stageRounds.push((bad.stages ?? []).map((t) => ({ name: t.stage, ms: t.ms })));
    upPhaseRounds.push((bad.up?.phases ?? []).map((p) => ({ name: p.phase, ms: p.ms })));
    rollbackPhaseRounds.push((bad.rollback?.up?.phases ?? []).map((p) => ({ name: p.phase, ms: p.ms })));
    const firstFailure = bad.monitor!.firstFailureAt!;
    detection.push(rollbackStart - firstFailure);
    recovery.push(await recovered!);
    overhead.push(monitorStart - started);

    // Bare: the same switch by hand, v2 up, then the previous files up again.
    onHost(`${compose} pull -q && ${compose} up -d --remove-orphans >/dev/null 2>&1; true`); // v1 running again (driver left v1)
    onHost(
      `sed -e "s#${target.releases.v1!.backend}#${target.releases.v2!.backend}#" -e "s#${target.releases.v1!.frontend}#${target.releases.v2!.frontend}#" ${corner.appDir}-v1/docker-compose.yml > ${corner.appDir}-v1/v2.yml`,
    );
    const bareStart = Date.now();
    onHost(`${v2Compose} pull -q && ${v2Compose} up -d --remove-orphans >/dev/null 2>&1`);
    bareDeploy.push(Date.now() - bareStart);
    const recoverStart = Date.now();
    onHost(`${v1Compose} up -d --remove-orphans >/dev/null 2>&1`);
    bareRecovery.push(await waitHealthy(recoverStart));

    // Fair: the same two switches, each waiting until compose says every service is healthy.
    const fairStart = Date.now();
    onHost(`${v2Compose} pull -q && ${v2Compose} up -d --wait --remove-orphans >/dev/null 2>&1`);
    fairDeploy.push(Date.now() - fairStart);
    const fairRecoverStart = Date.now();
    onHost(`${v1Compose} up -d --wait --remove-orphans >/dev/null 2>&1`);
    fairRecovery.push(Date.now() - fairRecoverStart);
  }

  const usage = process.resourceUsage();
  const floor = monitor.consecutiveFailures * monitor.intervalSeconds * 1000;
  const results: BenchResults = {
    rounds,
    deploy: { driver: overhead, baseline: fairDeploy },
    recovery: { driver: recovery, baseline: fairRecovery },
    detection: { driver: detection, floorMs: floor, intervalMs: monitor.intervalSeconds * 1000 },
    old: { deploy: bareDeploy, recovery: bareRecovery },
    stages: medians(stageRounds).map(({ name, ms }) => ({ stage: name, ms })),
    upPhases: medians(upPhaseRounds).map(({ name, ms }) => ({ phase: name, ms })),
    rollbackPhases: medians(rollbackPhaseRounds).map(({ name, ms }) => ({ phase: name, ms })),
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    peakRssMiB: Math.round(usage.maxRSS / 1024),
  };
  const outDir = join(repoRoot, ".reports", "bench");
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const chartPath = join(outDir, `bench-${stamp}.svg`);
  const title = `awareness driver vs bare compose (sandbox, ${rounds} rounds, medians)`;
  writeFileSync(chartPath, await renderBenchChart(benchBars(results), title));
  // Relative to the repository: the table may be shared (no machine paths in it).
  const markdown = benchMarkdown(results, relative(repoRoot, chartPath));
  writeFileSync(join(outDir, `bench-${stamp}.md`), markdown);
  writeFileSync(join(outDir, `bench-${stamp}.json`), `${JSON.stringify({ ...results, raw: { detection, recovery, fairRecovery, bareRecovery, overhead, fairDeploy, bareDeploy } }, null, 2)}\n`);
  process.stdout.write(
    [
      markdown,
      `raw (s): detection ${detection.map(s).join(", ")}; recovery ${recovery.map(s).join(", ")}; fair recovery ${fairRecovery.map(s).join(", ")}; ` +
        `bare recovery ${bareRecovery.map(s).join(", ")}; deploy ${overhead.map(s).join(", ")}; fair deploy ${fairDeploy.map(s).join(", ")}; bare deploy ${bareDeploy.map(s).join(", ")}`,
      `written: ${join(outDir, `bench-${stamp}.{md,json,svg}`)}`,
      "",
    ].join("\n"),
  );
  onHost(`ids=$(docker ps -a -q --filter label=com.docker.compose.project=${corner.composeProject}); [ -z "$ids" ] || docker rm -f $ids >/dev/null; rm -rf ${corner.appDir} ${corner.appDir}-v1`);
  await ds.cleanup();
}

runOnSandbox(main);
