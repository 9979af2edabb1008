// The contexts a job's expressions see and the variables its processes get, as GitHub sets them.
import type { LoadedJob } from "./workflow.js";
import type { RunJobOptions } from "./types.js";

export interface RunnerDirs {
  workspace: string;
  temp: string;
  toolCache: string;
  eventPath: string;
}

/** Dispatch/call inputs with the workflow's declared defaults filled in (booleans stay booleans). */
export function inputsWithDefaults(loaded: LoadedJob, options: RunJobOptions): Record<string, string | boolean> {
  const events = loaded.template.events;
  // A called workflow gets its workflow_call inputs; a dispatched one its workflow_dispatch inputs
  // (their defaults differ, e.g. deploy.yml's require-approval).
  const dispatched = options.callerWorkflowName === undefined && options.event.name === "workflow_dispatch";
  const declared = (dispatched ? events.workflow_dispatch?.inputs : events.workflow_call?.inputs ?? events.workflow_dispatch?.inputs) ?? {};
  const inputs: Record<string, string | boolean> = {};
  for (const [name, input] of Object.entries(declared)) {
    const fallback = input.default;
    if (fallback !== undefined) inputs[name] = typeof fallback === "object" ? String((fallback as object).toString()) : (fallback as string | boolean);
    if (input.type === "boolean" && typeof inputs[name] === "string") inputs[name] = inputs[name] === "true";
  }
  for (const [name, value] of Object.entries(options.inputs ?? {})) {
    if (!(name in declared)) throw new Error(`input '${name}' is not declared by ${options.workflow}`);
    // A boolean input is a boolean whether given as one or as the text of one (a caller's `with:`).
    inputs[name] = declared[name]!.type === "boolean" && typeof value === "string" ? value === "true" : value;
  }
  for (const [name, input] of Object.entries(declared)) {
    if (input.required && (inputs[name] === undefined || inputs[name] === "")) throw new Error(`input '${name}' is required`);
  }
  return inputs;
}

export function githubContext(workflowName: string, options: RunJobOptions, dirs: RunnerDirs): Record<string, unknown> {
  const [owner] = options.repository.split("/");
  return {
    event_name: options.event.name,
    event: options.event.payload ?? {},
    event_path: dirs.eventPath,
    sha: options.sha,
    ref: options.event.ref,
    ref_name: options.event.ref.replace(/^refs\/(heads|tags)\//, ""),
    repository: options.repository,
    repository_owner: owner,
    run_id: String(options.runId ?? 1),
    run_number: "1",
    run_attempt: "1",
    actor: options.actor ?? "harness",
    triggering_actor: options.actor ?? "harness",
    // Jobs of a called workflow see the caller's github context, its name included.
    workflow: options.callerWorkflowName ?? workflowName,
    job: options.job,
    workspace: dirs.workspace,
    server_url: "https://github.com",
    api_url: "https://api.github.com",
    token: options.secrets?.GITHUB_TOKEN ?? "",
  };
}

export function runnerContext(dirs: RunnerDirs): Record<string, string> {
  return { os: "Linux", arch: "X64", name: "harness", environment: "github-hosted", temp: dirs.temp, tool_cache: dirs.toolCache };
}

/** The GITHUB_* and RUNNER_* variables every step's process gets. */
export function defaultVariables(github: Record<string, unknown>, dirs: RunnerDirs): Record<string, string> {
  const pick = (key: string): string => String(github[key] ?? "");
  return {
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: dirs.workspace,
    GITHUB_EVENT_PATH: dirs.eventPath,
    GITHUB_EVENT_NAME: pick("event_name"),
    GITHUB_SHA: pick("sha"),
    GITHUB_REF: pick("ref"),
    GITHUB_REF_NAME: pick("ref_name"),
    GITHUB_REPOSITORY: pick("repository"),
    GITHUB_REPOSITORY_OWNER: pick("repository_owner"),
    GITHUB_RUN_ID: pick("run_id"),
    GITHUB_RUN_NUMBER: pick("run_number"),
    GITHUB_RUN_ATTEMPT: pick("run_attempt"),
    GITHUB_ACTOR: pick("actor"),
    GITHUB_TRIGGERING_ACTOR: pick("triggering_actor"),
    GITHUB_WORKFLOW: pick("workflow"),
    GITHUB_JOB: pick("job"),
    GITHUB_SERVER_URL: pick("server_url"),
    GITHUB_API_URL: pick("api_url"),
    RUNNER_OS: "Linux",
    RUNNER_ARCH: "X64",
    RUNNER_NAME: "harness",
    RUNNER_TEMP: dirs.temp,
    RUNNER_TOOL_CACHE: dirs.toolCache,
  };
}
