// The driver's command line: parses options, calls the library, reports, exits with the
// outcome's code. No deployment logic lives here.
import { Command, InvalidArgumentError, Option } from "commander";
import { GitHubRest } from "./github/rest.js";
import { deploy, type DeployRequest } from "./deploy.js";
import { confirmWord, precheck, preview, restore, rollback, status, unlock } from "./operate.js";
import { publishReports } from "./publish.js";
import { redact, secretsFromEnv } from "./report/redact.js";
import { consoleLogger } from "./session.js";
import { ExitCode, type RunSummary } from "./summary.js";

function keyValue(kind: string) {
  return (value: string, previous: Record<string, string> = {}) => {
    const i = value.indexOf("=");
    if (i <= 0) throw new InvalidArgumentError(`expected ${kind}=VALUE, got "${value}"`);
    return { ...previous, [value.slice(0, i)]: value.slice(i + 1) };
  };
}

/** The GitHub repository to ask about CI and to file failure issues in: $GITHUB_REPOSITORY or --github-repo. */
function githubRepo(opt: string | undefined): { owner: string; repo: string } | undefined {
  const value = opt ?? process.env.GITHUB_REPOSITORY;
  if (!value) return undefined;
  const [owner, repo] = value.split("/");
  if (!owner || !repo) throw new InvalidArgumentError(`expected OWNER/REPO, got "${value}"`);
  return { owner, repo };
}

interface ReleaseOptions {
  stack: string;
  release: string;
  gitSha?: string;
  image?: Record<string, string>;
  env?: Record<string, string>;
  skipCiCheck?: boolean;
  allowDirty?: boolean;
  waitLock?: boolean;
  githubRepo?: string;
  upTimeout?: number;
}

// SIGTERM/SIGINT (a cancelled CI job, Ctrl-C) cancel the engine update gracefully, so the
// stack's lock and the host lock are released and the next deploy converges.
const interrupted = new AbortController();
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  // `on`, not `once`: the engine's own shutdown may signal the process group again, and a
  // second signal must not kill the driver before it has released the locks.
  process.on(sig, () => {
    if (interrupted.signal.aborted) return;
    process.stderr.write(`\n${sig}: cancelling the running operation (the locks are released) ...\n`);
    interrupted.abort();
  });
}

function deployRequest(o: ReleaseOptions): DeployRequest {
  const repo = githubRepo(o.githubRepo);
  const gh = repo ? new GitHubRest() : undefined;
  return {
    stackName: o.stack,
    releaseId: o.release,
    gitSha: o.gitSha ?? process.env.GITHUB_SHA,
    images: o.image,
    env: o.env,
    skipCiCheck: o.skipCiCheck ?? false,
    allowDirty: o.allowDirty ?? false,
    waitLock: o.waitLock ?? false,
    upDeadlineMs: o.upTimeout ? o.upTimeout * 1000 : undefined,
    ciStatus: gh && repo ? (sha) => gh.ciStatusForCommit({ ...repo, sha }) : undefined,
    log: consoleLogger,
    signal: interrupted.signal,
  };
}

async function finish(summary: RunSummary, opts: { json?: boolean; reportDir?: string; githubRepo?: string }): Promise<never> {
  await publishReports(summary, { reportDir: opts.reportDir, repo: githubRepo(opts.githubRepo), log: consoleLogger });
  if (opts.json) process.stdout.write(`${JSON.stringify(redact(summary, secretsFromEnv()), null, 2)}\n`);
  process.exit(summary.exitCode);
}

const stackOption = new Option("--stack <name>", "the stack to act on").default("sandbox");
const reportDirOption = new Option("--report-dir <dir>", "where the Markdown and JSON summaries go").default(".reports");

function releaseCommand(name: string, description: string) {
  return new Command(name)
    .description(description)
    .addOption(stackOption)
    .requiredOption("--release <id>", "the release id (e.g. a version or the short git sha)")
    .option("--git-sha <sha>", "the commit the release was built from (default $GITHUB_SHA)")
    .option("--image <service=ref>", "a service's image (repeatable); others keep the current one", keyValue("SERVICE"))
    .option("--env <KEY=VALUE>", "a plain release env value (repeatable)", keyValue("KEY"))
    .option("--skip-ci-check", "do not require a successful CI/CD run for the git sha")
    .option("--allow-dirty", "do not require a clean git tree")
    .option("--github-repo <owner/repo>", "where CI runs and failure issues live (default $GITHUB_REPOSITORY)")
    .addOption(reportDirOption)
    .option("--json", "print the run summary as JSON on stdout");
}

const program = new Command("awareness-deploy")
  .description("Safe deployments of the awareness compose app: prechecks, preview, up, health monitor, automatic rollback.")
  .showHelpAfterError();

program.addCommand(
  releaseCommand("deploy", "lock, precheck, preview, up, watch, and roll back by itself when the release goes bad")
    .option("--wait-lock", "queue behind a deployment in progress instead of failing")
    .option("--up-timeout <seconds>", "our own deadline for each engine update", (v) => Number(v))
    .action(async (o: ReleaseOptions & { json?: boolean; reportDir?: string }) => finish(await deploy(deployRequest(o)), o)),
);

program.addCommand(
  releaseCommand("precheck", "run the pre-deployment checks for a release; changes nothing").action(
    async (o: ReleaseOptions & { json?: boolean; reportDir?: string }) => finish(await precheck(deployRequest(o)), o),
  ),
);

program.addCommand(
  releaseCommand("preview", "show what deploying a release would change, checked against the replace policy").action(
    async (o: ReleaseOptions & { json?: boolean; reportDir?: string }) => finish(await preview(deployRequest(o)), o),
  ),
);

program.addCommand(
  new Command("rollback")
    .description("re-apply the previous verified release (or --to one)")
    .addOption(stackOption)
    .requiredOption("--reason <text>", "why (recorded in the stack history and the report)")
    .requiredOption("--confirm <word>", `type ${confirmWord} to confirm`)
    .option("--to <release>", "a verified release id (default: the one before the live release)")
    .option("--github-repo <owner/repo>", "where failure issues go (default $GITHUB_REPOSITORY)")
    .addOption(reportDirOption)
    .option("--json", "print the run summary as JSON")
    .action(async (o: { stack: string; reason: string; confirm: string; to?: string; json?: boolean; reportDir?: string; githubRepo?: string }) =>
      finish(await rollback({ stackName: o.stack, reason: o.reason, confirm: o.confirm, to: o.to, log: consoleLogger }), o),
    ),
);

program.addCommand(
  new Command("restore")
    .description("break glass: put back the host's newest *.backup files, start them, refresh the stack")
    .addOption(stackOption)
    .requiredOption("--confirm <word>", "type RESTORE to confirm")
    .addOption(reportDirOption)
    .option("--json", "print the run summary as JSON")
    .action(async (o: { stack: string; confirm: string; json?: boolean; reportDir?: string }) => {
      if (o.confirm !== "RESTORE") {
        process.stderr.write("restore refused: --confirm must be exactly RESTORE\n");
        process.exit(ExitCode.Usage);
      }
      return finish(await restore({ stackName: o.stack, log: consoleLogger }), o);
    }),
);

program.addCommand(
  new Command("status")
    .description("the live and the last verified release, the host's deployment.json, recent history")
    .addOption(stackOption)
    .option("--json", "print as JSON")
    .action(async (o: { stack: string; json?: boolean }) => {
      const report = await status({ stackName: o.stack });
      if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(renderStatus(report));
      process.exit(ExitCode.Ok);
    }),
);

program.addCommand(
  new Command("unlock")
    .description("clear the host deploy lock left by a run that died (see `status` for its holder)")
    .addOption(stackOption)
    .requiredOption("--force", "yes, the holder is gone")
    .action(async (o: { stack: string }) => {
      const { was } = await unlock({ stackName: o.stack, log: consoleLogger });
      process.stdout.write(was ? `released the lock held by ${was.holder} (release ${was.release}, ${was.ageSeconds} s old)\n` : "the host lock was free\n");
      process.exit(ExitCode.Ok);
    }),
);

program.addCommand(
  new Command("demo")
    .description("the whole story on the local sandbox: deploy v1 (verified), deploy v2 (rolls back by itself), status")
    .option("--keep-sandbox", "leave the sandbox running afterwards")
    .action(async (o: { keepSandbox?: boolean }) => {
      const { runDemo } = await import("./demo.js");
      process.exit(await runDemo({ keepSandbox: o.keepSandbox ?? false, log: consoleLogger }));
    }),
);

function renderStatus(r: Awaited<ReturnType<typeof status>>): string {
  const live = r.current as { id?: string; images?: Record<string, string>; deployedAt?: string } | undefined;
  const lines = [
    `stack ${r.stack}`,
    `  live release:   ${live?.id ?? "none"}${live?.deployedAt ? ` (deployed ${live.deployedAt})` : ""}`,
    `  last verified:  ${r.lastVerified ? `${r.lastVerified.id} (update ${r.lastVerified.update})` : "none"}`,
    `  last failed:    ${r.lastFailed ?? "none"}`,
    `  host:           ${r.hostError ? `unreachable: ${r.hostError}` : `current ${r.host?.current?.id ?? "none"}, verified ${r.host?.verified?.id ?? "none"}, lock ${r.lock ? r.lock.holder : "free"}`}`,
    "  history:",
    ...r.history.map((h) => `    ${h.startTime} ${h.result.padEnd(9)} ${h.release ?? "-"}  ${h.message}`),
  ];
  return `${lines.join("\n")}\n`;
}

program.parseAsync(process.argv).catch((err: unknown) => {
  // The single error exit: anything not turned into a summary is a bug or bad usage.
  const usage = err instanceof InvalidArgumentError;
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(usage ? ExitCode.Usage : ExitCode.Unexpected);
});
