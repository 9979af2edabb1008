// Loads a workflow file with GitHub's own parser (@actions/workflow-parser) and hands out one job.
// The converted model (0.3.61) keeps a step's id, name, if (wrapped in success() as GitHub does),
// env, run, uses and continue-on-error, but drops `with`, `shell`, `working-directory` and
// `timeout-minutes`, and a job's `timeout-minutes` and `defaults`: those are read from the same
// parser's schema-validated token tree, never from a YAML parse of our own.
import { readFileSync } from "node:fs";
import {
  convertWorkflowTemplate,
  isMapping,
  isSequence,
  NoOperationTraceWriter,
  parseWorkflow,
  type WorkflowTemplate,
} from "@actions/workflow-parser";
import type { Job } from "@actions/workflow-parser/model/workflow-template";
import type { MappingToken } from "@actions/workflow-parser/templates/tokens/mapping-token";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";

export interface LoadedJob {
  workflowName: string;
  template: WorkflowTemplate;
  job: Job;
  /** The job's mapping as parsed (for the keys the converted model leaves out). */
  jobToken: MappingToken;
  /** Each step's mapping as parsed, in the order of job.steps. */
  stepTokens: MappingToken[];
  /** The workflow's top-level mapping (name, env, defaults). */
  root: MappingToken;
}

/** The whole workflow as GitHub's parser converts it (every job, plain and reusable). */
export async function loadWorkflow(file: string, content: string): Promise<{ workflowName: string; template: WorkflowTemplate }> {
  const { template, root } = await parseAndConvert(file, content);
  return { workflowName: workflowNameOf(root, file), template };
}

async function parseAndConvert(file: string, content: string): Promise<{ template: WorkflowTemplate; root: MappingToken }> {
  const parsed = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
  const parseErrors = parsed.context.errors.getErrors();
  if (parseErrors.length > 0 || !parsed.value) {
    throw new Error(`${file}: invalid workflow: ${parseErrors.map((e) => e.message).join("; ")}`);
  }
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  if (template.errors?.length) {
    throw new Error(`${file}: invalid workflow: ${template.errors.map((e) => e.Message).join("; ")}`);
  }
  return { template, root: asMapping(parsed.value, "workflow") };
}

export async function loadJob(file: string, jobId: string, content = readFileSync(file, "utf8")): Promise<LoadedJob> {
  const { template, root } = await parseAndConvert(file, content);
  const job = template.jobs.find((j) => j.id.value === jobId);
  if (!job) throw new Error(`${file}: no job '${jobId}' (jobs: ${template.jobs.map((j) => j.id.value).join(", ")})`);
  if (job.type !== "job") throw new Error(`${file}: job '${jobId}' calls a reusable workflow; run that workflow's jobs instead`);
  const jobToken = asMapping(mappingValue(asMapping(mappingValue(root, "jobs"), "jobs"), jobId), `job ${jobId}`);
  const stepsToken = mappingValue(jobToken, "steps");
  const stepTokens = stepsToken && isSequence(stepsToken) ? [...stepsToken].map((s) => asMapping(s, "step")) : [];
  if (stepTokens.length !== job.steps.length) throw new Error(`${file}: job '${jobId}': steps do not line up with the parsed model`);
  return { workflowName: workflowNameOf(root, file), template, job, jobToken, stepTokens, root };
}

function workflowNameOf(root: MappingToken, file: string): string {
  const nameToken = mappingValue(root, "name");
  return nameToken?.isLiteral ? String(nameToken.toString()) : file;
}

/** The value under `key` in a parsed mapping (undefined when absent). */
export function mappingValue(mapping: MappingToken | undefined, key: string): TemplateToken | undefined {
  return mapping?.find(key);
}

export function asMapping(token: TemplateToken | undefined, what: string): MappingToken {
  if (!token || !isMapping(token)) throw new Error(`${what}: expected a mapping`);
  return token;
}

/** `defaults.run.<key>` of a job or workflow mapping. */
export function runDefault(mapping: MappingToken, key: "shell" | "working-directory"): TemplateToken | undefined {
  const defaults = mappingValue(mapping, "defaults");
  const run = defaults && isMapping(defaults) ? defaults.find("run") : undefined;
  return run && isMapping(run) ? run.find(key) : undefined;
}
