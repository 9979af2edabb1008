// The README's main job: the whole story on the local sandbox target. Deploy v1 (it passes
// its health check and becomes verified), deploy v2 (its /api/auth/status answers 500, the
// monitor fails it, the driver rolls back to v1 by itself), then show the status.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { awarenessProgram } from "../components/program.js";
import { deploy } from "./commands/deploy.js";
import { status } from "./commands/status.js";
import type { Cancellation } from "./common/cancel.js";
import type { Logger } from "./common/log.js";
import { repoRoot } from "./common/process.js";
import type { RunSummary } from "./report/summary.js";
import { openEngine } from "./runner.js";
import { applySandboxStackConfig, readSandboxTarget } from "./sandbox/target.js";
import { realDeps } from "./stages/deps.js";
import { publishReports } from "./stages/publish.js";
import { testCommandPluginEnv } from "./toolchain/plugins.js";

const sandboxScript = join(repoRoot, "test", "sandbox", "sandbox.sh");
const pluginBuild = join(repoRoot, "test", "command-plugin", "build.sh");

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], cwd: repoRoot });
}

export async function runDemo(opts: { keepSandbox: boolean; log: Logger; cancellation: Cancellation }): Promise<number> {
  const { log, cancellation } = opts;
  const say = (line: string) => log.info(`\ndemo: ${line}`);
  say("bringing up the local sandbox target (sshd, dockerd, registry, demo releases v1..v8) ...");
  run("bash", [sandboxScript, "up"]);
  if (existsSync(pluginBuild)) run("bash", [pluginBuild]); // only used when the official plugin is absent
  const target = readSandboxTarget(repoRoot);

  try {
    say(`configuring the "sandbox" stack for ${target.ssh.user}@${target.ssh.host}:${target.ssh.port} (app in ${target.appDir})`);
    // The demo's operator settings (the sandbox's host, port and key) live in a project dir of
    // its own under .sandbox/, with its state, never in the repository's files. Initialising
    // the local stack is the one place a stack is created outright.
    const projectDir = join(repoRoot, ".sandbox", "demo-project");
    mkdirSync(join(projectDir, "state"), { recursive: true });
    copyFileSync(join(repoRoot, "Pulumi.yaml"), join(projectDir, "Pulumi.yaml"));
    const where = { workDir: projectDir, backendUrl: `file://${join(projectDir, "state")}` };
    const engine = await openEngine({ stackName: "sandbox", mode: "create", program: awarenessProgram, envVars: testCommandPluginEnv(), log, ...where });
    await applySandboxStackConfig(engine, target, "v1");

    const reportDir = join(repoRoot, ".reports", "demo");
    const deps = realDeps(where);
    const step = async (releaseId: string, story: string): Promise<RunSummary> => {
      say(story);
      // The sandbox has no GitHub repository and the demo may run in a working copy.
      const summary = await deploy({ stackName: "sandbox", releaseId, images: target.releases[releaseId], skipCiCheck: true, allowDirty: true, log, deps, cancellation });
      await publishReports(summary, { reportDir, log });
      return summary;
    };

    const v1 = await step("v1", "deploying v1 (healthy): expect it to pass the monitor and become verified");
    const v2 = await step("v2", "deploying v2 (/api/auth/status answers 500): expect an automatic rollback to v1");

    say("status:");
    const { report } = await status({ stackName: "sandbox", deps, log });
    const live = (report?.current as { id?: string } | undefined)?.id;
    log.info(`  live release: ${live}; last verified: ${report?.lastVerified?.id}; last failed: ${report?.lastFailed}`);
    log.info(`  host deployment.json: current ${report?.host?.current?.id}, verified ${report?.host?.verified?.id}`);
    log.info(`  why v2 was rolled back: ${v2.rollback?.reason ?? v2.messages.join(" ")}`);
    const ok = v1.outcome === "deployed-verified" && v2.outcome === "rolled-back" && live === "v1" && report?.host?.current?.id === "v1";
    say(ok ? "the story went as expected: v1 live and verified, v2 rolled back by itself." : "the story did NOT go as expected: see above.");
    log.info(`  reports: ${reportDir}`);
    return ok ? 0 : 1;
  } finally {
    if (opts.keepSandbox) say("the sandbox keeps running (stop it with `npm run sandbox -- down`)");
    else {
      say("stopping the sandbox (keep it with `npm run demo -- --keep-sandbox`)");
      run("bash", [sandboxScript, "down"]);
    }
  }
}
