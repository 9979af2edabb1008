// The README's main job: the whole story on the local sandbox target. Deploy v1 (it passes
// its health check and becomes verified), deploy v2 (its /api/auth/status answers 500, the
// monitor fails it, the driver rolls back to v1 by itself), then show the status.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { applySandboxStackConfig, readSandboxTarget } from "../test/sandbox/stack-config.js";
import { deploy } from "./deploy.js";
import { status } from "./operate.js";
import { publishReports } from "./publish.js";
import { repoRoot } from "./runner.js";
import { openSession, type Logger } from "./session.js";
import type { RunSummary } from "./summary.js";

const sandboxScript = join(repoRoot, "test", "sandbox", "sandbox.sh");
const pluginBuild = join(repoRoot, "test", "command-plugin", "build.sh");

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], cwd: repoRoot });
}

export async function runDemo(opts: { keepSandbox: boolean; log: Logger }): Promise<number> {
  const { log } = opts;
  const say = (line: string) => log.info(`\ndemo: ${line}`);
  say("bringing up the local sandbox target (sshd, dockerd, registry, demo releases v1..v5) ...");
  run("bash", [sandboxScript, "up"]);
  if (existsSync(pluginBuild)) run("bash", [pluginBuild]); // only used when the official plugin is absent
  const target = readSandboxTarget(repoRoot);

  try {
    say(`configuring the "sandbox" stack for ${target.ssh.user}@${target.ssh.host}:${target.ssh.port} (app in ${target.appDir})`);
    const session = await openSession({ stackName: "sandbox", log });
    await applySandboxStackConfig(session.stack, target, "v1");
    session.close();

    const reportDir = join(repoRoot, ".reports", "demo");
    const step = async (releaseId: string, story: string): Promise<RunSummary> => {
      say(story);
      const summary = await deploy({
        stackName: "sandbox",
        releaseId,
        images: target.releases[releaseId],
        // The sandbox has no GitHub repository and the demo may run in a working copy.
        skipCiCheck: true,
        allowDirty: true,
        log,
      });
      await publishReports(summary, { reportDir, log });
      return summary;
    };

    const v1 = await step("v1", "deploying v1 (healthy): expect it to pass the monitor and become verified");
    const v2 = await step("v2", "deploying v2 (/api/auth/status answers 500): expect an automatic rollback to v1");

    say("status:");
    const report = await status({ stackName: "sandbox" });
    const live = (report.current as { id?: string } | undefined)?.id;
    log.info(`  live release: ${live}; last verified: ${report.lastVerified?.id}; last failed: ${report.lastFailed}`);
    log.info(`  host deployment.json: current ${report.host?.current?.id}, verified ${report.host?.verified?.id}`);
    const why = v2.rollback?.reason ?? v2.messages.join(" ");
    log.info(`  why v2 was rolled back: ${why}`);
    const ok = v1.outcome === "deployed-verified" && v2.outcome === "rolled-back" && live === "v1" && report.host?.current?.id === "v1";
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
