// The committed workflows: identical to their rendering, and shaped as the delivery process
// needs (triggers, needs, environments, concurrency, permissions, pins), asserted on the
// parsed YAML. Two run scripts are executed for real with a stand-in driver.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { restoreConfirmWord } from "../../automation/commands/restore.js";
import { pauseTimeoutMaxMinutes } from "../../components/config/schema.js";
import { pinnedActions } from "../../components/github/pins.js";
import { NODE_VERSION, PULUMI_CLI_VERSION } from "../../components/github/workflows/steps.js";
import { REGENERATE_COMMAND, WORKFLOWS_DIR, renderAllWorkflows } from "../../components/github/workflows/render.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const workflowPath = (file: string) => join(repoRoot, WORKFLOWS_DIR, file);
const committedText = (file: string) => readFileSync(workflowPath(file), "utf8");

// Loose shapes for reading the parsed YAML.
type AnyMap = Record<string, any>;
interface ParsedStep {
  name: string;
  id?: string;
  if?: string;
  uses?: string;
  with?: AnyMap;
  env?: Record<string, string>;
  run?: string;
}
interface ParsedJob {
  name: string;
  needs?: string[];
  if?: string;
  permissions: Record<string, string>;
  environment?: { name: string };
  concurrency?: { group: string; "cancel-in-progress": boolean | string };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps?: ParsedStep[];
  uses?: string;
  with?: AnyMap;
}
interface ParsedWorkflow {
  name: string;
  on: AnyMap;
  permissions: AnyMap;
  env?: AnyMap;
  jobs: Record<string, ParsedJob>;
}

const load = (file: string) => parse(committedText(file)) as ParsedWorkflow;
const workflowFiles = ["ci-cd.yml", "deploy.yml", "rollback.yml", "deployment-status.yml", "pause-decision.yml", "unlock.yml", "restore.yml"];
const all = () => workflowFiles.map((file) => ({ file, wf: load(file) }));
const stepsOf = (wf: ParsedWorkflow) => Object.values(wf.jobs).flatMap((job) => job.steps ?? []);
/** The checkout, Node, Pulumi CLI and npm ci steps every driver job starts with (their order). */
const driverSetupOf = (wf: ParsedWorkflow) => {
  const steps = stepsOf(wf);
  const at = (match: (s: ParsedStep) => boolean) => steps.findIndex(match);
  const order = [
    at((s) => s.uses?.startsWith("actions/checkout@") ?? false),
    at((s) => s.uses?.startsWith("actions/setup-node@") ?? false),
    at((s) => s.uses?.startsWith("pulumi/actions@") ?? false),
    at((s) => s.run === "npm ci"),
    at((s) => s.run?.includes("automation/cli.ts") ?? false),
  ];
  expect(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!)), `${wf.name}: ${order}`).toBe(true);
  return order.map((i) => steps[i]);
};

describe("committed workflows equal their rendering", () => {
  it("renders exactly the seven workflow files", () => {
    expect([...renderAllWorkflows().keys()].sort()).toEqual(workflowFiles.map((f) => `${WORKFLOWS_DIR}/${f}`).sort());
  });

  for (const [path, rendered] of renderAllWorkflows()) {
    it(`${path} is up to date (else: ${REGENERATE_COMMAND})`, () => {
      expect(existsSync(join(repoRoot, path)), `${path} is missing`).toBe(true);
      expect(readFileSync(join(repoRoot, path), "utf8")).toBe(rendered);
    });
  }
});

describe("security rules hold in every workflow", () => {
  it("top-level permissions are empty and every job declares its own", () => {
    for (const { file, wf } of all()) {
      expect(wf.permissions, file).toEqual({});
      for (const [id, job] of Object.entries(wf.jobs)) expect(job.permissions, `${file} ${id}`).toBeTypeOf("object");
    }
  });

  it("every action is pinned to a known full commit SHA with its version beside it", () => {
    const known = new Map<string, string>(Object.values(pinnedActions).map((p) => [`${p.action}@${p.sha}`, p.version]));
    let seen = 0;
    for (const { file, wf } of all()) {
      const text = committedText(file);
      for (const step of stepsOf(wf).filter((s) => s.uses)) {
        seen += 1;
        expect(step.uses, `${file}: ${step.name}`).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        const version = known.get(step.uses!);
        expect(version, `${file}: ${step.uses} is not in pins.ts`).toBeDefined();
        expect(text).toContain(`uses: ${step.uses} # ${version}`);
      }
    }
    expect(seen).toBeGreaterThan(10);
  });

  it("no expression inside run: (values reach the shell through env:)", () => {
    for (const { file, wf } of all()) {
      for (const step of stepsOf(wf).filter((s) => s.run)) expect(step.run, `${file}: ${step.name}`).not.toContain("${{");
    }
  });

  it("every checkout keeps the token out of .git/config", () => {
    const checkouts = all().flatMap(({ wf }) => stepsOf(wf).filter((s) => s.uses?.startsWith("actions/checkout@")));
    expect(checkouts.length).toBeGreaterThan(4);
    for (const step of checkouts) expect(step.with?.["persist-credentials"]).toBe(false);
  });

  it("no pull_request_target trigger anywhere", () => {
    for (const { wf } of all()) expect(Object.keys(wf.on)).not.toContain("pull_request_target");
  });

  it("secrets appear only in step env of steps that use them, never at workflow or job level", () => {
    for (const { file, wf } of all()) {
      expect(JSON.stringify(wf.env ?? {})).not.toContain("secrets.");
      for (const [id, job] of Object.entries(wf.jobs)) {
        expect(JSON.stringify(job.env ?? {}), `${file} ${id}`).not.toContain("secrets.");
        for (const step of job.steps ?? []) {
          const mentions = JSON.stringify({ env: step.env, with: step.with }).includes("secrets.");
          const usesThem = step.run?.includes("automation/cli.ts") || step.uses?.startsWith("docker/login-action@");
          if (mentions) expect(usesThem, `${file} ${id}: ${step.name}`).toBe(true);
        }
      }
    }
  });

  it("jobs install the project's Node version and the pinned Pulumi CLI", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
    expect(pkg.engines.node).toContain(`>=${NODE_VERSION}`);
    expect(PULUMI_CLI_VERSION).toBe(pkg.pulumiToolchain.cli);
    const driverJobs = all().flatMap(({ wf }) =>
      Object.values(wf.jobs).filter((job) => (job.steps ?? []).some((s) => s.run?.includes("automation/cli.ts"))),
    );
    expect(driverJobs.length).toBe(7); // preview, deploy, rollback, status, pause decision, unlock, restore
    for (const job of driverJobs) {
      const steps = job.steps!;
      const node = steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
      const pulumi = steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
      expect(node?.with?.["node-version"]).toBe(NODE_VERSION);
      expect(pulumi?.with?.["pulumi-version"]).toBe(PULUMI_CLI_VERSION);
      expect(steps.findIndex((s) => s.run === "npm ci")).toBeLessThan(steps.findIndex((s) => s.run?.includes("automation/cli.ts") ?? false));
    }
  });
});

describe("ci-cd", () => {
  const wf = load("ci-cd.yml");

  it("runs on pushes to main and on pull requests", () => {
    expect(wf.on).toEqual({ push: { branches: ["main"] }, pull_request: { branches: ["main"] } });
  });

  it("tests first; pull requests get a preview check; main builds, then deploys to staging, then production", () => {
    expect(wf.jobs.test!.needs).toBeUndefined();
    expect(wf.jobs.test!.steps!.map((s) => s.run).filter(Boolean)).toEqual(["npm ci", "npm run typecheck", "npm run test:unit"]);
    expect(wf.jobs.preview!.needs).toEqual(["test"]);
    expect(wf.jobs.preview!.if).toContain("github.event_name == 'pull_request'");
    expect(wf.jobs.preview!.steps!.at(-1)!.run).toContain("automation/cli.ts preview --stack production");
    expect(wf.jobs.build!.needs).toEqual(["test"]);
    expect(wf.jobs.build!.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(wf.jobs["deploy-staging"]!.needs).toEqual(["build"]);
    // Production only after staging succeeded (a job whose needs failed is skipped).
    expect(wf.jobs["deploy-production"]!.needs).toEqual(["build", "deploy-staging"]);
    expect(Object.keys(wf.jobs)).toEqual(["test", "preview", "build", "deploy-staging", "deploy-production"]);
  });

  it("pushes images tagged with the commit sha and hands their digests to deploy.yml", () => {
    const build = wf.jobs.build!;
    expect(build.permissions).toEqual({ contents: "read", packages: "write" });
    const pushes = build.steps!.filter((s) => s.uses?.startsWith("docker/build-push-action@"));
    expect(pushes.length).toBeGreaterThan(0);
    for (const push of pushes) {
      expect(push.with!.push).toBe(true);
      expect(push.with!.tags).toMatch(/:\$\{\{ github\.sha \}\}$/);
    }
    expect(build.outputs!.images).toBe("${{ steps.digests.outputs.images }}");
    for (const environment of ["staging", "production"]) {
      const deploy = wf.jobs[`deploy-${environment}`]!;
      expect(deploy.name).toBe(`Deploy to ${environment}`);
      expect(deploy.uses).toBe("./.github/workflows/deploy.yml");
      // The same digests to both: what passed staging is what production gets.
      expect(deploy.with).toEqual({ environment, images: "${{ needs.build.outputs.images }}", release: "${{ github.sha }}", "require-approval": false });
      expect(deploy.permissions).toEqual({ contents: "read", actions: "read", issues: "write" });
    }
  });

  it("previews of branches run in the preview environment (production's reviewers approve first)", () => {
    expect(wf.jobs.preview!.environment).toEqual({ name: "preview" });
  });

  it("concurrency for pull requests only: a push to main has a group of its own, never cancelled, never queued", () => {
    expect((wf as AnyMap).concurrency).toEqual({
      group: "ci-cd-${{ github.event_name == 'pull_request' && github.ref || github.run_id }}",
      "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
    });
    // Evaluated as GitHub does (&& and || yield an operand): one group per pull request, one per run on main.
    const group = (event: string, ref: string, runId: string) => (event === "pull_request" && ref) || runId;
    expect(group("pull_request", "refs/pull/7/merge", "111")).toBe("refs/pull/7/merge");
    expect(group("push", "refs/heads/main", "111")).not.toBe(group("push", "refs/heads/main", "112"));
  });
});

describe("deploy", () => {
  const wf = load("deploy.yml");
  const deploy = wf.jobs.deploy!;

  it("starts only by hand or from ci-cd, never on push", () => {
    expect(Object.keys(wf.on).sort()).toEqual(["workflow_call", "workflow_dispatch"]);
    const inputs = wf.on.workflow_dispatch.inputs;
    expect(Object.keys(inputs)).toEqual(["environment", "release", "images", "require-approval", "on_failure", "pause_timeout_minutes"]);
    expect(inputs.environment.options).toEqual(["production", "staging"]);
    expect(inputs["require-approval"].type).toBe("boolean");
    expect(Object.keys(wf.on.workflow_call.inputs)).toEqual(Object.keys(inputs));
  });

  it("verifies CI, then (optionally) waits for approval, then deploys", () => {
    expect(wf.jobs["verify-ci"]!.permissions).toEqual({ actions: "read" });
    expect(wf.jobs["verify-ci"]!.steps![0]!.run).toContain("actions/workflows/ci-cd.yml/runs?head_sha=");
    expect(wf.jobs["verify-ci"]!.steps![0]!.run).toContain('.name == "Install and test" or .name == "Build and push images"');
    expect(wf.jobs.approval!.environment).toEqual({ name: "approval" });
    expect(wf.jobs.approval!.if).toBe("inputs.require-approval");
    expect(deploy.needs).toEqual(["verify-ci", "approval"]);
    expect(deploy.if).toContain("needs.verify-ci.result == 'success'");
  });

  it("runs in the chosen environment, one at a time, never cancelling a deploy in progress", () => {
    expect(deploy.environment).toEqual({ name: "${{ inputs.environment }}" });
    expect(deploy.concurrency).toEqual({ group: "deploy-${{ inputs.environment }}", "cancel-in-progress": false });
    expect(deploy.permissions).toEqual({ contents: "read", actions: "read", issues: "write" });
  });

  it("runs the driver's deploy, writes the summary always, opens an issue when the driver did not, cleans up on cancel", () => {
    const run = deploy.steps!.find((s) => s.id === "deploy")!;
    expect(run.run).toContain("npx tsx automation/cli.ts deploy --stack");
    expect(run.env!.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    const summary = deploy.steps!.find((s) => s.name === "Outcome in the job summary")!;
    expect(summary.if).toBe("${{ always() }}");
    expect(summary.run).toContain("GITHUB_STEP_SUMMARY");
    const issue = deploy.steps!.at(-2)!;
    expect(issue.if).toBe("${{ failure() && (steps.deploy.outputs.reported != 'true' || steps.deploy.outputs.exit-code == '2') }}");
    expect(issue.run).toContain("gh issue create");
    const cleanup = deploy.steps!.at(-1)!;
    expect(cleanup.if).toBe("${{ cancelled() }}");
    expect(cleanup.run).toContain('automation/cli.ts unlock --stack "${TARGET}" --force --run "${GITHUB_RUN_ID}" --engine');
    expect(cleanup.env!.TARGET).toBe("${{ inputs.environment }}");
  });

  it("logs nothing in to a registry on the runner: the host logs in before its images precheck (the driver's registryAuth)", () => {
    expect(deploy.steps!.some((s) => s.uses?.startsWith("docker/login-action@"))).toBe(false);
  });
});

describe("rollback", () => {
  const wf = load("rollback.yml");

  it("is started by hand only, with a reason and a confirmation", () => {
    expect(Object.keys(wf.on)).toEqual(["workflow_dispatch"]);
    const inputs = wf.on.workflow_dispatch.inputs;
    expect(inputs.reason.required).toBe(true);
    expect(inputs.confirm.required).toBe(true);
  });

  it("runs the driver's rollback in the environment, outside the deploys' group, waiting for the host lock", () => {
    const job = wf.jobs.rollback!;
    expect(job.needs).toEqual(["confirm"]);
    expect(job.environment).toEqual({ name: "${{ inputs.environment }}" });
    // GitHub keeps one pending run per group and cancels the older: in the deploys' group a
    // deploy queued later would cancel a waiting rollback.
    expect(job.concurrency).toEqual({ group: "rollback-${{ inputs.environment }}", "cancel-in-progress": false });
    expect(job.concurrency!.group).not.toBe(load("deploy.yml").jobs.deploy!.concurrency!.group);
    expect(job.steps!.at(-2)!.run).toContain('automation/cli.ts rollback --stack "${TARGET}" --reason "${REASON}" --confirm "${CONFIRM}" --wait-lock');
    expect(job.steps!.at(-1)!.if).toBe("${{ cancelled() }}");
    expect(job.steps!.at(-1)!.run).toContain("automation/cli.ts unlock");
    expect(wf.jobs.confirm!.permissions).toEqual({});
  });
});

describe("deployment-status", () => {
  const wf = load("deployment-status.yml");

  it("runs after CI/CD, deploy, rollback and restore runs, on a schedule and by hand", () => {
    expect(wf.on.workflow_run).toEqual({ workflows: ["CI/CD", "Deploy", "Rollback", "Restore"], types: ["completed"] });
    expect(load("ci-cd.yml").name).toBe("CI/CD");
    expect(load("restore.yml").name).toBe("Restore");
    expect(wf.on.schedule[0].cron).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
    expect(wf.on.workflow_dispatch).toBeDefined();
    expect(load("deploy.yml").name).toBe("Deploy");
    expect(load("rollback.yml").name).toBe("Rollback");
  });

  it("reads each environment's stack in its status twin with contents: read only and writes the job summary", () => {
    const job = wf.jobs.status!;
    expect(job.permissions).toEqual({ contents: "read" });
    expect(job.needs).toEqual(["environments"]);
    expect((job as AnyMap).strategy).toEqual({ matrix: { environment: "${{ fromJSON(needs.environments.outputs.list) }}" }, "fail-fast": false });
    expect(job.environment).toEqual({ name: "${{ matrix.environment }}-status" });
    expect(job.steps!.at(-1)!.env!.TARGET).toBe("${{ matrix.environment }}");
    expect(wf.jobs.environments!.permissions).toEqual({ actions: "read" });
    expect(job.steps!.at(-1)!.run).toContain("automation/cli.ts status --stack");
    expect(job.steps!.at(-1)!.run).toContain("GITHUB_STEP_SUMMARY");
  });
});

describe("pause-decision", () => {
  const wf = load("pause-decision.yml");

  it("is started by hand with an environment, promote or abort, a reason and optionally the release; it never waits for the deploy lock", () => {
    expect(Object.keys(wf.on)).toEqual(["workflow_dispatch"]);
    const inputs = wf.on.workflow_dispatch.inputs;
    expect(inputs.decision).toMatchObject({ required: true, type: "choice", options: ["promote", "abort"] });
    expect(inputs.reason.required).toBe(true);
    expect(inputs.release.required).toBe(false);
    const job = wf.jobs.decide!;
    // The paused deploy holds the deploy lock's concurrency group: joining it would wait forever.
    expect(job.concurrency).toBeUndefined();
    expect(job.permissions).toEqual({ contents: "read" });
    expect(job.environment).toEqual({ name: "${{ inputs.environment }}" });
  });

  it("deploy offers on_failure and pause_timeout_minutes, and its job outlives the longest pause", () => {
    const deploy = load("deploy.yml");
    expect(deploy.on.workflow_dispatch.inputs.on_failure).toMatchObject({ type: "choice", options: ["config", "rollback", "pause"], default: "config" });
    expect(deploy.on.workflow_dispatch.inputs.pause_timeout_minutes).toMatchObject({ type: "string", default: "" });
    expect(deploy.on.workflow_call.inputs.on_failure).toMatchObject({ type: "string", default: "config" });
    expect((deploy.jobs.deploy as unknown as Record<string, number>)["timeout-minutes"]).toBeGreaterThan(pauseTimeoutMaxMinutes + 45);
  });
});

// Run scripts executed by bash with a stand-in `npx` that records its arguments.
describe("run scripts (executed)", () => {
  const work = mkdtempSync(join(tmpdir(), "gh-scripts-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const argsLog = join(work, "npx-args");
  writeFileSync(join(work, "npx"), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "${argsLog}"\nexit "\${FAKE_EXIT:-0}"\n`);
  chmodSync(join(work, "npx"), 0o755);

  const runScript = (script: string, env: Record<string, string>) =>
    spawnSync("bash", ["-c", script], {
      env: { PATH: `${work}:${process.env.PATH}`, GITHUB_OUTPUT: join(work, "out"), GITHUB_STEP_SUMMARY: join(work, "summary"), RUNNER_TEMP: work, ...env },
      encoding: "utf8",
    });

  it("rollback refuses unless confirm is exactly ROLLBACK, a reason is given and `to` is a release id", () => {
    const confirm = load("rollback.yml").jobs.confirm!.steps![0]!.run!;
    const ok = { CONFIRM: "ROLLBACK", REASON: "bad release", TARGET: "production", RELEASE_INPUT: "" };
    expect(runScript(confirm, { ...ok, CONFIRM: "rollback" }).status).toBe(2);
    expect(runScript(confirm, { ...ok, CONFIRM: "ROLLBACK " }).status).toBe(2);
    expect(runScript(confirm, { ...ok, REASON: "  " }).status).toBe(2);
    expect(runScript(confirm, { ...ok, RELEASE_INPUT: "v1; rm -rf /" }).status).toBe(2);
    expect(runScript(confirm, { ...ok, TARGET: "qa" }).status).toBe(2);
    expect(runScript(confirm, ok).status).toBe(0);
    expect(runScript(confirm, { ...ok, RELEASE_INPUT: "2026.11.27-1" }).status).toBe(0);
  });

  it("unlock and restore refuse unless confirm is their word, the environment known and the release a release id", () => {
    const unlockConfirm = load("unlock.yml").jobs.confirm!.steps![0]!.run!;
    expect(runScript(unlockConfirm, { CONFIRM: "UNLOCK", REASON: "run 42 was killed", TARGET: "staging" }).status).toBe(0);
    expect(runScript(unlockConfirm, { CONFIRM: "unlock", REASON: "run 42 was killed", TARGET: "staging" }).status).toBe(2);
    expect(runScript(unlockConfirm, { CONFIRM: "UNLOCK", REASON: "", TARGET: "staging" }).status).toBe(2);
    const restoreConfirm = load("restore.yml").jobs.confirm!.steps![0]!.run!;
    expect(restoreConfirmWord).toBe("RESTORE");
    const ok = { CONFIRM: "RESTORE", TARGET: "production", RELEASE_INPUT: "20261127T070000Z-v1" };
    expect(runScript(restoreConfirm, ok).status).toBe(0);
    expect(runScript(restoreConfirm, { ...ok, RELEASE_INPUT: "" }).status).toBe(0);
    expect(runScript(restoreConfirm, { ...ok, CONFIRM: "ROLLBACK" }).status).toBe(2);
    const marker = join(work, "injected-restore");
    const bad = runScript(restoreConfirm, { ...ok, RELEASE_INPUT: `$(touch ${marker})` });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toContain("'release' must be a release id or backup set name");
    expect(existsSync(marker)).toBe(false);
  });

  it("unlock and restore run the driver with each input as one argument, in the chosen environment with its approval", () => {
    const unlockWf = load("unlock.yml");
    expect(Object.keys(unlockWf.on)).toEqual(["workflow_dispatch"]);
    expect(unlockWf.jobs.unlock!.environment).toEqual({ name: "${{ inputs.environment }}" });
    expect(unlockWf.jobs.unlock!.needs).toEqual(["confirm"]);
    const unlockRun = unlockWf.jobs.unlock!.steps!.at(-1)!.run!;
    expect(runScript(unlockRun, { TARGET: "staging", REASON: "x", ENGINE: "true", GITHUB_ACTOR: "octocat" }).status).toBe(0);
    expect(readFileSync(argsLog, "utf8").trimEnd().split("\n")).toEqual(["tsx", "automation/cli.ts", "unlock", "--stack", "staging", "--force", "--engine"]);
    expect(runScript(unlockRun, { TARGET: "staging", REASON: "x", ENGINE: "false", GITHUB_ACTOR: "octocat" }).status).toBe(0);
    expect(readFileSync(argsLog, "utf8").trimEnd().split("\n")).toEqual(["tsx", "automation/cli.ts", "unlock", "--stack", "staging", "--force"]);

    const restoreWf = load("restore.yml");
    const job = restoreWf.jobs.restore!;
    expect(job.environment).toEqual({ name: "${{ inputs.environment }}" });
    expect(job.concurrency).toEqual({ group: "restore-${{ inputs.environment }}", "cancel-in-progress": false });
    expect(job.steps!.at(-1)!.if).toBe("${{ cancelled() }}");
    const restoreRun = job.steps!.at(-2)!.run!;
    expect(runScript(restoreRun, { TARGET: "production", CONFIRM: "RESTORE", RELEASE_INPUT: "v7", FORCE: "true", VOLUMES: "false" }).status).toBe(0);
    expect(readFileSync(argsLog, "utf8").trimEnd().split("\n")).toEqual([
      "tsx", "automation/cli.ts", "restore", "--stack", "production", "--confirm", "RESTORE", "--release", "v7", "--force",
    ]);
    for (const wf of [unlockWf, restoreWf]) for (const step of driverSetupOf(wf)) expect(step).toBeTruthy();
  });

  it("the clean-up of a cancelled deploy, rollback or restore frees only this run's host lock and the engine lock", () => {
    for (const [file, job] of [["deploy.yml", "deploy"], ["rollback.yml", "rollback"], ["restore.yml", "restore"]] as const) {
      const cleanup = load(file).jobs[job]!.steps!.at(-1)!;
      expect(cleanup.if, file).toBe("${{ cancelled() }}");
      expect(runScript(cleanup.run!, { TARGET: "staging", GITHUB_RUN_ID: "9001" }).status).toBe(0);
      expect(readFileSync(argsLog, "utf8").trimEnd().split("\n")).toEqual([
        "tsx", "automation/cli.ts", "unlock", "--stack", "staging", "--force", "--run", "9001", "--engine",
      ]);
    }
  });

  // A stand-in `gh api PATH --jq EXPR`: the fixture for PATH through the real jq (gh prints strings raw, as jq -r).
  const ghFixtures = join(work, "gh-fixtures");
  mkdirSync(ghFixtures);
  writeFileSync(
    join(work, "gh"),
    `#!/usr/bin/env bash\nfile="${ghFixtures}/$(printf '%s' "$2" | tr -c 'A-Za-z0-9' '_')"\n[ -f "$file" ] || { echo "gh: no fixture for $2" >&2; exit 1; }\njq -r "$4" "$file"\n`,
  );
  chmodSync(join(work, "gh"), 0o755);
  const ghAnswers = (answers: Record<string, unknown>) => {
    rmSync(ghFixtures, { recursive: true, force: true });
    mkdirSync(ghFixtures);
    for (const [path, body] of Object.entries(answers)) writeFileSync(join(ghFixtures, path.replace(/[^A-Za-z0-9]/g, "_")), JSON.stringify(body));
  };
  const sha = "0123456789abcdef0123456789abcdef01234567";
  const runsOf = (...ids: number[]) => ({ [`repos/acme/app/actions/workflows/ci-cd.yml/runs?head_sha=${sha}&per_page=20`]: { total_count: ids.length, workflow_runs: ids.map((id) => ({ id })) } });
  const jobsOf = (run: number, jobs: [string, string | null][]) => ({
    [`repos/acme/app/actions/runs/${run}/jobs?per_page=100`]: { jobs: jobs.map(([name, conclusion]) => ({ name, conclusion })) },
  });

  it("verify-ci passes when a CI/CD run of the commit passed test and build, whatever its own deploy did", () => {
    const gate = load("deploy.yml").jobs["verify-ci"]!.steps![0]!.run!;
    const env = { GITHUB_REPOSITORY: "acme/app", DEPLOY_SHA: sha };
    const brokenBuild = jobsOf(11, [["Install and test", "success"], ["Build and push images", "failure"], ["Deploy to staging / Deploy to staging", "skipped"]]);
    const approvalPending = jobsOf(12, [
      ["Install and test", "success"],
      ["Build and push images", "success"],
      ["Deploy to staging / Deploy to staging", "failure"],
      ["Deploy to production / Deploy to production", null],
    ]);
    ghAnswers({ ...runsOf(11, 12), ...brokenBuild, ...approvalPending });
    const passed = runScript(gate, env);
    expect(passed.status, passed.stderr).toBe(0);
    expect(passed.stdout).toContain(`CI/CD run 12 tested and built ${sha}.`);
    ghAnswers({ ...runsOf(11), ...brokenBuild });
    const refused = runScript(gate, env);
    expect(refused.status).toBe(3);
    expect(refused.stdout).toContain(`::error::No CI/CD run of ${sha} passed Install and test and Build and push images`);
    // Two successes of one job (a re-run) are not test and build.
    ghAnswers({ ...runsOf(13), ...jobsOf(13, [["Install and test", "success"], ["Install and test", "success"]]) });
    expect(runScript(gate, env).status).toBe(3);
    ghAnswers(runsOf());
    expect(runScript(gate, env).status).toBe(3);
  });

  it("the status workflow reports on the environments the triggering run changed, the chosen one, or all on a schedule", () => {
    const pick = load("deployment-status.yml").jobs.environments!.steps![0]!.run!;
    const listFor = (env: Record<string, string>) => {
      rmSync(join(work, "out"), { force: true });
      const result = runScript(pick, { GITHUB_REPOSITORY: "acme/app", RUN_ID: "", INPUT_ENVIRONMENT: "", ...env });
      expect(result.status, result.stderr).toBe(0);
      return JSON.parse(/^list=(.*)$/m.exec(readFileSync(join(work, "out"), "utf8"))![1]!);
    };
    ghAnswers({
      ...jobsOf(21, [["Install and test", "success"], ["Build and push images", "success"], ["Deploy to staging / Deploy to staging", "failure"], ["Deploy to production / Deploy to production", "skipped"]]),
      ...jobsOf(22, [["Deploy to staging / Deploy to staging", "success"], ["Deploy to production / Deploy to production", "success"]]),
      ...jobsOf(23, [["Confirm the rollback", "success"], ["Roll back production", "success"]]),
      ...jobsOf(24, [["Install and test", "success"], ["Preview (production)", "success"], ["Build and push images", "skipped"]]),
      ...jobsOf(25, [["Verify CI/CD succeeded for this commit", "success"], ["Approval", "skipped"], ["Deploy to staging", "cancelled"]]),
    });
    expect(listFor({ EVENT: "workflow_run", RUN_ID: "21" })).toEqual(["staging"]);
    expect(listFor({ EVENT: "workflow_run", RUN_ID: "22" })).toEqual(["production", "staging"]);
    expect(listFor({ EVENT: "workflow_run", RUN_ID: "23" })).toEqual(["production"]);
    expect(listFor({ EVENT: "workflow_run", RUN_ID: "24" })).toEqual([]);
    expect(listFor({ EVENT: "workflow_run", RUN_ID: "25" })).toEqual(["staging"]);
    expect(listFor({ EVENT: "workflow_dispatch", INPUT_ENVIRONMENT: "staging" })).toEqual(["staging"]);
    expect(listFor({ EVENT: "schedule" })).toEqual(["production", "staging"]);
    expect(runScript(pick, { GITHUB_REPOSITORY: "acme/app", EVENT: "workflow_dispatch", RUN_ID: "", INPUT_ENVIRONMENT: "qa" }).status).toBe(2);
    expect(runScript(pick, { GITHUB_REPOSITORY: "acme/app", EVENT: "workflow_run", RUN_ID: "1 2", INPUT_ENVIRONMENT: "" }).status).toBe(2);
    expect(load("deployment-status.yml").jobs.status!.if).toBe("needs.environments.outputs.list != '[]'");
  });

  it("deploy says whether the driver reported (then it opened any failure issue itself), with its exit code", () => {
    const script = load("deploy.yml").jobs.deploy!.steps!.find((s) => s.id === "deploy")!.run!;
    const env = { TARGET: "production", RELEASE_INPUT: "v9", IMAGES_INPUT: "", GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567" };
    rmSync(join(work, "out"), { force: true });
    rmSync(join(work, "deploy-report"), { recursive: true, force: true });
    expect(runScript(script, { ...env, FAKE_EXIT: "1" }).status).toBe(1);
    expect(readFileSync(join(work, "out"), "utf8")).toBe("exit-code=1\n");
    rmSync(join(work, "out"));
    mkdirSync(join(work, "deploy-report"));
    writeFileSync(join(work, "deploy-report", "2026-11-28T00-00-00Z-deploy.json"), "{}");
    expect(runScript(script, { ...env, FAKE_EXIT: "2" }).status).toBe(2);
    expect(readFileSync(join(work, "out"), "utf8")).toBe("exit-code=2\nreported=true\n");
  });

  it("deploy passes inputs as separate arguments, never as shell code, and reports the driver's exit code", () => {
    const script = load("deploy.yml").jobs.deploy!.steps!.find((s) => s.id === "deploy")!.run!;
    const marker = join(work, "injected");
    const backend = `ghcr.io/acme/awareness/backend@sha256:${"a".repeat(64)}`;
    const result = runScript(script, {
      TARGET: "production",
      RELEASE_INPUT: "",
      IMAGES_INPUT: `backend=${backend} $(touch ${marker})`,
      GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
      FAKE_EXIT: "4",
    });
    expect(result.status).toBe(4);
    expect(existsSync(marker)).toBe(false);
    const args = readFileSync(argsLog, "utf8").trimEnd().split("\n");
    expect(args.slice(0, 9)).toEqual([
      "tsx", "automation/cli.ts", "deploy", "--stack", "production",
      "--release", "0123456789abcdef0123456789abcdef01234567", "--git-sha", "0123456789abcdef0123456789abcdef01234567",
    ]);
    expect(args).toContain("--skip-ci-check");
    expect(args.slice(-6)).toEqual(["--image", `backend=${backend}`, "--image", "$(touch", "--image", `${marker})`]);
    expect(readFileSync(join(work, "out"), "utf8")).toContain("exit-code=4");
  });

  it("deploy passes on_failure and pause_timeout_minutes (as seconds) to the driver, and refuses a timeout that is not 1 to 300 minutes", () => {
    const script = load("deploy.yml").jobs.deploy!.steps!.find((s) => s.id === "deploy")!.run!;
    const env = { TARGET: "production", RELEASE_INPUT: "v9", IMAGES_INPUT: "", GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567" };
    expect(runScript(script, { ...env, ON_FAILURE: "pause", PAUSE_MINUTES: "45" }).status).toBe(0);
    expect(readFileSync(argsLog, "utf8").trimEnd().split("\n").slice(-4)).toEqual(["--on-failure", "pause", "--pause-timeout", "2700"]);
    expect(runScript(script, { ...env, ON_FAILURE: "config", PAUSE_MINUTES: "" }).status).toBe(0);
    expect(readFileSync(argsLog, "utf8")).not.toContain("--on-failure");
    const marker = join(work, "injected-pause");
    for (const bad of ["0", "301", "a[$(touch " + marker + ")]", "1+1"]) {
      rmSync(argsLog, { force: true });
      const r = runScript(script, { ...env, ON_FAILURE: "pause", PAUSE_MINUTES: bad });
      expect(r.status, bad).toBe(2);
      expect(r.stdout).toContain("pause_timeout_minutes must be a whole number from 1 to 300");
      expect(existsSync(argsLog)).toBe(false);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it("pause-decision runs the driver's promote or abort with the reason as one argument, and refuses another decision", () => {
    const script = load("pause-decision.yml").jobs.decide!.steps!.at(-1)!.run!;
    const env = { TARGET: "staging", REASON: "users fine; $(id)", RELEASE_INPUT: "v9" };
    expect(runScript(script, { ...env, DECISION: "promote" }).status).toBe(0);
    expect(readFileSync(argsLog, "utf8").trimEnd().split("\n")).toEqual([
      "tsx", "automation/cli.ts", "promote", "--stack", "staging", "--reason", "users fine; $(id)", "--release", "v9",
    ]);
    expect(runScript(script, { ...env, DECISION: "abort", RELEASE_INPUT: "" }).status).toBe(0);
    expect(readFileSync(argsLog, "utf8").trimEnd().split("\n").slice(2)).toEqual(["abort", "--stack", "staging", "--reason", "users fine; $(id)"]);
    expect(runScript(script, { ...env, DECISION: "deploy" }).status).toBe(2);
  });
});
