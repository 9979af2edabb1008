// The driver's CLI as a child process on a test stack, signalled when its progress says so (a
// condition on its stderr, never a fixed sleep): how it exits, what it printed, its JSON report.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../automation/common/process.js";
import type { RunSummary } from "../../automation/report/summary.js";
import type { DriverStack } from "./driver.js";

export interface CliRun {
  code: number | null;
  /** The signal that ended it, when one did (SIGKILL). */
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Seconds from the first signal to the exit. */
  afterSignal: number;
  report: RunSummary | undefined;
}

/**
 * Runs the CLI; `when` is asked after each chunk of its progress (stderr), and every 250 ms, and
 * the signals are sent once the condition holds (never a fixed sleep before the first).
 */
export function runDriverCli(
  on: { ds: DriverStack; stackName: string; graceSeconds?: number },
  args: string[],
  when: (stderr: string) => boolean,
  signals: NodeJS.Signals[] = ["SIGTERM"],
  gapMs = 300,
): Promise<CliRun> {
  const { ds, stackName } = on;
  const reports = join(ds.dir, `reports-${Date.now()}`);
  const child = spawn(join(repoRoot, "node_modules", ".bin", "tsx"), [join(repoRoot, "automation", "cli.ts"), ...args, "--stack", stackName, "--report-dir", reports], {
    cwd: repoRoot,
    env: { ...process.env, ...ds.envVars, PULUMI_BACKEND_URL: ds.backendUrl, AWARENESS_PROJECT_DIR: ds.dir, AWARENESS_CANCEL_GRACE_SECONDS: String(on.graceSeconds ?? 30) },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: a SIGKILL takes the engine and its plugins too, as a lost runner does.
    detached: true,
  });
  let stderr = "";
  let signalledAt = 0;
  const send = (sig: NodeJS.Signals) => {
    try {
      if (sig === "SIGKILL") process.kill(-child.pid!, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  const check = () => {
    if (!signalledAt && when(stderr)) {
      signalledAt = Date.now();
      signals.forEach((sig, i) => setTimeout(() => send(sig), i * gapMs));
    }
  };
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    check();
  });
  // Asked on a timer too, for a condition on the host rather than on the progress.
  const poll = setInterval(check, 250);
  child.stdout.resume();
  return new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      clearInterval(poll);
      const file = existsSync(reports) ? readdirSync(reports).find((f) => f.endsWith(".json")) : undefined;
      resolve({
        code,
        signal,
        stderr,
        afterSignal: signalledAt ? (Date.now() - signalledAt) / 1000 : -1,
        report: file ? (JSON.parse(readFileSync(join(reports, file), "utf8")) as RunSummary) : undefined,
      });
    }),
  );
}

/** `deploy` arguments for a release of these images (and an APP_ENV), without the CI and git checks. */
export const releaseArgs = (id: string, images: Record<string, string>, env?: string) => [
  "deploy", "--release", id, ...Object.entries(images).flatMap(([s, ref]) => ["--image", `${s}=${ref}`]),
  ...(env ? ["--env", `APP_ENV=${env}`] : []), "--skip-ci-check", "--allow-dirty",
];
