// Secret config values never go on a command line (any local user can read argv in `ps`):
// `pulumi config set --secret KEY` reads the value from stdin instead. The CLI trims exactly
// one trailing newline, so one is added and the value is stored as given.
import { spawn } from "node:child_process";

export interface SecretConfigTarget {
  /** The Pulumi CLI binary. */
  command: string;
  /** The work dir with Pulumi.yaml (where the stack file lives). */
  cwd: string;
  env: Record<string, string>;
  stackName: string;
}

export function setSecretConfig(target: SecretConfigTarget, key: string, value: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(target.command, ["config", "set", "--secret", "--non-interactive", "--stack", target.stackName, key], {
      cwd: target.cwd,
      env: { ...process.env, ...target.env },
      stdio: ["pipe", "ignore", "pipe"],
      ...(signal ? { signal } : {}),
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`setting the secret config ${key} failed (exit ${code}): ${stderr.trim().split("\n")[0] ?? ""}`)),
    );
    child.stdin.end(`${value}\n`);
  });
}
