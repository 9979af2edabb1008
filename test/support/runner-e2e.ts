// The "user's repository" the runner harness e2e runs the committed workflows from: a clone of
// this project at its HEAD, with Pulumi.production.yaml and Pulumi.staging.yaml wired to sandbox
// corners (as a user wires theirs to their servers) and committed; the stacks' state in the
// local S3 backend; the repository's environments holding each stack's secrets, as the program's
// GitHub part declares them (production behind reviewers); the sandbox registry as the image
// registry (the IMAGE_REGISTRY variable) and the sandbox daemon as the runner's Docker.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot } from "../../automation/common/process.js";
import { openEngine } from "../../automation/runner.js";
import { applySandboxStackConfig, type SandboxStackOptions, type SandboxTarget } from "../../automation/sandbox/target.js";
import { awarenessProgram } from "../../components/program.js";
import { runJob } from "../runner/job.js";
import type { JobRecord, RunJobOptions } from "../runner/types.js";
import { runWorkflow, type RunWorkflowOptions, type WorkflowRunRecord } from "../runner/workflow-run.js";
import { buildTestCommandPlugin, commandPluginSelection, testEngineEnv, testPluginDir } from "./plugins.js";
import type { S3Backend } from "./s3-backend.js";

/** A stack of the user's repository: its sandbox corner and its own passphrase. */
export interface WiredStack {
  stack: "production" | "staging";
  corner: Required<Pick<SandboxStackOptions, "appDir" | "composeProject" | "ports">>;
  passphrase: string;
}

export interface UserRepo {
  dir: string;
  sha: string;
  /** Repository secrets: only the token GitHub gives every run (the stacks' secrets are environment secrets). */
  secrets: Record<string, string>;
  environments: NonNullable<RunJobOptions["environments"]>;
  vars: Record<string, string>;
  stacks: WiredStack[];
  target: SandboxTarget;
  s3: S3Backend;
}

const git = (dir: string, ...args: string[]): string =>
  execFileSync("git", ["-C", dir, "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", ...args], { encoding: "utf8" }).trim();

/**
 * The user's stack settings for a corner: the backend is the app CI/CD builds (its image comes
 * with each release); the frontend runs a pinned image, as the example's redis and db do.
 */
function wiring(target: SandboxTarget, wired: WiredStack, overrides: Record<string, unknown> = {}): SandboxStackOptions {
  const { ports } = wired.corner;
  return {
    ...wired.corner,
    overrides: {
      "awareness:services": {
        backend: { environment: { PORT: String(ports.backend) }, waitHealthy: true },
        frontend: { image: target.releases.v1!.frontend, environment: { PORT: String(ports.frontend) }, dependsOn: ["backend"], waitHealthy: true, releaseEnv: false },
      },
      ...overrides,
    },
  };
}

async function writeStackSettings(dir: string, s3: S3Backend, target: SandboxTarget, wired: WiredStack, mode: "create" | "select", overrides?: Record<string, unknown>): Promise<void> {
  process.env.PULUMI_CONFIG_PASSPHRASE = wired.passphrase; // the driver reads it for a real stack
  const envVars = { ...(await testEngineEnv()), ...s3.env, PULUMI_CONFIG_PASSPHRASE: wired.passphrase };
  const engine = await openEngine({ stackName: wired.stack, mode, program: awarenessProgram, workDir: dir, backendUrl: s3.url, envVars });
  await applySandboxStackConfig(engine, target, "v1", wiring(target, wired, overrides));
  // Settings only: the release lives in the backend (a deploy names it).
  await engine.removeConfig(["awareness:release"]);
}

export async function wireUserRepo(s3: S3Backend, target: SandboxTarget, stacks: WiredStack[]): Promise<UserRepo> {
  if (!target.dockerHost || !target.baseImage) throw new Error("the sandbox's target.json names no dockerHost/baseImage: run `bash test/sandbox/sandbox.sh up`");
  const dir = mkdtempSync(join(tmpdir(), "runner-user-repo-"));
  execFileSync("git", ["clone", "--quiet", repoRoot, dir]);
  for (const wired of stacks) await writeStackSettings(dir, s3, target, wired, "create");
  const environments: UserRepo["environments"] = {};
  for (const wired of stacks) {
    const secrets = { PULUMI_CONFIG_PASSPHRASE: wired.passphrase, PULUMI_BACKEND_URL: s3.url, ...s3.env };
    const reviewers = wired.stack === "production";
    environments[wired.stack] = { secrets, reviewers };
    environments[`${wired.stack}-status`] = { secrets };
    if (reviewers) {
      environments.preview = { secrets, reviewers };
      environments.approval = { reviewers };
    }
  }
  return {
    dir,
    sha: commit(dir, stacks.map((s) => `Pulumi.${s.stack}.yaml`), "Wire the stacks to the servers"),
    secrets: { GITHUB_TOKEN: "ghs_harnessfaketoken" },
    environments,
    vars: { IMAGE_REGISTRY: target.registry },
    stacks,
    target,
    s3,
  };
}

function commit(dir: string, paths: string[], message: string): string {
  git(dir, "add", ...paths);
  git(dir, "commit", "--quiet", "-m", message);
  return git(dir, "rev-parse", "HEAD");
}

/** The user edits a stack's settings as in the wiring (e.g. a longer monitor) and commits: the repository at that commit. */
export async function editStackSettings(repo: UserRepo, stack: WiredStack["stack"], overrides: Record<string, unknown>, message: string): Promise<UserRepo> {
  const wired = repo.stacks.find((s) => s.stack === stack)!;
  await writeStackSettings(repo.dir, repo.s3, repo.target, wired, "select", overrides);
  return { ...repo, sha: commit(repo.dir, [`Pulumi.${stack}.yaml`], message) };
}

/** The user changes files of the repository (path -> new content from the old) and commits. */
export function commitChange(repo: UserRepo, edits: Record<string, (old: string) => string>, message: string): UserRepo {
  for (const [path, edit] of Object.entries(edits)) {
    const file = join(repo.dir, path);
    const before = readFileSync(file, "utf8");
    const after = edit(before);
    if (after === before) throw new Error(`commitChange: the edit leaves ${path} unchanged`);
    writeFileSync(file, after);
  }
  return { ...repo, sha: commit(repo.dir, Object.keys(edits), message) };
}

type Selected = Pick<RunJobOptions, "workflow" | "event">;

/** What every run of the user's repository shares: the repository, its settings, the runner image. */
function runnerBase(repo: UserRepo, logFile: string, ghLog: string): Omit<RunWorkflowOptions, "workflow" | "event" | "runnerRoot"> {
  // The runner's PATH gets the test-only plugin unless the machine has the official one (as a user's runner would).
  const { official } = commandPluginSelection("machine");
  if (!official) buildTestCommandPlugin();
  const pathPrefix = official ? undefined : testPluginDir;
  return {
    repo: repo.dir,
    sha: repo.sha,
    repository: "octo/awareness",
    secrets: repo.secrets,
    environments: repo.environments,
    vars: repo.vars,
    // The runner image: its own tools (gh faked), Go as ubuntu-24.04 has it on PATH (the unit
    // tests build actionlint with it), the plugins GitHub would download on first use.
    basePath: [join(repoRoot, "test/runner/runner-image"), ...(pathPrefix ? [pathPrefix] : []), goDir(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"].join(":"),
    // npm prefers its cache (GitHub's runner has none without a cache step: same packages, slower).
    // Docker is the sandbox daemon; its client settings (logins) are the run's own.
    baseEnv: {
      HOME: process.env.HOME ?? "/root",
      HARNESS_GH_LOG: ghLog,
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      npm_config_prefer_offline: "true",
      DOCKER_HOST: repo.target.dockerHost!,
      DOCKER_CONFIG: join(ghLog, "..", "docker-config"),
    },
    standIns: { pulumiCli: join(repoRoot, ".tools/bin/pulumi"), hubImages: { "busybox:1.36.1": repo.target.baseImage! } },
    log: (text) => writeFileSync(logFile, text, { flag: "a" }),
  };
}

/** The folder of this machine's `go` (the runner image's Go). */
function goDir(): string {
  const go = execFileSync("bash", ["-c", "command -v go"], { encoding: "utf8" }).trim();
  if (!go) throw new Error("no `go` on PATH: the runner image needs Go (ubuntu-24.04 has it)");
  return dirname(realpathSync(go));
}

/**
 * A runner's folder (its workspace, tool cache, home: 1-2 GB with node_modules) and the `gh`
 * calls it records; `dispose` removes the folder once the job's record is read (a run of the
 * suite would otherwise leave tens of GB behind).
 */
function ghRecorder(): { runnerRoot: string; ghLog: string; calls: () => string[][]; dispose: () => void } {
  const runnerRoot = mkdtempSync(join(tmpdir(), "runner-"));
  const ghLog = join(runnerRoot, "gh-calls.jsonl");
  writeFileSync(ghLog, "");
  return {
    runnerRoot,
    ghLog,
    calls: () => readFileSync(ghLog, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as string[]),
    dispose: () => rmSync(runnerRoot, { recursive: true, force: true }),
  };
}

/** Runs a job of the user's repository on a fresh runner, its steps' output kept in `logFile`. */
export async function runUserJob(repo: UserRepo, logFile: string, options: Partial<RunJobOptions> & Pick<RunJobOptions, "job"> & Selected): Promise<JobRecord & { ghCalls: string[][] }> {
  const gh = ghRecorder();
  try {
    const record = await runJob({ ...runnerBase(repo, logFile, gh.ghLog), runnerRoot: gh.runnerRoot, ...options });
    return { ...record, ghCalls: gh.calls() };
  } finally {
    gh.dispose();
  }
}

/** Runs a whole workflow of the user's repository for an event (every job on a fresh runner). */
export async function runUserWorkflow(repo: UserRepo, logFile: string, options: Partial<RunWorkflowOptions> & Selected): Promise<WorkflowRunRecord & { ghCalls: string[][] }> {
  const gh = ghRecorder();
  try {
    const record = await runWorkflow({ ...runnerBase(repo, logFile, gh.ghLog), runnerRoot: gh.runnerRoot, ...options });
    return { ...record, ghCalls: gh.calls() };
  } finally {
    gh.dispose();
  }
}
