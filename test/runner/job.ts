// Runs one job of a committed workflow as GitHub's runner does: the workflow read from the
// repository at the run's commit, an empty workspace, steps in order with their `if:`, env
// precedence (workflow < job < GITHUB_ENV < step), outputs, continue-on-error, timeouts, and
// cancellation after which only `always()`/`cancelled()` steps run.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { isMapping } from "@actions/workflow-parser";
import { defaultVariables, githubContext, inputsWithDefaults, runnerContext, type RunnerDirs } from "./contexts.js";
import { isTrue, tokenMap, tokenNumber, tokenString, type ExpressionScope, type JobStatus } from "./expressions.js";
import { executeStep, type StepAction } from "./step.js";
import type { JobRecord, RunJobOptions, StepRecord } from "./types.js";
import { loadJob, mappingValue, runDefault, type LoadedJob } from "./workflow.js";

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export async function runJob(options: RunJobOptions): Promise<JobRecord> {
  const content = execFileSync("git", ["-C", options.repo, "show", `${options.sha}:${options.workflow}`], { encoding: "utf8" });
  const loaded = await loadJob(options.workflow, options.job, content);
  const dirs = makeDirs(options);
  writeFileSync(dirs.eventPath, JSON.stringify(options.event.payload ?? {}));
  const status: JobStatus = { failed: false, cancelled: false };
  const steps: Record<string, { outputs: Record<string, string>; outcome: string; conclusion: string }> = {};
  const github = githubContext(loaded.workflowName, options, dirs);
  const contexts: Record<string, unknown> = {
    github, runner: runnerContext(dirs), inputs: inputsWithDefaults(loaded, options), secrets: options.secrets ?? {},
    vars: options.vars ?? {}, needs: options.needs ?? {}, steps, job: { status: "success" }, strategy: {}, matrix: options.matrix ?? {}, env: {},
  };
  const scope = (env: Record<string, string>): ExpressionScope => ({ contexts: { ...contexts, env }, status });
  const record: JobRecord = { result: "success", steps: [], outputs: {}, summary: "", workspace: dirs.workspace };
  if (!isTrue(loaded.job.if.expression, { contexts: { ...contexts, env: {} }, status: needsStatus(options.needs) })) return { ...record, result: "skipped" };
  const environment = environmentName(loaded, scope({}));
  if (environment !== undefined) {
    record.environment = environment;
    const settings = options.environments?.[environment];
    if (settings?.reviewers && options.approvals?.[environment] !== true) {
      return { ...record, result: "failure", error: `the deployment to '${environment}' was not approved by a reviewer` };
    }
    contexts.secrets = { ...(options.secrets ?? {}), ...(settings?.secrets ?? {}) };
    github.token = (contexts.secrets as Record<string, string>).GITHUB_TOKEN ?? "";
  }
  const secrets = contexts.secrets as Record<string, string>;

  const mask = masker(secrets);
  const log = (text: string): void => options.log?.(mask(text));
  let env = tokenMap(loaded.template.env, scope({}));
  env = { ...env, ...tokenMap(loaded.job.env, scope(env)) };
  let pathAdds: string[] = [];
  const jobTimeout = tokenNumber(mappingValue(loaded.jobToken, "timeout-minutes"), scope(env)) ?? 360;
  const cancel = new AbortController();
  const cancelJob = (): void => {
    status.cancelled = true;
    cancel.abort();
  };
  options.signal?.addEventListener("abort", cancelJob, { once: true });
  if (options.signal?.aborted) cancelJob();
  const jobTimer = setTimeout(cancelJob, jobTimeout * 60_000);

  try {
    for (const [index, step] of loaded.job.steps.entries()) {
      const token = loaded.stepTokens[index];
      const id = step.id;
      const name = tokenString(step.name, scope(env)) ?? id;
      const entry: StepRecord = { id, name, outcome: "skipped", conclusion: "skipped", outputs: {}, log: "" };
      record.steps.push(entry);
      steps[id] = { outputs: {}, outcome: "skipped", conclusion: "skipped" };
      let run: boolean;
      try {
        run = isTrue(step.if?.expression ?? "success()", scope(env));
      } catch (error) {
        Object.assign(entry, { outcome: "failure", conclusion: "failure", error: `if: ${(error as Error).message}` });
        status.failed = true;
        continue;
      }
      log(`::group::${name}${run ? "" : " (skipped)"}\n`);
      if (!run) continue;
      const stepEnv = { ...env, ...tokenMap("env" in step ? step.env : undefined, scope(env)) };
      const base = { ...defaultVariables(github, dirs), ...(options.baseEnv ?? {}), PATH: [...pathAdds, options.basePath ?? defaultPath].join(":") };
      const result = await executeStep({
        number: index + 1,
        action: stepAction(loaded, index, scope(env)),
        env: { ...base, ...stepEnv },
        workspace: dirs.workspace,
        temp: dirs.temp,
        toolCache: dirs.toolCache,
        timeoutMinutes: tokenNumber(mappingValue(token, "timeout-minutes"), scope(env)),
        options,
        // Steps started after a cancellation run to their end, as on GitHub.
        cancelled: status.cancelled ? undefined : cancel.signal,
        onOutput: (chunk) => {
          entry.log += mask(chunk);
          log(chunk);
        },
      });
      const continueOnError = isTrue(continueOnErrorExpression(step["continue-on-error"]), scope(env));
      const conclusion = result.outcome === "failure" && continueOnError ? "success" : result.outcome;
      Object.assign(entry, { outcome: result.outcome, conclusion, outputs: result.outputs, exitCode: result.exitCode, signals: result.signals, error: result.error });
      entry.log = mask(entry.log);
      steps[id] = { outputs: result.outputs, outcome: result.outcome, conclusion };
      if (conclusion === "failure") status.failed = true;
      env = { ...env, ...result.env };
      pathAdds = [...result.path, ...pathAdds];
      record.summary += result.summary;
    }
  } finally {
    clearTimeout(jobTimer);
    options.signal?.removeEventListener("abort", cancelJob);
  }
  record.result = status.cancelled ? "cancelled" : status.failed ? "failure" : "success";
  (contexts.job as { status: string }).status = record.result;
  record.outputs = tokenMap(loaded.job.outputs, scope(env));
  return record;
}

/** What a job's own `if:` sees: success() needs every job it needs to have succeeded. */
export function needsStatus(needs: RunJobOptions["needs"]): JobStatus {
  const results = Object.values(needs ?? {}).map((n) => n.result);
  return {
    failed: results.some((r) => r === "failure" || r === "cancelled"),
    cancelled: false,
    needSkipped: results.some((r) => r === "skipped"),
  };
}

/** `environment: name` or `environment: { name: … }`, evaluated. */
function environmentName(loaded: LoadedJob, scope: ExpressionScope): string | undefined {
  const token = loaded.job.environment;
  if (token === undefined) return undefined;
  return tokenString(isMapping(token) ? token.find("name") : token, scope) || undefined;
}

function continueOnErrorExpression(value: unknown): string {
  if (value === undefined) return "false";
  if (typeof value === "boolean") return String(value);
  const token = value as { expression?: string; value?: unknown };
  return token.expression ?? String(token.value);
}

function stepAction(loaded: LoadedJob, index: number, scope: ExpressionScope): StepAction {
  const step = loaded.job.steps[index]!;
  const token = loaded.stepTokens[index];
  if ("uses" in step) return { kind: "uses", uses: step.uses.value, with: tokenMap(mappingValue(token, "with"), scope) };
  if (!("run" in step)) throw new Error(`step ${step.id}: only run: and uses: steps are supported`);
  const fromDefaults = (key: "shell" | "working-directory"): string | undefined =>
    tokenString(mappingValue(token, key) ?? runDefault(loaded.jobToken, key) ?? runDefault(loaded.root, key), scope);
  return {
    kind: "run",
    script: tokenString(step.run, scope) ?? "",
    shell: fromDefaults("shell") ?? "",
    workingDirectory: fromDefaults("working-directory") ?? ".",
  };
}

function makeDirs(options: RunJobOptions): RunnerDirs {
  const name = basename(options.repository);
  const dirs: RunnerDirs = {
    workspace: join(options.runnerRoot, "work", name, name),
    temp: join(options.runnerRoot, "work", "_temp"),
    toolCache: join(options.runnerRoot, "tool-cache"),
    eventPath: join(options.runnerRoot, "work", "_temp", "_github_workflow", "event.json"),
  };
  for (const dir of [dirs.workspace, dirs.toolCache, join(dirs.temp, "_github_workflow"), join(dirs.temp, "_runner_file_commands")]) {
    mkdirSync(dir, { recursive: true });
  }
  return dirs;
}

/** Secrets as *** in every log line, as GitHub masks them. */
function masker(secrets: Record<string, string>): (text: string) => string {
  const values = Object.values(secrets).filter((v) => v.length > 0);
  return (text) => values.reduce((out, value) => out.replaceAll(value, "***"), text);
}
