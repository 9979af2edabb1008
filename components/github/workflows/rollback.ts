// rollback: by hand only. Refuses unless confirm is exactly ROLLBACK, a reason is given and
// `to` (if given) is a release id; then the driver rolls the environment back to its last
// verified release (or --to one), waiting for a deploy in progress to release the host lock.
import { confirmJob, confirmedDriverJob, optionalReleaseId, reasonRequired } from "./confirm.js";
import type { Job, WorkflowFile } from "./model.js";
import { DEPLOY_ENVIRONMENTS, DRIVER, script } from "./steps.js";

const ROLLBACK_CONFIRMATION = "ROLLBACK";

function rollbackJob(): Job {
  return confirmedDriverJob({
    name: "Roll back ${{ inputs.environment }}",
    // Up to 30 min waiting for the host lock (--wait-lock), then the rollback and its watch.
    timeoutMinutes: 60,
    // issues: the driver opens an issue when the rollback fails.
    permissions: { contents: "read", issues: "write" },
    // Not the deploys' group, where a deploy queued later would cancel this one while it waits:
    // the driver waits for the host lock a deploy in progress holds (--wait-lock) instead.
    group: "rollback-${{ inputs.environment }}",
    step: {
      name: "Roll back with the driver",
      env: {
        GITHUB_TOKEN: "${{ github.token }}",
        REASON: "${{ inputs.reason }}",
        CONFIRM: "${{ inputs.confirm }}",
        TO_RELEASE: "${{ inputs.to }}",
      },
      run: script(
        "to_args=()",
        'if [ -n "${TO_RELEASE}" ]; then to_args=(--to "${TO_RELEASE}"); fi',
        `${DRIVER} rollback --stack "\${TARGET}" --reason "\${REASON}" --confirm "\${CONFIRM}" --wait-lock "\${to_args[@]}"`,
      ),
    },
    cleanup: true,
  });
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
        confirm: confirmJob("rollback", ROLLBACK_CONFIRMATION, [reasonRequired, optionalReleaseId("to")]),
        rollback: rollbackJob(),
      },
    },
  };
}
