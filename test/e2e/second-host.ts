// The sandbox's second host (t2: its own network namespace, sshd and dockerd), for the e2e files
// that deploy to it or reach it: its target and a shell on it over its own sshd.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../automation/common/process.js";
import type { SandboxTarget } from "../../automation/sandbox/target.js";

export const t2File = join(repoRoot, ".sandbox", "target-t2.json");
if (!existsSync(t2File)) throw new Error(`${t2File} is missing: the e2e setup starts the sandbox with --second-host`);
export const t2: SandboxTarget & { dockerHost: string } = JSON.parse(readFileSync(t2File, "utf8"));

/** A command on the second host, over its own sshd; returns stdout. */
export function onT2(command: string): string {
  const r = spawnSync("ssh", ["-i", t2.ssh.privateKeyPath, "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${t2.ssh.knownHostsPath}`,
    "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR", `${t2.ssh.user}@${t2.ssh.host}`, command], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`on t2: ${command}\nexit ${r.status}: ${r.stderr}`);
  return r.stdout;
}
