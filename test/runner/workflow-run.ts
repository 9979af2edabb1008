// Runs a whole workflow for one event as GitHub does: its jobs in `needs` order (the jobs whose
// needs are all done run at the same time), each job on a fresh runner, a job's `if:` against
// the results of the jobs it needs, `needs.<id>.outputs`, and jobs that call a reusable workflow
// in this repository (`uses: ./.github/workflows/x.yml`): its jobs run with the caller's event
// and github context, the `with:` values as inputs, and only the secrets the caller passes
// (`secrets: inherit` or a mapping; GITHUB_TOKEN always; environment secrets through the called
// job's own `environment:`).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { ReusableWorkflowJob, WorkflowJob } from "@actions/workflow-parser/model/workflow-template";
import { githubContext } from "./contexts.js";
import { isTrue, tokenMap, type ExpressionScope } from "./expressions.js";
import { needsStatus, runJob } from "./job.js";
import type { JobRecord, RunJobOptions } from "./types.js";
import { loadWorkflow } from "./workflow.js";

export type RunWorkflowOptions = Omit<RunJobOptions, "job" | "needs" | "matrix">;

export type JobResult = JobRecord["result"];

export interface WorkflowRunRecord {
  workflowName: string;
  result: JobResult;
  /** Each job by id: a job's record, or a called workflow's run. */
  jobs: Record<string, JobRecord | WorkflowRunRecord>;
}

type Needs = NonNullable<RunJobOptions["needs"]>;

export async function runWorkflow(options: RunWorkflowOptions): Promise<WorkflowRunRecord> {
  const content = execFileSync("git", ["-C", options.repo, "show", `${options.sha}:${options.workflow}`], { encoding: "utf8" });
  const { workflowName, template } = await loadWorkflow(options.workflow, content);
  const record: WorkflowRunRecord = { workflowName, result: "success", jobs: {} };
  const done: Needs = {};
  let pending = [...template.jobs];
  while (pending.length > 0) {
    const ready = pending.filter((job) => (job.needs ?? []).every((need) => need.value in done));
    if (ready.length === 0) throw new Error(`${options.workflow}: jobs ${pending.map((j) => j.id.value).join(", ")} wait on each other`);
    await Promise.all(
      ready.map(async (job) => {
        const id = job.id.value;
        const needs = Object.fromEntries((job.needs ?? []).map((need) => [need.value, done[need.value]!]));
        const run = job.type === "job" ? await runPlainJob(options, id, needs) : await callWorkflow(options, workflowName, job, needs);
        record.jobs[id] = run;
        done[id] = { result: run.result, outputs: "outputs" in run ? run.outputs : {} };
      }),
    );
    pending = pending.filter((job) => !ready.includes(job));
  }
  record.result = overall(Object.values(record.jobs).map((j) => j.result));
  return record;
}

function runPlainJob(options: RunWorkflowOptions, id: string, needs: Needs): Promise<JobRecord> {
  return runJob({ ...options, job: id, needs, runnerRoot: join(options.runnerRoot, id) });
}

async function callWorkflow(options: RunWorkflowOptions, callerName: string, job: ReusableWorkflowJob, needs: Needs): Promise<WorkflowRunRecord> {
  const id = job.id.value;
  const scope = callerScope(options, callerName, needs);
  if (!isTrue(job.if.expression, scope)) return { workflowName: job.ref.value, result: "skipped", jobs: {} };
  const ref = job.ref.value;
  if (!ref.startsWith("./")) throw new Error(`job '${id}': only reusable workflows of this repository (./…) can be called here, not '${ref}'`);
  const inputs = tokenMap(job["input-values"], scope);
  const passed = job["inherit-secrets"] ? (options.secrets ?? {}) : tokenMap(job["secret-values"], scope);
  return runWorkflow({
    ...options,
    workflow: ref.slice(2),
    inputs,
    secrets: { ...passed, ...(options.secrets?.GITHUB_TOKEN ? { GITHUB_TOKEN: options.secrets.GITHUB_TOKEN } : {}) },
    callerWorkflowName: options.callerWorkflowName ?? callerName,
    runnerRoot: join(options.runnerRoot, id),
  });
}

/** The contexts a caller job's `if:` and `with:` see (no steps, no runner). */
function callerScope(options: RunWorkflowOptions, workflowName: string, needs: Needs): ExpressionScope {
  const dirs = { workspace: "", temp: "", toolCache: "", eventPath: "" };
  return {
    contexts: {
      github: githubContext(workflowName, { ...options, job: "" }, dirs),
      inputs: options.inputs ?? {},
      secrets: options.secrets ?? {},
      vars: options.vars ?? {},
      needs,
      env: {},
    },
    status: needsStatus(needs),
  };
}

/** A run's (or a called workflow's) result from its jobs': skipped jobs do not fail it. */
function overall(results: JobResult[]): JobResult {
  if (results.includes("cancelled")) return "cancelled";
  if (results.includes("failure")) return "failure";
  return "success";
}

/** Every job run, called workflows' jobs as `<caller>/<job>`, in the order they are listed. */
export function flattenJobs(run: WorkflowRunRecord, prefix = ""): Record<string, JobRecord | { result: JobResult }> {
  const out: Record<string, JobRecord | { result: JobResult }> = {};
  for (const [id, job] of Object.entries(run.jobs)) {
    if ("workflowName" in job) {
      out[`${prefix}${id}`] = { result: job.result };
      Object.assign(out, flattenJobs(job, `${prefix}${id}/`));
    } else out[`${prefix}${id}`] = job;
  }
  return out;
}
