// A benchmark's sandbox: brought up before it runs, stopped again after unless it was already
// up (or KEEP_SANDBOX=1); a failure prints its stack and sets the exit code.
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../automation/common/process.js";
import { readSandboxTarget, type SandboxTarget } from "../../automation/sandbox/target.js";

export function runOnSandbox(bench: (target: SandboxTarget) => Promise<void>): void {
  const sandbox = join(repoRoot, "test", "sandbox", "sandbox.sh");
  const wasUp = spawnSync("bash", [sandbox, "status"]).status === 0;
  execFileSync("bash", [sandbox, "up"], { stdio: ["ignore", "ignore", "inherit"] });
  bench(readSandboxTarget(repoRoot))
    .catch((err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      if (!wasUp && process.env.KEEP_SANDBOX !== "1") execFileSync("bash", [sandbox, "down"], { stdio: "ignore" });
    });
}
