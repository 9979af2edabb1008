// What a host really runs, in one round trip: its deployment record, the sha256 of the compose
// file on disk, and each app container's service, pinned image and state. The driver compares
// it with what the state says was applied before every switch, and after it.
import { paths, type HostLayout, switchLockName } from "./layout.js";
import { runningServices, parseRunningServices } from "./running.js";
import { sh } from "./shell.js";
import { oneLineMessage, parseDeploymentStatus, readDeploymentStatus, type DeploymentStatus } from "./status.js";

export interface HostObservation {
  /** null when the host has no deployment.json, or when it is unreadable (then `statusProblem` says why). */
  status: DeploymentStatus | null;
  /** Why deployment.json could not be read (garbage, truncated, the wrong shape): the host drifted. */
  statusProblem?: string;
  /** sha256 of the compose file on disk; null when there is none. */
  composeSha256: string | null;
  containers: { service: string; image: string; state: string }[];
}

const marker = "--- awareness observe";

/** Waits (up to `waitSeconds`) for a switch still running on the host, then reads. */
export function observeHost(layout: HostLayout, waitSeconds = 300): string {
  return [
    sh`if [ -d ${layout.appDir} ]; then exec 9>>${`${layout.appDir}/${switchLockName}`} && flock -w ${waitSeconds} 9 || { echo "a switch on this host did not finish within ${waitSeconds} s" >&2; exit 1; }; fi`,
    readDeploymentStatus(layout),
    `echo '${marker} compose'`,
    sh`sha256sum ${paths(layout).composeFile} 2>/dev/null | cut -d' ' -f1`,
    `echo '${marker} containers'`,
    runningServices(layout),
  ].join("\n");
}

export function parseObservation(stdout: string, host?: string): HostObservation {
  const [record = "", compose = "", containers = ""] = stdout.split(new RegExp(`^${marker} \\w+$`, "m"));
  const sha = compose.trim();
  let status: DeploymentStatus | null = null;
  let statusProblem: string | undefined;
  try {
    status = parseDeploymentStatus(record, host);
  } catch (err) {
    // An unreadable record is a fact about the host (a hand edit, a full disk), not a failed read.
    statusProblem = oneLineMessage(err);
  }
  return {
    status,
    ...(statusProblem !== undefined ? { statusProblem } : {}),
    composeSha256: /^[0-9a-f]{64}$/.test(sha) ? sha : null,
    containers: parseRunningServices(containers),
  };
}
