// deployment-status: after every CI/CD, deploy, rollback or restore run, every six hours, and
// by hand, publishes the stack's outputs (current and last verified release) and history to the
// job summary, for each environment that run changed (a schedule: every environment).
import { statusEnvironment } from "../config.js";
import { ciCdWorkflow } from "./ci-cd.js";
import type { Job, WorkflowFile } from "./model.js";
import { deployWorkflow } from "./deploy.js";
import { restoreWorkflow } from "./restore.js";
import { rollbackWorkflow } from "./rollback.js";
import { DEPLOY_ENVIRONMENTS, DRIVER, ENGINE_ENV, RUNNER, backendSecretEnv, driverSetup, script } from "./steps.js";

const FENCE = "```";

const STATUS_SCHEDULE = "17 */6 * * *";

/** The jobs that change an environment, by the names they show in a run ("<caller> / " first when called). */
const CHANGING_JOB = "(Deploy to|Roll back|Restore)";

/** Which environments to report on: the ones whose deploy, rollback or restore job ran in the triggering run. */
function environmentsJob(): Job {
  const all = DEPLOY_ENVIRONMENTS.join(" ");
  return {
    name: "Environments to report on",
    "runs-on": RUNNER,
    "timeout-minutes": 5,
    permissions: { actions: "read" },
    outputs: { list: "${{ steps.pick.outputs.list }}" },
    steps: [
      {
        name: "Pick the environments the triggering run changed",
        id: "pick",
        env: {
          GH_TOKEN: "${{ github.token }}",
          EVENT: "${{ github.event_name }}",
          RUN_ID: "${{ github.event.workflow_run.id }}",
          INPUT_ENVIRONMENT: "${{ inputs.environment }}",
        },
        run: script(
          "envs=()",
          'case "${EVENT}" in',
          "  workflow_run)",
          '    [[ "${RUN_ID}" =~ ^[0-9]+$ ]] || { echo "::error::no run id"; exit 2; }',
          "    # Jobs that ran (not skipped): a pull request's CI/CD run changes none.",
          `    jobs="$(gh api "repos/\${GITHUB_REPOSITORY}/actions/runs/\${RUN_ID}/jobs?per_page=100" --jq '.jobs[] | select(.conclusion != null and .conclusion != "skipped") | .name')"`,
          `    for env in ${all}; do`,
          `      if grep -Eq "(^|/ )${CHANGING_JOB} \${env}\\$" <<< "\${jobs}"; then envs+=("\${env}"); fi`,
          "    done ;;",
          "  workflow_dispatch)",
          `    case "\${INPUT_ENVIRONMENT}" in ${DEPLOY_ENVIRONMENTS.join("|")}) envs=("\${INPUT_ENVIRONMENT}") ;; *) echo "::error::unknown environment"; exit 2 ;; esac ;;`,
          `  *) envs=(${all}) ;;`,
          "esac",
          `list="$(printf '%s\\n' "\${envs[@]}" | jq -Rsc 'split("\\n") | map(select(length > 0))')"`,
          'echo "Reporting on: ${list}"',
          'echo "list=${list}" >> "${GITHUB_OUTPUT}"',
        ),
      },
    ],
  };
}

function statusJob(): Job {
  return {
    name: "Publish stack outputs and history (${{ matrix.environment }})",
    needs: ["environments"],
    if: "needs.environments.outputs.list != '[]'",
    "runs-on": RUNNER,
    "timeout-minutes": 15,
    permissions: { contents: "read" },
    strategy: { matrix: { environment: "${{ fromJSON(needs.environments.outputs.list) }}" }, "fail-fast": false },
    // Read-only twin of the environment: its secrets, no reviewers, protected branches only.
    environment: { name: statusEnvironment("${{ matrix.environment }}") },
    steps: [
      ...driverSetup(),
      {
        name: "Stack outputs and history to the job summary",
        env: { ...ENGINE_ENV, ...backendSecretEnv(), TARGET: "${{ matrix.environment }}" },
        run: script(
          `{ echo "## Deployment status: \${TARGET}"; echo; echo '${FENCE}'; } >> "\${GITHUB_STEP_SUMMARY}"`,
          `${DRIVER} status --stack "\${TARGET}" | tee -a "\${GITHUB_STEP_SUMMARY}"`,
          `echo '${FENCE}' >> "\${GITHUB_STEP_SUMMARY}"`,
        ),
      },
    ],
  };
}

export function deploymentStatusWorkflow(): WorkflowFile {
  const followed = [ciCdWorkflow(), deployWorkflow(), rollbackWorkflow(), restoreWorkflow()].map((w) => w.workflow.name);
  return {
    fileName: "deployment-status.yml",
    workflow: {
      name: "Deployment status",
      on: {
        // Reads the stack only: it checks out the default branch, never the triggering run's code.
        workflow_run: { workflows: followed, types: ["completed"] },
        schedule: [{ cron: STATUS_SCHEDULE }],
        workflow_dispatch: {
          inputs: {
            environment: {
              description: "Environment (and stack) to report on",
              required: true,
              type: "choice",
              options: [...DEPLOY_ENVIRONMENTS],
              default: "production",
            },
          },
        },
      },
      permissions: {},
      jobs: {
        environments: environmentsJob(),
        status: statusJob(),
      },
    },
  };
}
