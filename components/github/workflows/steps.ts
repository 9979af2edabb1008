// Steps and values the workflows share. Untrusted or variable values always reach a shell
// through `env:` (never `${{ }}` inside `run:`), and secrets only appear on the steps that use them.
import { pinnedActions, uses } from "../pins.js";
import type { Step } from "./model.js";

/** Node major the jobs run on: the project's (package.json engines ">=24 <25"). */
export const NODE_VERSION = "24";
/** The official Pulumi CLI the jobs install: the version the project pins (package.json pulumiToolchain.cli). */
export const PULUMI_CLI_VERSION = "3.274.1";
export const RUNNER = "ubuntu-24.04";
/** The driver's entry point (automation/cli.ts), run through the project's tsx. */
export const DRIVER = "npx tsx automation/cli.ts";
/** Environments a deploy or rollback can target (each has a stack of the same name). */
export const DEPLOY_ENVIRONMENTS = ["production", "staging"] as const;

/**
 * Environment secrets the driver reads to open the stack: the passphrase and the backend's
 * credentials (a self-managed backend URL plus its cloud credentials, or a Pulumi Cloud token).
 * A secret that is not set is an empty string, which the engine treats as unset.
 */
export const BACKEND_SECRETS = [
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_BACKEND_URL",
  "PULUMI_ACCESS_TOKEN",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_REGION",
] as const;

export function backendSecretEnv(): Record<string, string> {
  return Object.fromEntries(BACKEND_SECRETS.map((name) => [name, `\${{ secrets.${name} }}`]));
}

/** Quiet, non-interactive engine: no update checks from the runner. */
export const ENGINE_ENV: Record<string, string> = {
  PULUMI_SKIP_UPDATE_CHECK: "true",
};

export function checkout(): Step {
  return {
    name: "Check out the repository",
    uses: uses(pinnedActions.checkout),
    // The token stays out of .git/config: no later step pushes.
    with: { "persist-credentials": false },
  };
}

export function setupNode(): Step {
  return {
    name: `Set up Node.js ${NODE_VERSION}`,
    uses: uses(pinnedActions.setupNode),
    with: { "node-version": NODE_VERSION },
  };
}

/** Installs the official CLI only (no command): the driver runs the engine itself. */
function installPulumi(): Step {
  return {
    name: `Install the Pulumi CLI ${PULUMI_CLI_VERSION}`,
    uses: uses(pinnedActions.pulumi),
    with: { "pulumi-version": PULUMI_CLI_VERSION },
  };
}

export function npmCi(): Step {
  return { name: "Install dependencies", run: "npm ci" };
}

/** checkout, Node, Pulumi CLI, npm ci: what every job that runs the driver starts with. */
export function driverSetup(): Step[] {
  return [checkout(), setupNode(), installPulumi(), npmCi()];
}

/** Shell prologue: fail fast, fail on unset variables and broken pipes. */
export function script(...lines: string[]): string {
  return ["set -euo pipefail", ...lines].join("\n") + "\n";
}

/**
 * The clean-up of a cancelled job (GitHub sends SIGINT, then SIGTERM 7.5 s later, then
 * SIGKILL 2.5 s after that; the driver releases its locks on the first signal when it can):
 * the host lock, only if this run still holds it, and the engine's update lock, unless another
 * run holds the host lock (then that run may be updating the stack).
 */
export function cleanupOnCancel(target: string): Step {
  return {
    name: "On cancel: release this run's host lock and the engine's update lock",
    if: "${{ cancelled() }}",
    env: { ...ENGINE_ENV, ...backendSecretEnv(), TARGET: target },
    run: script(`${DRIVER} unlock --stack "\${TARGET}" --force --run "\${GITHUB_RUN_ID}" --engine`),
  };
}
