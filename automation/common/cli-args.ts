// The command-line options a run is built from, and the release request they make. Pure (no
// process handlers, no parsing at import), so tests run hostile argument lists through exactly
// what the CLI does: commander's parsing, these parsers, releaseFields.
import { Command, InvalidArgumentError, Option } from "commander";
import { confirmWord } from "../commands/rollback.js";
import type { ReleaseRequest } from "../stages/open.js";

/** `--image service=ref`, `--env KEY=VALUE` (repeatable): split at the first "=". */
export function keyValue(kind: string) {
  return (value: string, previous: Record<string, string> = {}) => {
    const i = value.indexOf("=");
    if (i <= 0) throw new InvalidArgumentError(`expected ${kind}=VALUE, got "${value}"`);
    return { ...previous, [value.slice(0, i)]: value.slice(i + 1) };
  };
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}"`);
  return n;
}

/** `--limit N`: a whole number of entries, 1 to 1000. */
export function auditLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000) throw new InvalidArgumentError(`expected a whole number from 1 to 1000, got "${value}"`);
  return n;
}

/** `--run ID`: a GitHub run id ($GITHUB_RUN_ID), digits only. */
export function githubRunId(value: string): string {
  if (!/^\d{1,20}$/.test(value)) throw new InvalidArgumentError(`expected a GitHub run id (digits), got "${value}"`);
  return value;
}

/** deploy and rollback: wait for the host lock (a deploy in progress) instead of failing. */
export const waitLockOption = new Option("--wait-lock", "queue behind a deployment in progress instead of failing");
export const waitLockTimeoutOption = new Option("--wait-lock-timeout <seconds>", "with --wait-lock: give up after this long (default 1800)").argParser(positiveNumber);

export interface CommonOptions {
  stack: string;
  json?: boolean;
  /** `ndjson`: each run event as one JSON line on stdout, as it happens. */
  events?: string;
  /** plain | fancy | auto: the progress on stderr (auto: in place on a terminal outside CI). */
  progress?: string;
  reportDir: string;
  githubRepo?: string;
}

/** A command with the options every command has: the stack, the report dir, the GitHub repo, --json, --events, --progress. */
export function command(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .addOption(new Option("--stack <name>", "the stack to act on").default("sandbox"))
    .addOption(new Option("--report-dir <dir>", "where the Markdown and JSON summaries go").default(".reports"))
    .option("--github-repo <owner/repo>", "where CI runs and failure issues live (default $GITHUB_REPOSITORY)")
    .option("--json", "print the run summary as JSON on stdout")
    .option("--events <format>", "stream the run's events on stdout as they happen: ndjson (one JSON object a line; not with --json)")
    .option("--progress <mode>", "progress on stderr: plain (lines), fancy (in place), auto (fancy on a terminal outside CI; default)");
}

export interface ReleaseOptions extends CommonOptions {
  release: string;
  gitSha?: string;
  image?: Record<string, string>;
  env?: Record<string, string>;
  skipCiCheck?: boolean;
  allowDirty?: boolean;
  waitLock?: boolean;
  waitLockTimeout?: number;
  upTimeout?: number;
}

/** deploy, precheck, preview: a command that names a release. */
export function releaseCommand(name: string, description: string): Command {
  return command(name, description)
    .requiredOption("--release <id>", "the release id (e.g. a version or the short git sha)")
    .option("--git-sha <sha>", "the commit the release was built from (default $GITHUB_SHA)")
    .option("--image <service=ref>", "a service's image (repeatable); others keep the current one", keyValue("SERVICE"))
    .option("--env <KEY=VALUE>", "a plain release env value (repeatable)", keyValue("KEY"))
    .option("--skip-ci-check", "do not require a successful CI/CD run for the git sha")
    .option("--allow-dirty", "do not require a clean git tree");
}

/** What the options ask of the release (validated with the stack config by the run). */
export function releaseFields(o: ReleaseOptions, env: NodeJS.ProcessEnv = process.env): ReleaseRequest {
  return { releaseId: o.release, gitSha: o.gitSha ?? env.GITHUB_SHA, images: o.image, env: o.env };
}

export interface RollbackOptions extends CommonOptions {
  reason: string;
  confirm: string;
  to?: string;
  upTimeout?: number;
  waitLock?: boolean;
  waitLockTimeout?: number;
}

export function rollbackCommand(): Command {
  return command("rollback", "re-apply the previous verified release (or --to one)")
    .requiredOption("--reason <text>", "why (recorded in the stack history and the report)")
    .requiredOption("--confirm <word>", `type ${confirmWord} to confirm`)
    .option("--to <release>", "a verified release id (default: the newest verified release that is not live)")
    .option("--up-timeout <seconds>", "our own deadline for the engine update (default 900)", positiveNumber)
    .addOption(waitLockOption)
    .addOption(waitLockTimeoutOption);
}

/** `--on-failure rollback|pause`. */
export function onFailureChoice(value: string): "rollback" | "pause" {
  if (value !== "rollback" && value !== "pause") throw new InvalidArgumentError(`expected rollback or pause, got "${value}"`);
  return value;
}

export interface DecideOptions extends CommonOptions {
  reason: string;
  release?: string;
}

/** promote / abort: the decision for a deploy that holds a release paused. */
export function decideCommand(name: "promote" | "abort", description: string): Command {
  return command(name, description)
    .requiredOption("--reason <text>", "why (kept in the paused deploy's report and the audit log)")
    .option("--release <id>", "the paused release it is about (refused when another one is paused)");
}
