// deploy: never on push; started by hand (workflow_dispatch) or by ci-cd (workflow_call).
// verify-ci -> [approval] -> deploy; the deploy job runs in the GitHub environment, one at a
// time per environment, and the driver does preview-as-precheck, up, monitor and rollback.
import { APPROVAL_ENVIRONMENT } from "../config.js";
import { CI_GATE_JOBS } from "./ci-cd.js";
import type { Job, WorkflowFile, WorkflowInput } from "./model.js";
import { DEPLOY_ENVIRONMENTS, DRIVER, ENGINE_ENV, RUNNER, backendSecretEnv, cleanupOnCancel, driverSetup, script } from "./steps.js";

/**
 * Deploys of one environment queue in this group (GitHub keeps one running and one pending,
 * a newer pending deploy replacing an older one). Rollback and restore have groups of their
 * own, so a deploy queued later never cancels them; the driver's host lock (--wait-lock)
 * keeps the changes of an environment one at a time.
 */
export const deployGroup = "deploy-${{ inputs.environment }}";

const inputDescriptions = {
  environment: "Environment (and stack) to deploy",
  release: "Release id (default: the commit sha)",
  images: "Images as space-separated service=ref pairs, by digest (default: the stack's current images)",
  requireApproval: "Wait for a reviewer's approval before deploying (production always requires one)",
  onFailure: "A failed health check: rollback at once, or pause (the release stays live until the Pause decision workflow promotes or aborts it); config = the stack's monitor.onFailure",
  pauseTimeoutMinutes: "With a pause: minutes to wait for a decision, 1 to 300 (default: the stack's monitor.pauseTimeoutMinutes); then the stack's onPauseTimeout decides",
};

/** What a failed verdict does, as the dispatch offers it ("config": the stack's monitor.onFailure). */
const ON_FAILURE_CHOICES = ["config", "rollback", "pause"];

/** on_failure and pause_timeout_minutes, in both triggers. */
function pauseInputs(): Record<string, WorkflowInput> {
  return {
    on_failure: { description: inputDescriptions.onFailure, required: false, type: "choice", options: ON_FAILURE_CHOICES, default: "config" },
    pause_timeout_minutes: { description: inputDescriptions.pauseTimeoutMinutes, required: false, type: "string", default: "" },
  };
}

function dispatchInputs(): Record<string, WorkflowInput> {
  return {
    environment: {
      description: inputDescriptions.environment,
      required: true,
      type: "choice",
      options: [...DEPLOY_ENVIRONMENTS],
      default: "production",
    },
    release: { description: inputDescriptions.release, required: false, type: "string", default: "" },
    images: { description: inputDescriptions.images, required: false, type: "string", default: "" },
    "require-approval": { description: inputDescriptions.requireApproval, required: false, type: "boolean", default: true },
    ...pauseInputs(),
  };
}

function callInputs(): Record<string, WorkflowInput> {
  return {
    environment: { description: inputDescriptions.environment, required: true, type: "string" },
    release: { description: inputDescriptions.release, required: false, type: "string", default: "" },
    images: { description: inputDescriptions.images, required: false, type: "string", default: "" },
    "require-approval": { description: inputDescriptions.requireApproval, required: false, type: "boolean", default: false },
    // A call passes a string: "config" (the default), "rollback" or "pause"; the driver refuses anything else.
    ...pauseInputs(),
    on_failure: { description: inputDescriptions.onFailure, required: false, type: "string", default: "config" },
  };
}

function verifyCiJob(): Job {
  return {
    name: "Verify CI/CD succeeded for this commit",
    "runs-on": RUNNER,
    "timeout-minutes": 5,
    permissions: { actions: "read" },
    steps: [
      {
        // The jobs that matter, not the whole run: a CI/CD run whose own deploy waited for
        // approval, failed or rolled back still proves this commit was tested and built.
        name: `Require ${CI_GATE_JOBS.map((job) => `'${job}'`).join(" and ")} to have passed in a CI/CD run of this commit`,
        if: "github.event_name == 'workflow_dispatch'",
        env: { GH_TOKEN: "${{ github.token }}", DEPLOY_SHA: "${{ github.sha }}" },
        run: script(
          'runs="$(gh api "repos/${GITHUB_REPOSITORY}/actions/workflows/ci-cd.yml/runs?head_sha=${DEPLOY_SHA}&per_page=20" --jq ".workflow_runs[].id")"',
          "for run in ${runs}; do",
          `  passed="$(gh api "repos/\${GITHUB_REPOSITORY}/actions/runs/\${run}/jobs?per_page=100" --jq '${gateJq()}')"`,
          `  if [ "\${passed}" = "${CI_GATE_JOBS.length}" ]; then echo "CI/CD run \${run} tested and built \${DEPLOY_SHA}."; exit 0; fi`,
          "done",
          `echo "::error::No CI/CD run of \${DEPLOY_SHA} passed ${CI_GATE_JOBS.join(" and ")}: wait for CI/CD (or fix it), then deploy again."`,
          "exit 3",
        ),
      },
      {
        // Called from ci-cd: that run is this one's caller, and it calls only after test and build passed.
        name: "Called by CI/CD after its tests and image builds passed",
        if: "github.event_name != 'workflow_dispatch'",
        run: script('echo "Deploy called by ${GITHUB_WORKFLOW} for ${GITHUB_SHA} after its tests and builds passed."'),
      },
    ],
  };
}

/** jq: how many of the gate jobs (by name) concluded success in one run. */
function gateJq(): string {
  const names = CI_GATE_JOBS.map((job) => `.name == "${job}"`).join(" or ");
  return `[.jobs[] | select((${names}) and .conclusion == "success") | .name] | unique | length`;
}

function approvalJob(): Job {
  return {
    name: "Approval",
    needs: ["verify-ci"],
    if: "inputs.require-approval",
    "runs-on": RUNNER,
    "timeout-minutes": 5,
    permissions: {},
    // The approval environment has the production reviewers and no secrets: the job waits for one of them.
    environment: { name: APPROVAL_ENVIRONMENT },
    steps: [
      {
        name: "Record the approval",
        env: { TARGET: "${{ inputs.environment }}" },
        run: script('echo "Deployment to ${TARGET} approved; started by ${GITHUB_ACTOR}."'),
      },
    ],
  };
}

/** Driver exit codes (automation/cli.ts) and what each means to a reader of the summary. */
const DRIVER_EXIT_CODES: Readonly<Record<number, string>> = {
  0: "deployed and verified (or promoted after a pause)",
  1: "unexpected error",
  2: "usage or configuration error",
  3: "blocked by prechecks or the preview policy (nothing changed)",
  4: "deploy failed and was rolled back",
  5: "deploy failed and could not be rolled back: the environment needs a person",
  6: "another deployment holds the lock",
};

function exitCodeTable(): string {
  return Object.entries(DRIVER_EXIT_CODES)
    .map(([code, meaning]) => `  ${code}) meaning="${meaning}" ;;`)
    .join("\n");
}

function deployJob(): Job {
  return {
    name: "Deploy to ${{ inputs.environment }}",
    needs: ["verify-ci", "approval"],
    // Runs when CI was verified and the approval passed or was not asked for.
    if: "${{ !cancelled() && needs.verify-ci.result == 'success' && (needs.approval.result == 'success' || needs.approval.result == 'skipped') }}",
    "runs-on": RUNNER,
    // A pause holds this job (and the host lock) while it waits for a decision: up to 300 min
    // (the driver's bound), plus the deploy and a rollback. 360 is a hosted runner's limit.
    "timeout-minutes": 360,
    // actions: the driver checks CI runs; issues: it opens the failure issue.
    permissions: { contents: "read", actions: "read", issues: "write" },
    environment: { name: "${{ inputs.environment }}" },
    // Queued, never cancelled: a deploy in progress always finishes (or rolls back) first.
    concurrency: { group: deployGroup, "cancel-in-progress": false },
    steps: [
      ...driverSetup(),
      {
        name: "Deploy: preview as precheck, up, monitor, automatic rollback",
        id: "deploy",
        env: {
          ...ENGINE_ENV,
          ...backendSecretEnv(),
          GITHUB_TOKEN: "${{ github.token }}",
          TARGET: "${{ inputs.environment }}",
          RELEASE_INPUT: "${{ inputs.release }}",
          IMAGES_INPUT: "${{ inputs.images }}",
          ON_FAILURE: "${{ inputs.on_failure }}",
          PAUSE_MINUTES: "${{ inputs.pause_timeout_minutes }}",
        },
        run: script(
          'release="${RELEASE_INPUT:-${GITHUB_SHA}}"',
          "image_args=()",
          'read -r -a image_pairs <<< "${IMAGES_INPUT}"',
          'for pair in "${image_pairs[@]}"; do image_args+=(--image "${pair}"); done',
          "pause_args=()",
          'if [ -n "${ON_FAILURE:-}" ] && [ "${ON_FAILURE}" != "config" ]; then pause_args+=(--on-failure "${ON_FAILURE}"); fi',
          "# Checked before any arithmetic: bash evaluates what an expression holds.",
          'if [ -n "${PAUSE_MINUTES:-}" ]; then',
          '  if ! [[ "${PAUSE_MINUTES}" =~ ^[0-9]{1,3}$ ]] || [ "${PAUSE_MINUTES}" -lt 1 ] || [ "${PAUSE_MINUTES}" -gt 300 ]; then',
          '    echo "::error::pause_timeout_minutes must be a whole number from 1 to 300, got \'${PAUSE_MINUTES}\'."',
          "    exit 2",
          "  fi",
          '  pause_args+=(--pause-timeout "$((PAUSE_MINUTES * 60))")',
          "fi",
          "# CI was verified by the verify-ci job (or by the calling CI/CD run itself).",
          "set +e",
          `${DRIVER} deploy --stack "\${TARGET}" --release "\${release}" --git-sha "\${GITHUB_SHA}" --skip-ci-check --wait-lock --report-dir "\${RUNNER_TEMP}/deploy-report" "\${image_args[@]}" "\${pause_args[@]}"`,
          "code=$?",
          "set -e",
          'echo "exit-code=${code}" >> "${GITHUB_OUTPUT}"',
          "# A report on disk: the driver got to its end (and opened the failure issue itself when the outcome is one).",
          'if compgen -G "${RUNNER_TEMP}/deploy-report/*.json" > /dev/null; then echo "reported=true" >> "${GITHUB_OUTPUT}"; fi',
          'exit "${code}"',
        ),
      },
      {
        name: "Outcome in the job summary",
        if: "${{ always() }}",
        env: { EXIT_CODE: "${{ steps.deploy.outputs.exit-code }}", TARGET: "${{ inputs.environment }}" },
        run: script(
          'case "${EXIT_CODE}" in',
          exitCodeTable(),
          '  *) meaning="the driver did not run to the end (see the job log)" ;;',
          "esac",
          'echo "**Deploy to ${TARGET}:** exit ${EXIT_CODE:-none}: ${meaning}" >> "${GITHUB_STEP_SUMMARY}"',
        ),
      },
      {
        // One issue per failed run: the driver opens it for a failed release (exit 1, 4, 5) once it
        // reported; this covers a run it never reported, and a stack it refused as misconfigured
        // (exit 2: usage or config, for which the driver opens none), e.g. the first run.
        name: "Open an issue when the driver did not",
        if: "${{ failure() && (steps.deploy.outputs.reported != 'true' || steps.deploy.outputs.exit-code == '2') }}",
        env: { GH_TOKEN: "${{ github.token }}", TARGET: "${{ inputs.environment }}", EXIT_CODE: "${{ steps.deploy.outputs.exit-code }}" },
        run: script(
          'run_url="${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}"',
          'gh issue create --repo "${GITHUB_REPOSITORY}" --title "Deploy to ${TARGET} failed (${GITHUB_SHA:0:7})" --body "The deploy run ${run_url} failed (driver exit ${EXIT_CODE:-none}: see its job summary and log). Commit: ${GITHUB_SHA}."',
        ),
      },
      cleanupOnCancel("${{ inputs.environment }}"),
    ],
  };
}

export function deployWorkflow(): WorkflowFile {
  return {
    fileName: "deploy.yml",
    workflow: {
      name: "Deploy",
      "run-name": "Deploy ${{ inputs.release || github.sha }} to ${{ inputs.environment }}",
      on: {
        workflow_dispatch: { inputs: dispatchInputs() },
        workflow_call: { inputs: callInputs() },
      },
      permissions: {},
      jobs: {
        "verify-ci": verifyCiJob(),
        approval: approvalJob(),
        deploy: deployJob(),
      },
    },
  };
}
