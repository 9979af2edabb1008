// pause-decision: by hand only. Promotes or aborts the release a deploy holds paused after a
// failed health check (monitor.onFailure "pause"). The driver leaves the decision on the host,
// where the paused deploy picks it up; it refuses when nothing (or another release) is paused.
import type { Job, WorkflowFile } from "./model.js";
import { DEPLOY_ENVIRONMENTS, DRIVER, ENGINE_ENV, RUNNER, backendSecretEnv, driverSetup, script } from "./steps.js";

const DECISIONS = ["promote", "abort"];

function decideJob(): Job {
  return {
    name: "${{ inputs.decision }} the paused release on ${{ inputs.environment }}",
    "runs-on": RUNNER,
    "timeout-minutes": 15,
    permissions: { contents: "read" },
    environment: { name: "${{ inputs.environment }}" },
    // Not in the deploy lock's concurrency group: the paused deploy holds it while it waits for this.
    steps: [
      ...driverSetup(),
      {
        name: "Hand the decision to the paused deploy",
        env: {
          ...ENGINE_ENV,
          ...backendSecretEnv(),
          TARGET: "${{ inputs.environment }}",
          DECISION: "${{ inputs.decision }}",
          REASON: "${{ inputs.reason }}",
          RELEASE_INPUT: "${{ inputs.release }}",
        },
        run: script(
          'case "${DECISION}" in promote|abort) ;; *) echo "::error::decision must be promote or abort."; exit 2 ;; esac',
          "release_args=()",
          'if [ -n "${RELEASE_INPUT}" ]; then release_args=(--release "${RELEASE_INPUT}"); fi',
          `${DRIVER} "\${DECISION}" --stack "\${TARGET}" --reason "\${REASON}" "\${release_args[@]}"`,
        ),
      },
    ],
  };
}

export function pauseDecisionWorkflow(): WorkflowFile {
  return {
    fileName: "pause-decision.yml",
    workflow: {
      name: "Pause decision",
      "run-name": "${{ inputs.decision }} the paused release on ${{ inputs.environment }}",
      on: {
        workflow_dispatch: {
          inputs: {
            environment: {
              description: "Environment (and stack) whose deploy is paused",
              required: true,
              type: "choice",
              options: [...DEPLOY_ENVIRONMENTS],
              default: "production",
            },
            decision: { description: "promote: keep the release (verified); abort: roll back to the last verified release", required: true, type: "choice", options: DECISIONS },
            reason: { description: "Why (kept in the paused deploy's report and the audit log)", required: true, type: "string" },
            release: { description: "The paused release id (refused when another one is paused; default: whichever is)", required: false, type: "string", default: "" },
          },
        },
      },
      permissions: {},
      jobs: { decide: decideJob() },
    },
  };
}
