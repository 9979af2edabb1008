// rollback: by hand only. Refuses unless confirm is exactly ROLLBACK and a reason is given;
// then the driver rolls the environment back to its last verified release (or --to one).
import type { Job, WorkflowFile } from "./model.js";
import { environmentLock } from "./deploy.js";
import { DEPLOY_ENVIRONMENTS, DRIVER, ENGINE_ENV, RUNNER, backendSecretEnv, driverSetup, script } from "./steps.js";

const ROLLBACK_CONFIRMATION = "ROLLBACK";

function confirmJob(): Job {
  return {
    name: "Confirm the rollback",
    "runs-on": RUNNER,
    "timeout-minutes": 5,
    permissions: {},
    steps: [
      {
        name: `Refuse unless confirm is ${ROLLBACK_CONFIRMATION} and a reason is given`,
        env: { CONFIRM: "${{ inputs.confirm }}", REASON: "${{ inputs.reason }}" },
        run: script(
          `if [ "\${CONFIRM}" != "${ROLLBACK_CONFIRMATION}" ]; then`,
          `  echo "::error::Rollback refused: type ${ROLLBACK_CONFIRMATION} (exactly) in 'confirm' to roll back."`,
          "  exit 2",
          "fi",
          'if [ -z "${REASON//[[:space:]]/}" ]; then',
          "  echo \"::error::Rollback refused: say why in 'reason'.\"",
          "  exit 2",
          "fi",
        ),
      },
    ],
  };
}

function rollbackJob(): Job {
  return {
    name: "Roll back ${{ inputs.environment }}",
    needs: ["confirm"],
    "runs-on": RUNNER,
    "timeout-minutes": 45,
    // issues: the driver opens an issue when the rollback fails.
    permissions: { contents: "read", issues: "write" },
    environment: { name: "${{ inputs.environment }}" },
    // The same lock as deploy: a rollback waits for a deploy in progress, and is never cancelled.
    concurrency: { group: environmentLock, "cancel-in-progress": false },
    steps: [
      ...driverSetup(),
      {
        name: "Roll back with the driver",
        env: {
          ...ENGINE_ENV,
          ...backendSecretEnv(),
          GITHUB_TOKEN: "${{ github.token }}",
          TARGET: "${{ inputs.environment }}",
          REASON: "${{ inputs.reason }}",
          CONFIRM: "${{ inputs.confirm }}",
          TO_RELEASE: "${{ inputs.to }}",
        },
        run: script(
          "to_args=()",
          'if [ -n "${TO_RELEASE}" ]; then to_args=(--to "${TO_RELEASE}"); fi',
          `${DRIVER} rollback --stack "\${TARGET}" --reason "\${REASON}" --confirm "\${CONFIRM}" "\${to_args[@]}"`,
        ),
      },
    ],
  };
}

export function rollbackWorkflow(): WorkflowFile {
  return {
    fileName: "rollback.yml",
    workflow: {
      name: "Rollback",
      "run-name": "Rollback ${{ inputs.environment }}",
      on: {
        workflow_dispatch: {
          inputs: {
            environment: {
              description: "Environment (and stack) to roll back",
              required: true,
              type: "choice",
              options: [...DEPLOY_ENVIRONMENTS],
              default: "production",
            },
            reason: { description: "Why (kept in the stack history and the report)", required: true, type: "string" },
            confirm: { description: `Type ${ROLLBACK_CONFIRMATION} to confirm`, required: true, type: "string" },
            to: { description: "Release id to go back to (default: the last verified release)", required: false, type: "string", default: "" },
          },
        },
      },
      permissions: {},
      jobs: {
        confirm: confirmJob(),
        rollback: rollbackJob(),
      },
    },
  };
}
