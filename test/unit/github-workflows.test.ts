// The committed workflows: identical to their rendering, and shaped as the delivery process
// needs (triggers, needs, environments, concurrency, permissions, pins), asserted on the
// parsed YAML. Two run scripts are executed for real with a stand-in driver.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
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
const workflowFiles = ["ci-cd.yml", "deploy.yml", "rollback.yml", "deployment-status.yml", "pause-decision.yml"];
const all = () => workflowFiles.map((file) => ({ file, wf: load(file) }));
const stepsOf = (wf: ParsedWorkflow) => Object.values(wf.jobs).flatMap((job) => job.steps ?? []);

describe("committed workflows equal their rendering", () => {
  it("renders exactly the five workflow files", () => {
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
    expect(driverJobs.length).toBe(5); // preview, deploy, rollback, status, pause decision
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

  it("tests first; pull requests get a preview check; main builds, then deploys", () => {
    expect(wf.jobs.test!.needs).toBeUndefined();
    expect(wf.jobs.test!.steps!.map((s) => s.run).filter(Boolean)).toEqual(["npm ci", "npm run typecheck", "npm run test:unit"]);
    expect(wf.jobs.preview!.needs).toEqual(["test"]);
    expect(wf.jobs.preview!.if).toContain("github.event_name == 'pull_request'");
    expect(wf.jobs.preview!.steps!.at(-1)!.run).toContain("automation/cli.ts preview --stack production");
    expect(wf.jobs.build!.needs).toEqual(["test"]);
    expect(wf.jobs.build!.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(wf.jobs.deploy!.needs).toEqual(["build"]);
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
    const deploy = wf.jobs.deploy!;
    expect(deploy.uses).toBe("./.github/workflows/deploy.yml");
    expect(deploy.with).toMatchObject({ environment: "production", images: "${{ needs.build.outputs.images }}", release: "${{ github.sha }}" });
    expect(deploy.permissions).toEqual({ contents: "read", actions: "read", issues: "write" });
  });

  it("never cancels a run on main", () => {
    expect(JSON.stringify((wf as AnyMap).concurrency)).toContain("github.event_name == 'pull_request'");
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

  it("runs the driver's deploy, writes the summary always, and opens an issue when the driver could not", () => {
    const run = deploy.steps!.find((s) => s.id === "deploy")!;
    expect(run.run).toContain("npx tsx automation/cli.ts deploy --stack");
    expect(run.env!.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    const summary = deploy.steps!.find((s) => s.name === "Outcome in the job summary")!;
    expect(summary.if).toBe("${{ always() }}");
    expect(summary.run).toContain("GITHUB_STEP_SUMMARY");
    const issue = deploy.steps!.at(-1)!;
    expect(issue.if).toContain("failure()");
    expect(issue.run).toContain("gh issue create");
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

  it("runs the driver's rollback in the environment, under the deploy lock", () => {
    const job = wf.jobs.rollback!;
    expect(job.needs).toEqual(["confirm"]);
    expect(job.environment).toEqual({ name: "${{ inputs.environment }}" });
    expect(job.concurrency).toEqual({ group: "deploy-${{ inputs.environment }}", "cancel-in-progress": false });
    expect(job.steps!.at(-1)!.run).toContain('automation/cli.ts rollback --stack "${TARGET}" --reason "${REASON}" --confirm "${CONFIRM}"');
    expect(wf.jobs.confirm!.permissions).toEqual({});
  });
});

describe("deployment-status", () => {
  const wf = load("deployment-status.yml");

  it("runs after deploy and rollback runs, on a schedule and by hand", () => {
    expect(wf.on.workflow_run).toEqual({ workflows: ["Deploy", "Rollback"], types: ["completed"] });
    expect(wf.on.schedule[0].cron).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
    expect(wf.on.workflow_dispatch).toBeDefined();
    expect(load("deploy.yml").name).toBe("Deploy");
    expect(load("rollback.yml").name).toBe("Rollback");
  });

  it("reads the stack with contents: read only and writes the job summary", () => {
    const job = wf.jobs.status!;
    expect(job.permissions).toEqual({ contents: "read" });
    expect(job.environment).toEqual({ name: "preview" });
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

  it("rollback refuses unless confirm is exactly ROLLBACK and a reason is given", () => {
    const confirm = load("rollback.yml").jobs.confirm!.steps![0]!.run!;
    expect(runScript(confirm, { CONFIRM: "rollback", REASON: "bad release" }).status).toBe(2);
    expect(runScript(confirm, { CONFIRM: "ROLLBACK ", REASON: "bad release" }).status).toBe(2);
    expect(runScript(confirm, { CONFIRM: "ROLLBACK", REASON: "  " }).status).toBe(2);
    expect(runScript(confirm, { CONFIRM: "ROLLBACK", REASON: "bad release" }).status).toBe(0);
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
