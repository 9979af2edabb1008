// One step's execution: a `run:` script in its shell, or a `uses:` stand-in, each with fresh
// GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH / GITHUB_STEP_SUMMARY files read back afterwards.
import { constants as osConstants } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { standInFor } from "./actions/index.js";
import { readKeyValueFile, readPathFile } from "./env-files.js";
import { spawnStep } from "./process.js";
import { shellCommand } from "./shell.js";
import type { RunJobOptions, StepOutcome } from "./types.js";

export type StepAction =
  | { kind: "run"; script: string; shell: string; workingDirectory: string }
  | { kind: "uses"; uses: string; with: Record<string, string> };

export interface StepRun {
  number: number;
  action: StepAction;
  env: Record<string, string>;
  workspace: string;
  temp: string;
  toolCache: string;
  timeoutMinutes?: number;
  options: RunJobOptions;
  /** Cancels the step (GitHub's SIGINT/SIGTERM/SIGKILL sequence); undefined once it is not cancellable. */
  cancelled: AbortSignal | undefined;
  onOutput: (chunk: string) => void;
}

export interface StepResult {
  outcome: StepOutcome;
  exitCode?: number | null;
  signals?: string[];
  error?: string;
  outputs: Record<string, string>;
  env: Record<string, string>;
  path: string[];
  summary: string;
}

export async function executeStep(step: StepRun): Promise<StepResult> {
  const files = {
    GITHUB_OUTPUT: join(step.temp, `_runner_file_commands/set_output_${step.number}`),
    GITHUB_ENV: join(step.temp, `_runner_file_commands/set_env_${step.number}`),
    GITHUB_PATH: join(step.temp, `_runner_file_commands/add_path_${step.number}`),
    GITHUB_STEP_SUMMARY: join(step.temp, `_runner_file_commands/step_summary_${step.number}`),
  };
  for (const file of Object.values(files)) writeFileSync(file, "");
  const env = { ...step.env, ...files };
  const result: StepResult = { outcome: "success", outputs: {}, env: {}, path: [], summary: "" };
  try {
    if (step.action.kind === "run") Object.assign(result, await runScript(step, step.action, env));
    else await runStandIn(step, step.action, env, files.GITHUB_OUTPUT, files.GITHUB_PATH);
  } catch (error) {
    result.outcome = "failure";
    result.error = (error as Error).message;
    step.onOutput(`##[error]${result.error}\n`);
  }
  result.outputs = readKeyValueFile(files.GITHUB_OUTPUT);
  result.env = readKeyValueFile(files.GITHUB_ENV);
  result.path = readPathFile(files.GITHUB_PATH);
  result.summary = readFileSync(files.GITHUB_STEP_SUMMARY, "utf8");
  return result;
}

async function runScript(
  step: StepRun,
  action: Extract<StepAction, { kind: "run" }>,
  env: Record<string, string>,
): Promise<Partial<StepResult>> {
  const cwd = join(step.workspace, action.workingDirectory);
  if (!existsSync(cwd)) throw new Error(`working-directory ${action.workingDirectory} does not exist`);
  const argv = shellCommand(action.shell, action.script, step.temp, step.number);
  const child = spawnStep(argv, { cwd, env, onOutput: step.onOutput, delays: step.options.cancelDelays });
  let signals: Promise<NodeJS.Signals[]> | undefined;
  let why = "cancelled" as StepOutcome;
  const stop = (reason: StepOutcome): void => {
    if (signals) return;
    why = reason;
    signals = child.cancel();
  };
  const onCancel = (): void => stop("cancelled");
  if (step.cancelled?.aborted) onCancel();
  step.cancelled?.addEventListener("abort", onCancel, { once: true });
  const timer = step.timeoutMinutes ? setTimeout(() => stop("failure"), step.timeoutMinutes * 60_000) : undefined;
  try {
    const exit = await child.exited;
    // As the runner (.NET) reports a process a signal ended: 128 + the signal's number.
    const code = exit.code ?? (exit.signal ? 128 + osConstants.signals[exit.signal] : null);
    const sent = signals ? await signals : undefined;
    if (sent) {
      const error = why === "failure" ? `The action has timed out (timeout-minutes: ${step.timeoutMinutes}).` : "The operation was canceled.";
      return { outcome: why, exitCode: code, signals: sent, error };
    }
    return code === 0 ? { outcome: "success", exitCode: 0 } : { outcome: "failure", exitCode: code, error: `Process completed with exit code ${code}.` };
  } finally {
    clearTimeout(timer);
    step.cancelled?.removeEventListener("abort", onCancel);
  }
}

async function runStandIn(
  step: StepRun,
  action: Extract<StepAction, { kind: "uses" }>,
  env: Record<string, string>,
  outputFile: string,
  pathFile: string,
): Promise<void> {
  const standIn = standInFor(action.uses);
  const append = (file: string, line: string): void => writeFileSync(file, `${line}\n`, { flag: "a" });
  await standIn.run({
    with: action.with,
    env,
    workspace: step.workspace,
    runnerTemp: step.temp,
    toolCache: step.toolCache,
    repo: step.options.repo,
    sha: step.options.sha,
    settings: step.options.standIns ?? {},
    addPath: (dir) => append(pathFile, dir),
    setOutput: (name, value) => append(outputFile, `${name}<<__standin_eof__\n${value}\n__standin_eof__`),
    log: (line) => step.onOutput(`${line}\n`),
  });
}
