// A typed subset of the GitHub Actions workflow syntax: only what these workflows use, so a
// typo in a key is a compile error rather than a workflow GitHub silently ignores.

export type Permission = "read" | "write" | "none";
export type Permissions = Partial<
  Record<"actions" | "contents" | "deployments" | "id-token" | "issues" | "packages" | "pull-requests" | "statuses", Permission>
>;

export interface Step {
  name: string;
  id?: string;
  if?: string;
  uses?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
  shell?: string;
  run?: string;
}

export interface Concurrency {
  group: string;
  /** A boolean, or an expression that evaluates to one. */
  "cancel-in-progress": boolean | string;
}

export interface Job {
  name: string;
  needs?: string[];
  if?: string;
  "runs-on"?: string;
  "timeout-minutes"?: number;
  permissions: Permissions;
  environment?: { name: string; url?: string };
  concurrency?: Concurrency;
  strategy?: { matrix: Record<string, string | readonly string[]>; "fail-fast"?: boolean };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps?: Step[];
  /** A reusable workflow (then no steps / runs-on). */
  uses?: string;
  with?: Record<string, string | boolean>;
}

export interface WorkflowInput {
  description: string;
  required: boolean;
  type: "string" | "boolean" | "choice";
  default?: string | boolean;
  options?: string[];
}

export interface Workflow {
  name: string;
  "run-name"?: string;
  on: Record<string, unknown>;
  permissions: Permissions;
  concurrency?: Concurrency;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

/** A workflow file: its name under .github/workflows/ and its content. */
export interface WorkflowFile {
  fileName: string;
  workflow: Workflow;
}
