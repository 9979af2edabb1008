// A step's process in its own process group, and GitHub's cancellation of it: SIGINT to the
// group, SIGTERM 7.5 s later if it is still running, SIGKILL 2.5 s after that.
// https://docs.github.com/actions/reference/workflows-and-actions/workflow-cancellation
import { spawn } from "node:child_process";

export const cancelDelays = { sigtermAfterMs: 7_500, sigkillAfterMs: 2_500 };

export interface StepProcess {
  /** Resolves with the exit code, or null when a signal ended the process. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Runs the cancellation sequence; resolves once the process is gone. Returns the sequence's signals. */
  cancel(): Promise<NodeJS.Signals[]>;
}

export interface SpawnOptions {
  cwd: string;
  env: Record<string, string>;
  onOutput: (chunk: string) => void;
  delays?: typeof cancelDelays;
}

export function spawnStep(argv: string[], options: SpawnOptions): StepProcess {
  const delays = options.delays ?? cancelDelays;
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    env: options.env,
    detached: true, // its own process group, so signals reach the whole step
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.setEncoding("utf8").on("data", options.onOutput);
  child.stderr.setEncoding("utf8").on("data", options.onOutput);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
  // The step's own process; its output may outlive it in children that hold the pipes.
  const processExited = new Promise<void>((resolve) => {
    child.on("exit", () => resolve());
    child.on("error", () => resolve());
  });
  let running = true;
  void processExited.then(() => (running = false));
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is already gone
    }
  };
  const waitExit = (ms: number): Promise<boolean> =>
    Promise.race([
      processExited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref()),
    ]);
  const cancel = async (): Promise<NodeJS.Signals[]> => {
    const sent: NodeJS.Signals[] = [];
    for (const [signal, waitMs] of [
      ["SIGINT", delays.sigtermAfterMs],
      ["SIGTERM", delays.sigkillAfterMs],
      ["SIGKILL", 0],
    ] as const) {
      if (!running) break;
      signalGroup(signal);
      sent.push(signal);
      if (waitMs > 0 && (await waitExit(waitMs))) break;
    }
    // What is left of the group once the step's process is gone goes too, as the runner's
    // clean-up of a cancelled job's processes does.
    await processExited;
    signalGroup("SIGKILL");
    await exited.catch(() => undefined);
    return sent;
  };
  return { exited, cancel };
}
