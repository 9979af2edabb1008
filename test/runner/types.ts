// What a job run is given and what it reports.
export interface RunJobOptions {
  /** The repository to clone (a path or URL) and the commit the run is for (github.sha). */
  repo: string;
  sha: string;
  /** The workflow file inside the repository, e.g. `.github/workflows/rollback.yml`. */
  workflow: string;
  job: string;
  /** owner/name as GitHub names the repository (github.repository). */
  repository: string;
  event: { name: string; ref: string; payload?: Record<string, unknown> };
  inputs?: Record<string, string | boolean>;
  /** Secrets the job sees whatever its environment (repository secrets, or what a caller passed). */
  secrets?: Record<string, string>;
  /**
   * The repository's environments: a job with `environment:` gets that environment's secrets
   * over the others; one with reviewers runs only if `approvals` approves it (GitHub pauses the
   * job for a reviewer; a rejection fails it). An environment not listed has no secrets and no
   * reviewers, as GitHub creates it on first use.
   */
  environments?: Record<string, { secrets?: Record<string, string>; reviewers?: boolean }>;
  /** The reviewers' answer per environment (true: approved). */
  approvals?: Record<string, boolean>;
  /** github.workflow of a called (reusable) workflow's jobs: the caller's name, as on GitHub. */
  callerWorkflowName?: string;
  vars?: Record<string, string>;
  /** Results of the jobs this one needs: { id: { result, outputs } }. */
  needs?: Record<string, { result: string; outputs?: Record<string, string> }>;
  /**
   * One combination of the job's `strategy.matrix` (GitHub runs each combination as a job of its
   * own; the caller picks which, e.g. from the output that feeds the matrix).
   */
  matrix?: Record<string, string>;
  actor?: string;
  runId?: number;
  /** Where the runner's own folders go (work, temp, tool cache); a fresh folder per run. */
  runnerRoot: string;
  /** PATH of the runner image before any step adds to it. */
  basePath?: string;
  /** Environment of the runner image (beyond PATH and the GITHUB_/RUNNER_ variables). */
  baseEnv?: Record<string, string>;
  /** Settings the stand-ins of `uses:` actions need (see test/runner/actions/). */
  standIns?: StandInSettings;
  /** Aborting it cancels the job as GitHub does. */
  signal?: AbortSignal;
  cancelDelays?: { sigtermAfterMs: number; sigkillAfterMs: number };
  log?: (line: string) => void;
}

export interface StandInSettings {
  /** The Pulumi CLI pulumi/actions "downloads": a locally built `pulumi` binary. */
  pulumiCli?: string;
  /** Registry host that stands in for a registry named in a workflow (ghcr.io → the sandbox registry). */
  registries?: Record<string, string>;
  /**
   * Docker Hub, standing in: a Hub name a build's FROM uses -> a local image to tag as it first
   * (the sandbox daemon has no internet; e.g. busybox:1.36.1 -> the sandbox's imported base).
   */
  hubImages?: Record<string, string>;
}

export type StepOutcome = "success" | "failure" | "cancelled" | "skipped";

export interface StepRecord {
  id: string;
  name: string;
  outcome: StepOutcome;
  conclusion: StepOutcome;
  outputs: Record<string, string>;
  exitCode?: number | null;
  /** Signals the cancellation sequence sent to the step, in order. */
  signals?: string[];
  error?: string;
  log: string;
}

export interface JobRecord {
  result: "success" | "failure" | "cancelled" | "skipped";
  /** The environment the job ran in (`environment:`), when it has one. */
  environment?: string;
  /** Why the job did not run its steps (e.g. a rejected environment approval). */
  error?: string;
  steps: StepRecord[];
  outputs: Record<string, string>;
  summary: string;
  workspace: string;
}
