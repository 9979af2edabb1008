// The first job of a break-glass dispatch (rollback, restore, unlock): refuses, before any
// environment or secret is touched, unless `confirm` is exactly the command's word and the
// other inputs are what they must be. The driver checks them again.
import type { Job, Permissions } from "./model.js";
import { DEPLOY_ENVIRONMENTS, ENGINE_ENV, RUNNER, backendSecretEnv, cleanupOnCancel, driverSetup, script } from "./steps.js";

/** A shell check of one input: the env var it reaches the shell in, its input, and the test that refuses it. */
export interface InputCheck {
  /** Shell lines that exit 2 with an ::error:: when the input is bad. */
  lines: string[];
  env: Record<string, string>;
}

/** `reason`: some text. */
export const reasonRequired: InputCheck = {
  env: { REASON: "${{ inputs.reason }}" },
  lines: ['if [ -z "${REASON//[[:space:]]/}" ]; then', "  echo \"::error::Refused: say why in 'reason'.\"", "  exit 2", "fi"],
};

/** An optional release id or backup-set name input: letters, digits, . _ - (the driver's release id rule), at most 64. */
export function optionalReleaseId(input: string): InputCheck {
  return {
    env: { RELEASE_INPUT: `\${{ inputs.${input} }}` },
    lines: [
      'if [ -n "${RELEASE_INPUT}" ] && ! [[ "${RELEASE_INPUT}" =~ ^[A-Za-z0-9._-]{1,64}$ ]]; then',
      `  echo "::error::Refused: '${input}' must be a release id or backup set name (letters, digits, . _ -, at most 64)."`,
      "  exit 2",
      "fi",
    ],
  };
}

export function confirmJob(what: string, word: string, checks: InputCheck[] = []): Job {
  const environments = DEPLOY_ENVIRONMENTS.join("|");
  return {
    name: `Confirm the ${what}`,
    "runs-on": RUNNER,
    "timeout-minutes": 5,
    permissions: {},
    steps: [
      {
        name: `Refuse unless confirm is ${word} and the inputs are valid`,
        env: Object.assign({ CONFIRM: "${{ inputs.confirm }}", TARGET: "${{ inputs.environment }}" }, ...checks.map((c) => c.env)),
        run: script(
          `if [ "\${CONFIRM}" != "${word}" ]; then`,
          `  echo "::error::Refused: type ${word} (exactly) in 'confirm' to go on with the ${what}."`,
          "  exit 2",
          "fi",
          `case "\${TARGET}" in ${environments}) ;; *) echo "::error::Refused: unknown environment."; exit 2 ;; esac`,
          ...checks.flatMap((c) => c.lines),
        ),
      },
    ],
  };
}

export interface ConfirmedDriverJob {
  name: string;
  timeoutMinutes: number;
  permissions: Permissions;
  /** A concurrency group of its own (never cancelled); none: the job joins no group. */
  group?: string;
  /** The driver step: its name, what reaches its shell (beside the backend secrets) and its script. */
  step: { name: string; env: Record<string, string>; run: string };
  /** Add the clean-up of a cancelled job (a command that takes the host lock). */
  cleanup: boolean;
}

/** The job after `confirm`: in the chosen environment (its reviewers approve), the driver setup, one driver command. */
export function confirmedDriverJob(job: ConfirmedDriverJob): Job {
  const target = "${{ inputs.environment }}";
  return {
    name: job.name,
    needs: ["confirm"],
    "runs-on": RUNNER,
    "timeout-minutes": job.timeoutMinutes,
    permissions: job.permissions,
    environment: { name: target },
    ...(job.group ? { concurrency: { group: job.group, "cancel-in-progress": false } } : {}),
    steps: [
      ...driverSetup(),
      { name: job.step.name, env: { ...ENGINE_ENV, ...backendSecretEnv(), TARGET: target, ...job.step.env }, run: job.step.run },
      ...(job.cleanup ? [cleanupOnCancel(target)] : []),
    ],
  };
}
