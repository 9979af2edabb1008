// Which backend keeps the state and which passphrase opens the secrets (the engine's update
// locks a killed CLI leaves behind: engine-locks.ts).
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../common/process.js";
import { UsageError } from "../common/errors.js";
import { EngineSetupError } from "./cli.js";

/** The project name in Pulumi.yaml; inline programs must use the same one so the stack files apply. */
export const projectName = "awareness";

/**
 * A fixed passphrase, for throwaway local stacks only (the sandbox and test stacks): their
 * secrets are test keys generated on this machine. Any other stack must be given
 * PULUMI_CONFIG_PASSPHRASE (or _FILE) by its operator.
 */
export const localSandboxPassphrase = "awareness-local-sandbox-only";

/** Stacks that may fall back to the documented local passphrase. */
export const localStackNames: readonly string[] = ["sandbox"];

/** Pulumi Cloud's API: PULUMI_ACCESS_TOKEN without PULUMI_BACKEND_URL selects it, as the CLI does. */
export const pulumiCloudUrl = "https://api.pulumi.com";

/** Opt-in for a file backend on a disk the operator knows to be durable and shared (never under GitHub Actions). */
export const allowFileBackendVar = "AWARENESS_ALLOW_FILE_BACKEND";

const isLocalStack = (stackName: string) => localStackNames.includes(stackName) || stackName.startsWith("test-");

/**
 * Where the stack's state lives: `given` (tests), else PULUMI_BACKEND_URL, else Pulumi Cloud when
 * PULUMI_ACCESS_TOKEN is set, else the local `.pulumi-state/`. A file backend is refused for any
 * stack but the local sandbox and test stacks, and always on a GitHub runner: its disk vanishes
 * with the job, and with it the verified releases a rollback needs.
 */
export function backendUrlFor(stackName: string, given?: string, env: NodeJS.ProcessEnv = process.env): string {
  const url = given ?? (env.PULUMI_BACKEND_URL?.trim() || (env.PULUMI_ACCESS_TOKEN ? pulumiCloudUrl : localStateUrl()));
  if (!url.startsWith("file://")) return url;
  const onRunner = env.GITHUB_ACTIONS === "true";
  if (onRunner || (!isLocalStack(stackName) && env[allowFileBackendVar] !== "1")) {
    throw new UsageError(
      `Stack "${stackName}" would keep its state in a file backend (${url})${onRunner ? " on this GitHub runner, whose disk is gone after the job" : ""}: ` +
        "every run would start from an empty history, so verified releases and rollback targets would be lost. " +
        "Set PULUMI_BACKEND_URL to shared durable state (s3://…, azblob://…, gs://…) or PULUMI_ACCESS_TOKEN for Pulumi Cloud" +
        (onRunner ? " (as repository or environment secrets)." : `, or ${allowFileBackendVar}=1 when ${url} is on a durable shared disk.`),
    );
  }
  return url;
}

function localStateUrl(): string {
  const dir = join(repoRoot, ".pulumi-state");
  mkdirSync(dir, { recursive: true });
  return `file://${dir}`;
}

export function passphraseFor(stackName: string, given?: string): string | undefined {
  if (given !== undefined) return given;
  if (process.env.PULUMI_CONFIG_PASSPHRASE !== undefined) return process.env.PULUMI_CONFIG_PASSPHRASE;
  if (process.env.PULUMI_CONFIG_PASSPHRASE_FILE) return undefined; // the CLI reads the file itself
  if (localStackNames.includes(stackName) || stackName.startsWith("test-")) return localSandboxPassphrase;
  throw new EngineSetupError(
    `PULUMI_CONFIG_PASSPHRASE is not set. Stack "${stackName}" keeps its secrets (SSH key, env) encrypted ` +
      "with a passphrase: export PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) and run again.",
  );
}

/** Whether the work dir has the stack's own config file (Pulumi.<stack>.yaml). */
export function hasStackFile(workDir: string, stackName: string): boolean {
  try {
    return readdirSync(workDir).some((f) => f === `Pulumi.${stackName}.yaml` || f === `Pulumi.${stackName}.yml`);
  } catch {
    return false;
  }
}

// The runner clears stale update locks through this module's door, whatever the backend.
export { clearStaleEngineLock } from "./engine-locks.js";
