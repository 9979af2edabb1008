// The driver's command line: parses options, runs one command, publishes its report, exits
// with the outcome's code. SIGTERM/SIGINT cancel the run; a second signal (or the grace
// period running out) releases the locks at once and exits. No deployment logic lives here.
import { Command, InvalidArgumentError } from "commander";
import { abort, promote } from "./commands/decide.js";
import { deploy, type DeployRequest } from "./commands/deploy.js";
import { precheck } from "./commands/precheck.js";
import { preview } from "./commands/preview.js";
import { restore, restoreConfirmWord } from "./commands/restore.js";
import { rollback } from "./commands/rollback.js";
import { status } from "./commands/status.js";
import { trustHost } from "./commands/trust-host.js";
import { unlock } from "./commands/unlock.js";
import { Cancellation } from "./common/cancel.js";
import {
  auditLimit,
  command,
  decideCommand,
  githubRunId,
  onFailureChoice,
  positiveNumber,
  type DecideOptions,
  releaseCommand,
  releaseFields,
  rollbackCommand,
  type CommonOptions,
  type ReleaseOptions,
  type RollbackOptions,
  waitLockOption,
  waitLockTimeoutOption,
} from "./common/cli-args.js";
import { UsageError } from "./common/errors.js";
import { checkStackName } from "./common/stack-name.js";
import { CliOutput } from "./events/output.js";
import { GitHubRest } from "./github/rest.js";
import { outcomes } from "./report/outcomes.js";
import { redact, secretsFromEnv } from "./report/redact.js";
import { renderStatus } from "./report/status-text.js";
import { conclude, type RunSummary } from "./report/summary.js";
import { writeReports } from "./report/write.js";
import { realDeps } from "./stages/deps.js";
import { publishReports } from "./stages/publish.js";

/** Progress on stderr, the result (or --events) on stdout; its event stream is also the CLI's logger. */
const output = new CliOutput();
const log = output.events;
const cancellation = new Cancellation();
/** The run in progress, for the report written on an urgent exit. */
let running: { summary?: RunSummary; reportDir: string } = { reportDir: ".reports" };
const graceMs = Number(process.env.AWARENESS_CANCEL_GRACE_SECONDS ?? 30) * 1000;

async function exitNow(why: string): Promise<never> {
  log.warn(`${why}: releasing the locks and stopping the engine now`);
  const problems = await cancellation.runUrgent(5_000);
  for (const p of problems) log.warn(`while releasing: ${p}`);
  if (running.summary) {
    conclude(running.summary, "cancelled", `${why}: the run was cut short; the locks were released${problems.length ? " (with problems: see the log)" : ""}.`);
    running.summary.finishedAt = new Date().toISOString();
    await writeReports(running.summary, { dir: running.reportDir }).catch(() => undefined);
    output.end(running.summary);
  }
  process.exit(outcomes.cancelled.exitCode);
}

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (cancellation.signal.aborted) return void exitNow(`second ${sig}`);
    log.warn(`${sig}: cancelling: the step in flight finishes, then the locks are released (a second signal exits at once)`);
    cancellation.cancel(sig);
    setTimeout(() => void exitNow(`the run did not end within ${graceMs / 1000} s of ${sig}`), graceMs).unref();
  });
}

/** The GitHub repository to ask about CI and to file failure issues in: $GITHUB_REPOSITORY or --github-repo. */
function githubRepo(opt: string | undefined): { owner: string; repo: string } | undefined {
  const value = opt ?? process.env.GITHUB_REPOSITORY;
  if (!value) return undefined;
  const [owner, repo] = value.split("/");
  if (!owner || !repo) throw new InvalidArgumentError(`expected OWNER/REPO, got "${value}"`);
  return { owner, repo };
}

/** What every command runs with: the stack (a bad name is refused here), the real engine and host, the log, the cancel signal. */
function runOptions(o: CommonOptions) {
  output.configure(o);
  const stackName = checkStackName(o.stack);
  const repo = githubRepo(o.githubRepo);
  const gh = repo ? new GitHubRest() : undefined;
  const ciStatus = gh && repo ? (sha: string) => gh.ciStatusForCommit({ ...repo, sha }) : undefined;
  const openIssue = gh && repo ? (issue: { title: string; body: string; labels: string[] }) => gh.openFailureIssue({ ...repo, ...issue }) : undefined;
  running = { reportDir: o.reportDir };
  return { stackName, events: output.events, cancellation, deps: realDeps({ ciStatus, openIssue }), onStart: (summary: RunSummary) => (running.summary = summary) };
}

async function finish(summary: RunSummary, o: CommonOptions): Promise<never> {
  await publishReports(summary, { reportDir: o.reportDir, repo: githubRepo(o.githubRepo), log });
  output.end(summary);
  if (o.json) process.stdout.write(`${JSON.stringify(redact(summary, secretsFromEnv()), null, 2)}\n`);
  process.exit(summary.exitCode);
}

/** unlock, trust-host: their messages are the result; `reportFailure`: a failed run is published like any other. */
async function printed(summary: RunSummary, o: CommonOptions, opts: { reportFailure?: boolean } = {}): Promise<never> {
  for (const m of summary.messages) output.print(`${m}\n`);
  if (opts.reportFailure && summary.outcome !== "ok") return finish(summary, o);
  output.end(summary);
  process.exit(summary.exitCode);
}

const seconds = (v: number | undefined) => (v === undefined ? undefined : v * 1000);

function releaseRequest(o: ReleaseOptions): DeployRequest {
  const r = { ...runOptions(o), ...releaseFields(o) };
  return { ...r, skipCiCheck: o.skipCiCheck, allowDirty: o.allowDirty, waitLock: o.waitLock, waitLockTimeoutMs: seconds(o.waitLockTimeout), upDeadlineMs: seconds(o.upTimeout) };
}

const exitCodes = Object.entries(outcomes)
  .filter(([name]) => name !== "running")
  .map(([name, o]) => `${o.exitCode} ${name}`)
  .join(", ");

const program = new Command("awareness-deploy")
  .description("Safe deployments of the awareness compose app: prechecks, preview, up, health monitor, automatic rollback.")
  .addHelpText("after", `\nExit codes (by outcome): ${exitCodes}`)
  .showHelpAfterError();

program.addCommand(
  releaseCommand("deploy", "lock, precheck, preview, up, watch, and roll back by itself when the release goes bad")
    .addOption(waitLockOption)
    .addOption(waitLockTimeoutOption)
    .option("--up-timeout <seconds>", "our own deadline for each engine update (default 900)", positiveNumber)
    .option("--on-failure <rollback|pause>", "a failed verdict rolls back, or pauses for promote/abort (default: monitor.onFailure)", onFailureChoice)
    .option("--pause-timeout <seconds>", "how long a pause waits for a decision (default: monitor.pauseTimeoutMinutes)", positiveNumber)
    .action(async (o: ReleaseOptions & { onFailure?: "rollback" | "pause"; pauseTimeout?: number }) =>
      finish(await deploy({ ...releaseRequest(o), onFailure: o.onFailure, pauseTimeoutSeconds: o.pauseTimeout }), o),
    ),
);
for (const [name, run, what] of [
  ["promote", promote, "keep the paused release: the paused deploy marks it verified"],
  ["abort", abort, "give up the paused release: the paused deploy rolls back to the last verified release"],
] as const) {
  program.addCommand(
    decideCommand(name, `${what} (no lock: the paused deploy holds it)`).action(async (o: DecideOptions) =>
      finish(await run({ ...runOptions(o), reason: o.reason, release: o.release }), o),
    ),
  );
}
program.addCommand(
  releaseCommand("precheck", "run the pre-deployment checks for a release; changes nothing").action(async (o: ReleaseOptions) =>
    finish(await precheck(releaseRequest(o)), o),
  ),
);
program.addCommand(
  releaseCommand("preview", "show what deploying a release would change, checked against the replace policy").action(
    async (o: ReleaseOptions) => finish(await preview(releaseRequest(o)), o),
  ),
);
program.addCommand(
  rollbackCommand()
    .action(async (o: RollbackOptions) =>
      finish(await rollback({ ...runOptions(o), reason: o.reason, confirm: o.confirm, to: o.to, deadlineMs: seconds(o.upTimeout), waitLock: o.waitLock, waitLockTimeoutMs: seconds(o.waitLockTimeout) }), o),
    ),
);
program.addCommand(
  command("restore", "break glass: put back a backup set of the host (the last verified release by default), refresh, watch it")
    .requiredOption("--confirm <word>", `type ${restoreConfirmWord} to confirm`)
    .option("--release <id>", "a release id (its newest backup set) or a set's name (default: the last verified release)")
    .option("--force", "restore a release recorded as failed")
    .option("--volumes", "also put back the set's named volume archives (snapshotVolumes); never done without it")
    .action(async (o: CommonOptions & { confirm: string; release?: string; force?: boolean; volumes?: boolean }) =>
      finish(await restore({ ...runOptions(o), confirm: o.confirm, release: o.release, force: o.force, volumes: o.volumes }), o),
    ),
);
program.addCommand(
  command("status", "the live and the last verified release, the host's deployment.json, recent history")
    .option("--audit", "also the newest entries of the host's audit.log (who ran what, why, when, the outcome)")
    .option("--limit <n>", "with --audit: how many entries (default 20, at most 1000)", auditLimit)
    .action(async (o: CommonOptions & { audit?: boolean; limit?: number }) => {
      const { summary, report } = await status({ ...runOptions(o), auditLimit: o.audit ? (o.limit ?? 20) : undefined });
      if (!report) return finish(summary, o);
      output.print(o.json ? `${JSON.stringify(redact(report, secretsFromEnv()), null, 2)}\n` : renderStatus(report));
      output.end(summary);
      process.exit(summary.exitCode);
    }),
);
program.addCommand(
  command("unlock", "clear the host deploy lock left by a run that died (see `status` for its holder)")
    .requiredOption("--force", "yes, the holder is gone")
    .option("--run <github-run-id>", "only a lock this GitHub run took (the clean-up of a cancelled job); another run's lock stays", githubRunId)
    .option("--engine", "also cancel the engine's update lock (pulumi cancel), unless another run holds the host lock")
    .action(async (o: CommonOptions & { run?: string; engine?: boolean }) =>
      printed(await unlock({ ...runOptions(o), onlyRun: o.run, engine: o.engine }), o, { reportFailure: true }),
    ),
);
program.addCommand(
  command("trust-host", "read each host's SSH key, show its fingerprint, and pin it in the stack config (trust on first use)")
    .option("--host <name>", "only this host (its name in awareness:hosts)")
    .option("--replace", "replace a pinned key that differs (the server was re-keyed)")
    .action(async (o: CommonOptions & { host?: string; replace?: boolean }) =>
      printed(await trustHost({ ...runOptions(o), host: o.host, replace: o.replace }), o),
    ),
);
program.addCommand(
  new Command("demo")
    .description("the whole story on the local sandbox: deploy v1 (verified), deploy v2 (rolls back by itself), status")
    .option("--keep-sandbox", "leave the sandbox running afterwards")
    .action(async (o: { keepSandbox?: boolean }) => {
      const { runDemo } = await import("./demo.js");
      process.exit(await runDemo({ keepSandbox: o.keepSandbox ?? false, log, cancellation }));
    }),
);

program.parseAsync(process.argv).catch((err: unknown) => {
  // The single error exit: anything not turned into a summary is bad usage or a bug.
  const usage = err instanceof InvalidArgumentError || err instanceof UsageError;
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(usage ? outcomes.usage.exitCode : outcomes.error.exitCode);
});
