// restore: by hand only (break glass). Refuses unless confirm is exactly RESTORE and the release
// (if given) is a release id or backup set name; then, in the environment (its reviewers
// approve), the driver puts back a backup set of the host (the last verified release by
// default), refreshes the stack and watches it.
import { confirmJob, confirmedDriverJob, optionalReleaseId } from "./confirm.js";
import type { WorkflowFile } from "./model.js";
import { DEPLOY_ENVIRONMENTS, DRIVER, script } from "./steps.js";

/** The driver's restore confirmation word (automation/stages/restore.ts; a unit test keeps them equal). */
export const RESTORE_CONFIRMATION = "RESTORE";

export function restoreWorkflow(): WorkflowFile {
  return {
    fileName: "restore.yml",
    workflow: {
      name: "Restore",
      "run-name": "Restore ${{ inputs.environment }}",
      on: {
        workflow_dispatch: {
          inputs: {
            environment: { description: "Environment (and stack) to restore", required: true, type: "choice", options: [...DEPLOY_ENVIRONMENTS], default: "production" },
            confirm: { description: `Type ${RESTORE_CONFIRMATION} to confirm`, required: true, type: "string" },
            release: { description: "A release id (its newest backup set) or a backup set's name (default: the last verified release)", required: false, type: "string", default: "" },
            force: { description: "Restore a release recorded as failed", required: false, type: "boolean", default: false },
            volumes: { description: "Also put back the set's named volume archives (snapshotVolumes)", required: false, type: "boolean", default: false },
          },
        },
      },
      permissions: {},
      jobs: {
        confirm: confirmJob("restore", RESTORE_CONFIRMATION, [optionalReleaseId("release")]),
        restore: confirmedDriverJob({
          name: "Restore ${{ inputs.environment }}",
          timeoutMinutes: 45,
          // issues: the driver opens an issue when the restored release fails its watch.
          permissions: { contents: "read", issues: "write" },
          // Its own group: never cancelled by a deploy or rollback queued later.
          group: "restore-${{ inputs.environment }}",
          step: {
            name: "Restore with the driver",
            env: {
              GITHUB_TOKEN: "${{ github.token }}",
              CONFIRM: "${{ inputs.confirm }}",
              RELEASE_INPUT: "${{ inputs.release }}",
              FORCE: "${{ inputs.force }}",
              VOLUMES: "${{ inputs.volumes }}",
            },
            run: script(
              "restore_args=()",
              'if [ -n "${RELEASE_INPUT}" ]; then restore_args+=(--release "${RELEASE_INPUT}"); fi',
              'if [ "${FORCE}" = "true" ]; then restore_args+=(--force); fi',
              'if [ "${VOLUMES}" = "true" ]; then restore_args+=(--volumes); fi',
              `${DRIVER} restore --stack "\${TARGET}" --confirm "\${CONFIRM}" "\${restore_args[@]}"`,
            ),
          },
          cleanup: true,
        }),
      },
    },
  };
}
