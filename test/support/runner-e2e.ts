// The "user's repository" the runner harness e2e runs the committed workflows from: a clone of
// this project at its HEAD, with Pulumi.production.yaml wired to a sandbox corner (as a user
// wires theirs to their server) and committed; its stack state in the local S3 backend.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../automation/common/process.js";
import { openEngine } from "../../automation/runner.js";
import { applySandboxStackConfig, type SandboxStackOptions, type SandboxTarget } from "../../automation/sandbox/target.js";
import { awarenessProgram } from "../../components/program.js";
import { runJob } from "../runner/job.js";
import type { JobRecord, RunJobOptions } from "../runner/types.js";
import { buildTestCommandPlugin, commandPluginSelection, testEngineEnv, testPluginDir } from "./plugins.js";
import type { S3Backend } from "./s3-backend.js";

export interface UserRepo {
  dir: string;
  sha: string;
  secrets: Record<string, string>;
}

const git = (dir: string, ...args: string[]): string =>
  execFileSync("git", ["-C", dir, "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", ...args], { encoding: "utf8" }).trim();

export async function wireUserRepo(s3: S3Backend, target: SandboxTarget, corner: SandboxStackOptions, passphrase: string): Promise<UserRepo> {
  const dir = mkdtempSync(join(tmpdir(), "runner-user-repo-"));
  execFileSync("git", ["clone", "--quiet", repoRoot, dir]);
  process.env.PULUMI_CONFIG_PASSPHRASE = passphrase; // the driver reads it for a production stack
  const envVars = { ...(await testEngineEnv()), ...s3.env, PULUMI_CONFIG_PASSPHRASE: passphrase };
  const engine = await openEngine({ stackName: "production", mode: "create", program: awarenessProgram, workDir: dir, backendUrl: s3.url, envVars });
  await applySandboxStackConfig(engine, target, "v1", corner);
  return {
    dir,
    sha: commitStackFile(dir, "Wire production to the server"),
    secrets: { PULUMI_CONFIG_PASSPHRASE: passphrase, PULUMI_BACKEND_URL: s3.url, ...s3.env, GITHUB_TOKEN: "ghs_harnessfaketoken" },
  };
}

function commitStackFile(dir: string, message: string): string {
  git(dir, "add", "Pulumi.production.yaml");
  git(dir, "commit", "--quiet", "-m", message);
  return git(dir, "rev-parse", "HEAD");
}

/** The user edits their stack settings as in the wiring (e.g. a longer monitor) and commits: the repository at that commit. */
export async function editStackSettings(
  repo: UserRepo,
  s3: S3Backend,
  target: SandboxTarget,
  corner: SandboxStackOptions,
  overrides: Record<string, unknown>,
  message: string,
): Promise<UserRepo> {
  const envVars = { ...(await testEngineEnv()), ...s3.env, PULUMI_CONFIG_PASSPHRASE: repo.secrets.PULUMI_CONFIG_PASSPHRASE! };
  const engine = await openEngine({ stackName: "production", mode: "select", program: awarenessProgram, workDir: repo.dir, backendUrl: s3.url, envVars });
  await applySandboxStackConfig(engine, target, "v1", { ...corner, overrides });
  return { ...repo, sha: commitStackFile(repo.dir, message) };
}

/** Runs a job of the user's repository on a fresh runner, its steps' output kept in `logFile`. */
export async function runUserJob(repo: UserRepo, logFile: string, options: Partial<RunJobOptions> & Pick<RunJobOptions, "workflow" | "job" | "event">): Promise<JobRecord & { ghCalls: string[][] }> {
  const runnerRoot = mkdtempSync(join(tmpdir(), "runner-"));
  const ghLog = join(runnerRoot, "gh-calls.jsonl");
  writeFileSync(ghLog, "");
  // The runner's PATH gets the test-only plugin unless the machine has the official one (as a user's runner would).
  const { official } = commandPluginSelection("machine");
  if (!official) buildTestCommandPlugin();
  const pathPrefix = official ? undefined : testPluginDir;
  const record = await runJob({
    repo: repo.dir,
    sha: repo.sha,
    repository: "octo/awareness",
    secrets: repo.secrets,
    runnerRoot,
    // The runner image: its own tools (gh faked), the plugins GitHub would download on first use.
    basePath: [join(repoRoot, "test/runner/runner-image"), ...(pathPrefix ? [pathPrefix] : []), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"].join(":"),
    // npm prefers its cache (GitHub's runner has none without a cache step: same packages, slower).
    baseEnv: {
      HOME: process.env.HOME ?? "/root",
      HARNESS_GH_LOG: ghLog,
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      npm_config_prefer_offline: "true",
    },
    standIns: { pulumiCli: join(repoRoot, ".tools/bin/pulumi") },
    log: (text) => writeFileSync(logFile, text, { flag: "a" }),
    ...options,
  });
  const ghCalls = readFileSync(ghLog, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as string[]);
  return { ...record, ghCalls };
}
