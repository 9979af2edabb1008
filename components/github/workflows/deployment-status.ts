// deployment-status: after every deploy or rollback run, every six hours, and by hand,
// publishes the stack's outputs (current and last verified release) and history to the job summary.
import { PREVIEW_ENVIRONMENT } from "../config.js";
import type { WorkflowFile } from "./model.js";
import { deployWorkflow } from "./deploy.js";
import { rollbackWorkflow } from "./rollback.js";
import { DEPLOY_ENVIRONMENTS, DRIVER, ENGINE_ENV, RUNNER, backendSecretEnv, driverSetup, script } from "./steps.js";

const FENCE = "```";

const STATUS_SCHEDULE = "17 */6 * * *";

export function deploymentStatusWorkflow(): WorkflowFile {
  return {
    fileName: "deployment-status.yml",
    workflow: {
      name: "Deployment status",
      on: {
        // Reads the stack only: it checks out the default branch, never the triggering run's code.
        workflow_run: { workflows: [deployWorkflow().workflow.name, rollbackWorkflow().workflow.name], types: ["completed"] },
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
      concurrency: { group: "deployment-status", "cancel-in-progress": true },
      jobs: {
        status: {
          name: "Publish stack outputs and history",
          "runs-on": RUNNER,
          "timeout-minutes": 15,
          permissions: { contents: "read" },
          environment: { name: PREVIEW_ENVIRONMENT },
          steps: [
            ...driverSetup(),
            {
              name: "Stack outputs and history to the job summary",
              env: { ...ENGINE_ENV, ...backendSecretEnv(), TARGET: "${{ inputs.environment || 'production' }}" },
              run: script(
                `{ echo "## Deployment status: \${TARGET}"; echo; echo '${FENCE}'; } >> "\${GITHUB_STEP_SUMMARY}"`,
                `${DRIVER} status --stack "\${TARGET}" | tee -a "\${GITHUB_STEP_SUMMARY}"`,
                `echo '${FENCE}' >> "\${GITHUB_STEP_SUMMARY}"`,
              ),
            },
          ],
        },
      },
    },
  };
}
