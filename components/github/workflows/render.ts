// Renders the typed workflows to the YAML committed under .github/workflows/ (and declared
// as RepositoryFile contents). Deterministic: same code, same bytes.
import { Document, isMap, isPair, isScalar, visit } from "yaml";
import { versionOf } from "../pins.js";
import { ciCdWorkflow } from "./ci-cd.js";
import { deployWorkflow } from "./deploy.js";
import { deploymentStatusWorkflow } from "./deployment-status.js";
import type { WorkflowFile } from "./model.js";
import { pauseDecisionWorkflow } from "./pause-decision.js";
import { restoreWorkflow } from "./restore.js";
import { rollbackWorkflow } from "./rollback.js";
import { unlockWorkflow } from "./unlock.js";

export const WORKFLOWS_DIR = ".github/workflows";
export const REGENERATE_COMMAND = "npx tsx components/github/render-workflows.ts --write";

/** The workflows, in a stable order. */
function allWorkflows(): WorkflowFile[] {
  return [ciCdWorkflow(), deployWorkflow(), rollbackWorkflow(), deploymentStatusWorkflow(), pauseDecisionWorkflow(), unlockWorkflow(), restoreWorkflow()];
}

/**
 * Findings of the workflow linters accepted on purpose, each with its reason. The renderer
 * writes the reason above the line and zizmor's ignore comment on it; the lint test checks
 * that these are the only ignore comments in the files.
 */
export interface LintWaiver {
  file: string;
  rule: string;
  /** The mapping key the finding points at, and (optionally) its value. */
  key: string;
  value?: string;
  reason: string;
}

export const LINT_WAIVERS: readonly LintWaiver[] = [
  {
    file: "deployment-status.yml",
    rule: "dangerous-triggers",
    key: "workflow_run",
    reason:
      "workflow_run is asked for (status after every CI/CD, deploy, rollback and restore run); this workflow checks out the default branch, reads the stack, takes only the triggering run's id (to list its jobs), and has contents: read and actions: read only.",
  },
  {
    file: "ci-cd.yml",
    rule: "self-repository",
    key: "uses",
    value: "./.github/workflows/deploy.yml",
    reason: "the '$/' self-repository form is not understood by actionlint 1.7.12, which also lints these files.",
  },
];

/** Why a job holds each permission: rendered beside it (reviewers see the reason; zizmor's pedantic audit asks for it). */
const PERMISSION_REASONS: Readonly<Record<string, string>> = {
  contents: "check out the repository",
  packages: "push the images to GHCR",
  actions: "read workflow runs and their jobs",
  issues: "open an issue when the run fails",
};

/** YAML text of one workflow: a header naming its source, and each pinned action's version beside its SHA. */
function renderWorkflow(file: WorkflowFile): string {
  const doc = new Document(file.workflow);
  doc.commentBefore = ` Generated from components/github/workflows/ — do not edit by hand.\n Regenerate: ${REGENERATE_COMMAND}`;
  const waivers = LINT_WAIVERS.filter((waiver) => waiver.file === file.fileName);
  visit(doc, {
    Pair(_, pair, path) {
      if (!isPair(pair) || !isScalar(pair.key)) return;
      const key = String(pair.key.value);
      const value = isScalar(pair.value) ? String(pair.value.value) : undefined;
      if (key === "uses" && isScalar(pair.value)) {
        const version = value === undefined ? undefined : versionOf(value);
        if (version) pair.value.comment = ` ${version}`;
      }
      const parentPair = path.at(-2);
      if (isPair(parentPair) && isScalar(parentPair.key) && parentPair.key.value === "permissions" && isScalar(pair.value)) {
        const reason = PERMISSION_REASONS[key];
        if (reason) pair.value.comment = ` ${reason}`;
      }
      for (const waiver of waivers.filter((w) => w.key === key && (w.value === undefined || w.value === value))) {
        pair.key.commentBefore = ` ${waiver.reason}`;
        const ignore = ` zizmor: ignore[${waiver.rule}]`;
        if (isMap(pair.value) || !isScalar(pair.value)) pair.key.comment = ignore;
        else pair.value.comment = ignore;
      }
    },
  });
  return doc.toString({ lineWidth: 0, blockQuote: "literal" });
}

/** file path (relative to the repository root) -> content, for every workflow. */
export function renderAllWorkflows(): Map<string, string> {
  return new Map(allWorkflows().map((file) => [`${WORKFLOWS_DIR}/${file.fileName}`, renderWorkflow(file)]));
}
