// Measures a release switch (v1 -> v3 and back) on the sandbox host two ways, in the same run:
//   bare:   ssh host 'docker compose pull -q && docker compose up -d'   (files already in place)
//   pulumi: stack.up() of the program (pull steps, backup, atomic swap, up, wait until running
//           [and healthy], deployment record), through the real engine and command plugin.
// Run: PATH=$PWD/node_modules/.bin:$PATH tsx test/bench/compose-vs-up.ts [rounds]
import { spawnSync } from "node:child_process";
import { renderComposeFile } from "../../components/compose/render.js";
import { parseStackConfig } from "../../components/config/parse.js";
import { awarenessProgram } from "../../components/program.js";
import { tempStack } from "../support/engine.js";
import { clearCorner, onHost, target, testCorner } from "../e2e/components-support.js";
import { applySandboxStackConfig, rawConfig, sandboxStackConfig, type SandboxStackOptions } from "../../automation/sandbox/target.js";

const rounds = Number(process.argv[2] ?? 3);
const bareCorner = testCorner("bench-bare", { backend: 28380, frontend: 28381 });
const upCorner = testCorner("bench-up", { backend: 28280, frontend: 28281 });

function seconds(run: () => void): number {
  const t = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** Puts release `id`'s compose file in the bare corner (untimed), as a human would scp it. */
function writeBareCompose(id: string): void {
  const cfg = parseStackConfig(rawConfig(sandboxStackConfig(target, id, bareCorner)));
  const compose = renderComposeFile({ services: cfg.services, images: cfg.release.images });
  const r = spawnSync(
    "ssh",
    ["-i", target.ssh.privateKeyPath, "-p", String(target.ssh.port), "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${target.ssh.knownHostsPath}`,
      `${target.ssh.user}@${target.ssh.host}`, `mkdir -p ${bareCorner.appDir} && cat > ${bareCorner.appDir}/docker-compose.yml && printf 'APP_ENV=sandbox\\n' > ${bareCorner.appDir}/.env`],
    { input: compose, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(r.stderr);
}

function bareSwitch(): number {
  return seconds(() => onHost(`cd ${bareCorner.appDir} && docker compose -p ${bareCorner.composeProject} pull -q && docker compose -p ${bareCorner.composeProject} up -d`));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  clearCorner(bareCorner);
  clearCorner(upCorner);
  const ts = await tempStack(awarenessProgram);
  const results: Record<string, number[]> = { bare: [], "pulumi up (wait healthy)": [], "pulumi up (wait running)": [] };
  try {
    writeBareCompose("v1");
    bareSwitch();
    const up = async (id: string, opts: SandboxStackOptions) => {
      await applySandboxStackConfig(ts.engine, target, id, { ...upCorner, ...opts });
      const t = process.hrtime.bigint();
      await ts.stack.up({ onOutput: () => {} });
      return Number(process.hrtime.bigint() - t) / 1e9;
    };
    await up("v1", {});
    for (let i = 0; i < rounds; i++) {
      for (const [from, to] of [["v1", "v3"], ["v3", "v1"]] as const) {
        writeBareCompose(to);
        results.bare!.push(bareSwitch());
        results["pulumi up (wait healthy)"]!.push(await up(to, {}));
        process.stderr.write(`round ${i + 1}: ${from} -> ${to} done\n`);
      }
    }
    for (let i = 0; i < rounds; i++) {
      results["pulumi up (wait running)"]!.push(await up("v3", { waitHealthy: false }), await up("v1", { waitHealthy: false }));
    }
  } finally {
    await ts.stack.destroy({ onOutput: () => {} }).catch(() => {});
    await ts.cleanup();
    clearCorner(bareCorner);
    clearCorner(upCorner);
  }
  const bare = median(results.bare!);
  console.log(`release switch v1 <-> v3 on the sandbox host, ${rounds} round(s) each way; median (all samples) in seconds`);
  for (const [name, xs] of Object.entries(results)) {
    const m = median(xs);
    console.log(`  ${name.padEnd(26)} ${m.toFixed(2).padStart(6)}  x${(m / bare).toFixed(1).padStart(5)}   [${xs.map((x) => x.toFixed(2)).join(", ")}]`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
