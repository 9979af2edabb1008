// unlock: by hand only (break glass). Refuses unless confirm is exactly UNLOCK and a reason is
// given; then, in the environment (its reviewers approve), the driver clears the host deploy
// lock a dead run left and, when asked, the engine's update lock (pulumi cancel).
import { confirmJob, confirmedDriverJob, reasonRequired } from "./confirm.js";
import type { WorkflowFile } from "./model.js";
import { DEPLOY_ENVIRONMENTS, DRIVER, script } from "./steps.js";

const UNLOCK_CONFIRMATION = "UNLOCK";

export function unlockWorkflow(): WorkflowFile {
  return {
    fileName: "unlock.yml",
    workflow: {
      name: "Unlock",
      "run-name": "Unlock ${{ inputs.environment }}",
      on: {
        workflow_dispatch: {
          inputs: {
            environment: { description: "Environment (and stack) whose locks to clear", required: true, type: "choice", options: [...DEPLOY_ENVIRONMENTS], default: "production" },
            reason: { description: "Why (the run that held the lock is gone: say which)", required: true, type: "string" },
            confirm: { description: `Type ${UNLOCK_CONFIRMATION} to confirm`, required: true, type: "string" },
            engine: { description: "Also cancel the engine's update lock (pulumi cancel): only when no update of this stack runs", required: false, type: "boolean", default: false },
          },
        },
      },
      permissions: {},
      jobs: {
        confirm: confirmJob("unlock", UNLOCK_CONFIRMATION, [reasonRequired]),
        unlock: confirmedDriverJob({
          name: "Unlock ${{ inputs.environment }}",
          timeoutMinutes: 15,
          permissions: { contents: "read" },
          step: {
            name: "Clear the locks with the driver",
            env: { REASON: "${{ inputs.reason }}", ENGINE: "${{ inputs.engine }}" },
            run: script(
              "engine_args=()",
              'if [ "${ENGINE}" = "true" ]; then engine_args=(--engine); fi',
              'echo "Unlock ${TARGET} by ${GITHUB_ACTOR}: ${REASON}" >> "${GITHUB_STEP_SUMMARY}"',
              `${DRIVER} unlock --stack "\${TARGET}" --force "\${engine_args[@]}"`,
            ),
          },
          // It is the clean-up: nothing of its own to release.
          cleanup: false,
        }),
      },
    },
  };
}
