// Benchmark (not a test): on the sandbox, in one run, prints
//   detection: first failing probe -> rollback start, next to its floor (consecutiveFailures x interval)
//   recovery:  rollback start -> the app healthy again, next to a fair `compose up -d --wait` of the
//              previous files (and the old baseline: `up -d` without waiting, to the first 200)
//   overhead:  a deploy up to the monitor (lock, prechecks, preview, up), next to a fair ssh +
//              `compose pull && up -d --wait` (and the old one: pull + up -d, no wait)
//   the driver's per-stage breakdown (medians) and the process's CPU time and peak RSS
// Each comparison is measured in this same run (these machines are noisy); ratios are printed.
// Run: npm run bench   (brings the sandbox up; stops it again unless KEEP_SANDBOX=1)
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { repoRoot } from "../../automation/common/process.js";
import { applySandboxStackConfig, readSandboxTarget } from "../../automation/sandbox/target.js";
import { driverStack } from "../support/driver.js";

const sandbox = join(repoRoot, "test", "sandbox", "sandbox.sh");
const wasUp = spawnSync("bash", [sandbox, "status"]).status === 0;
execFileSync("bash", [sandbox, "up"], { stdio: ["ignore", "ignore", "inherit"] });
const target = readSandboxTarget(repoRoot);
const ports = { backend: 18580, frontend: 18581 };
const corner = { appDir: `${target.appDir}-bench`, composeProject: "awareness-bench", ports };
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ratio = (driver: number[], baseline: number[]) => (median(driver) / median(baseline)).toFixed(2);

async function main(): Promise<void> {
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
  /** The driver's own per-stage breakdown (its run summary) of each v2 deploy that rolled back. */
  const stageTimes = new Map<string, number[]>();
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
    for (const t of bad.stages ?? []) stageTimes.set(t.stage, [...(stageTimes.get(t.stage) ?? []), t.ms]);
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
  process.stdout.write(
    [
      `driver benchmark on the sandbox (${rounds} rounds; medians; interval ${monitor.intervalSeconds} s, ${monitor.consecutiveFailures} failures)`,
      `  detection (first failing probe -> rollback start): ${s(median(detection))}   floor ${s(floor)}   ratio ${(median(detection) / floor).toFixed(2)}`,
      `  recovery (rollback start -> healthy):              ${s(median(recovery))}   fair: ssh + compose up -d --wait of the previous files ${s(median(fairRecovery))}   ratio ${ratio(recovery, fairRecovery)}`,
      `                                                     old baseline: up -d (no wait) -> first 200 ${s(median(bareRecovery))}   ratio ${ratio(recovery, bareRecovery)}`,
      `  deploy up to the monitor (lock..up):              ${s(median(overhead))}   fair: ssh + compose pull && up -d --wait ${s(median(fairDeploy))}   ratio ${ratio(overhead, fairDeploy)}`,
      `                                                     old baseline: ssh + compose pull/up (no wait) ${s(median(bareDeploy))}   ratio ${ratio(overhead, bareDeploy)}`,
      `  per stage of the v2 deploy (medians, from its run summary): ${[...stageTimes].map(([stage, ms]) => `${stage} ${s(median(ms))}`).join(", ")}`,
      `  the bench process (the driver runs in it): CPU ${s((usage.userCPUTime + usage.systemCPUTime) / 1000)}, peak RSS ${Math.round(usage.maxRSS / 1024)} MiB`,
      `  raw: detection ${detection.map(s).join(", ")}; recovery ${recovery.map(s).join(", ")}; fair recovery ${fairRecovery.map(s).join(", ")}; bare recovery ${bareRecovery.map(s).join(", ")}; overhead ${overhead.map(s).join(", ")}; fair deploy ${fairDeploy.map(s).join(", ")}; bare deploy ${bareDeploy.map(s).join(", ")}`,
      "",
    ].join("\n"),
  );
  onHost(`ids=$(docker ps -a -q --filter label=com.docker.compose.project=${corner.composeProject}); [ -z "$ids" ] || docker rm -f $ids >/dev/null; rm -rf ${corner.appDir} ${corner.appDir}-v1`);
  await ds.cleanup();
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    if (!wasUp && process.env.KEEP_SANDBOX !== "1") execFileSync("bash", [sandbox, "down"], { stdio: "ignore" });
  });
