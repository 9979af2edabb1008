// Benchmark (not a test): a release deployed to 1, 4 and 8 hosts in one batch (every host
// switches in parallel in one update), on cheap hosts of the sandbox (test/support/cheap-hosts.ts:
// one sshd and one Docker engine, each host its own app dir, compose project and port). For each
// fleet size, BENCH_ROUNDS deploys (env changes, so every host really switches), medians of:
//   to the watch: lock, prechecks, preview and the update (the deploy before its monitor)
//   update:       the engine's `up` alone
//   total:        the whole deploy (the watch is the same fixed window for every size)
// Ratios are against one host measured in this same run (goal: 8 hosts <= 1.3x one host).
// .reports/bench/fleet-<time>.{md,json} hold the table.
// Run: npm run bench:fleet   (brings the sandbox up; stops it again unless KEEP_SANDBOX=1)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deploy } from "../../automation/commands/deploy.js";
import { repoRoot } from "../../automation/common/process.js";
import { applySandboxStackConfig, type SandboxTarget } from "../../automation/sandbox/target.js";
import { runOnSandbox } from "./bench-sandbox.js";
import { cheapFleetOverrides, cheapHosts, clearCheapHosts } from "../support/cheap-hosts.js";
import { driverStack } from "../support/driver.js";

let target: SandboxTarget;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const sizes = (process.env.BENCH_FLEET_SIZES ?? "1,4,8").split(",").map(Number);
const quiet = { info: () => {}, warn: () => {} };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sec = (ms: number) => (ms / 1000).toFixed(2);
/** The machine's CPU ticks, busy and total (/proc/stat): every "host" of this fleet shares these cores. */
const cpuTicks = () => {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
};

interface SizeResult {
  hosts: number;
  toWatch: number[];
  update: number[];
  total: number[];
  /** Each round's stages (name, ms): where a bigger fleet's extra time goes. */
  stages: { stage: string; ms: number }[][];
  /** Share of the machine's CPU in use from the deploy's start to its watch (all cores). */
  cpuBusy: number[];
}

async function measure(size: number): Promise<SizeResult> {
  const hosts = cheapHosts(target, `bench${size}`, size, 19700 + size * 10);
  clearCheapHosts(target, hosts);
  const stackName = `test-fleet-bench-${size}`;
  const ds = await driverStack(stackName);
  const backend = { backend: target.releases.v1!.backend! };
  const base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  const result: SizeResult = { hosts: size, toWatch: [], update: [], total: [], stages: [], cpuBusy: [] };
  try {
    await applySandboxStackConfig(await ds.engine(), target, "v1", { overrides: cheapFleetOverrides(target, hosts, { id: "r0" }) });
    const first = await deploy({ ...base, releaseId: "r0", images: backend });
    if (first.outcome !== "deployed-verified") throw new Error(`${size} hosts: the first deploy ended ${first.outcome}: ${first.messages.join(" ")}`);
    for (let i = 1; i <= rounds; i++) {
      let monitorAt = 0;
      let cpuAtWatch = cpuTicks();
      const cpuAtStart = cpuTicks();
      const started = Date.now();
      const s = await deploy({
        ...base,
        releaseId: `r${i}`,
        images: backend,
        env: { APP_ENV: `bench-${i}` },
        onStage: (stage: string) => {
          if (stage === "monitor") {
            monitorAt = Date.now();
            cpuAtWatch = cpuTicks();
          }
        },
      });
      if (s.outcome !== "deployed-verified") throw new Error(`${size} hosts, round ${i}: ${s.outcome}: ${s.messages.join(" ")}`);
      result.total.push(Date.now() - started);
      result.toWatch.push(monitorAt - started);
      result.update.push(s.stages?.find((t) => t.stage === "up")?.ms ?? Number.NaN);
      result.cpuBusy.push((cpuAtWatch.busy - cpuAtStart.busy) / (cpuAtWatch.total - cpuAtStart.total));
      result.stages.push((s.stages ?? []).map((t) => ({ stage: t.stage, ms: t.ms })));
      process.stderr.write(`  ${size} host(s), round ${i}: to the watch ${sec(monitorAt - started)} s, total ${sec(Date.now() - started)} s\n`);
    }
  } finally {
    clearCheapHosts(target, hosts);
    await ds.cleanup();
  }
  return result;
}

async function main(sandboxTarget: SandboxTarget): Promise<void> {
  target = sandboxTarget;
  const results: SizeResult[] = [];
  for (const size of sizes) results.push(await measure(size));
  const one = results.find((r) => r.hosts === 1) ?? results[0]!;
  const ratio = (r: SizeResult, k: "toWatch" | "update" | "total") => (median(r[k]) / median(one[k])).toFixed(2);
  const cpus = readFileSync("/proc/cpuinfo", "utf8").split("\n").filter((l) => l.startsWith("processor")).length;
  const stageNames = [...new Set(results.flatMap((r) => r.stages.flat().map((t) => t.stage)))].filter((n) => !["monitor", "verdict"].includes(n));
  const markdown = [
    `## Deploy time by fleet size (sandbox, one batch, ${rounds} rounds, medians; ratios against ${one.hosts} host)`,
    "",
    "| hosts | to the watch | ratio | update | ratio | total | ratio | CPU busy to the watch |",
    "|---|---|---|---|---|---|---|---|",
    ...results.map((r) => `| ${r.hosts} | ${sec(median(r.toWatch))} s | ${ratio(r, "toWatch")}x | ${sec(median(r.update))} s | ${ratio(r, "update")}x | ${sec(median(r.total))} s | ${ratio(r, "total")}x | ${Math.round(median(r.cpuBusy) * 100)} % |`),
    "",
    "Goal: a batch that switches in parallel takes at most 1.3x one host's deploy (to the watch).",
    `Every host here shares this machine's ${cpus} cores, one sshd and one Docker engine: CPU near 100 % means the hosts' own work queues for the cores.`,
    "",
    "Stages before the watch (medians, s):",
    "",
    `| hosts | ${stageNames.join(" | ")} |`,
    `|---|${stageNames.map(() => "---").join("|")}|`,
    ...results.map((r) => `| ${r.hosts} | ${stageNames.map((n) => sec(median(r.stages.map((round) => round.find((t) => t.stage === n)?.ms ?? 0)))).join(" | ")} |`),
    "",
  ].join("\n");
  const outDir = join(repoRoot, ".reports", "bench");
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  writeFileSync(join(outDir, `fleet-${stamp}.md`), markdown);
  writeFileSync(join(outDir, `fleet-${stamp}.json`), `${JSON.stringify({ rounds, results }, null, 2)}\n`);
  process.stdout.write(`${markdown}written: .reports/bench/fleet-${stamp}.{md,json}\n`);
}

runOnSandbox(main);
