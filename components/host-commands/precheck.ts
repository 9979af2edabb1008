// Prechecks the driver runs on the host before a deploy: free disk and memory, docker and
// compose versions. One command, key=value lines, parsed and judged by pure functions.
import { raw, sh } from "./shell.js";
import type { HostLayout } from "./layout.js";

export function precheckProbe(layout: HostLayout): string {
  const composeVersion =
    layout.composeCommand === "docker compose" ? "docker compose version --short" : "docker-compose version --short";
  return [
    // The app dir's own file system (its nearest existing folder on a first deploy).
    sh`d=${layout.appDir}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done`,
    `echo "disk_path=$d"`,
    `echo "disk_free_mb=$(df -Pm "$d" | awk 'NR==2 {print $4}')"`,
    `echo "mem_available_mb=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)"`,
    `echo "docker_server=$(docker version --format '{{.Server.Version}}' 2>/dev/null | head -n 1)"`,
    sh`echo "compose=$(${raw(composeVersion)} 2>/dev/null | head -n 1)"`,
    `echo "flock=$(command -v flock >/dev/null 2>&1 && echo yes || echo no)"`,
  ].join("\n");
}

export interface PrecheckReport {
  diskFreeMb: number | null;
  /** Where the free disk was measured: the app dir, or its nearest existing folder. */
  diskPath: string | null;
  memAvailableMb: number | null;
  dockerServer: string | null;
  compose: string | null;
  /** `flock` (util-linux or busybox): switches and observations serialise on it. */
  flock: boolean;
}

export function parsePrecheck(stdout: string): PrecheckReport {
  const f = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) f.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const num = (k: string) => (f.get(k) && /^\d+$/.test(f.get(k)!) ? Number(f.get(k)) : null);
  const str = (k: string) => (f.get(k) ? f.get(k)! : null);
  return {
    diskFreeMb: num("disk_free_mb"),
    diskPath: str("disk_path"),
    memAvailableMb: num("mem_available_mb"),
    dockerServer: str("docker_server"),
    compose: str("compose"),
    flock: f.get("flock") === "yes",
  };
}

/** Each failed check as a sentence with the next step; empty when all pass. */
export function judgePrecheck(report: PrecheckReport, floors: { minFreeDiskMb: number; minFreeMemoryMb: number }): string[] {
  const failures: string[] = [];
  const at = report.diskPath ? ` at ${report.diskPath}` : "";
  if (report.diskFreeMb === null) failures.push(`free disk space could not be read on the host${at}`);
  else if (report.diskFreeMb < floors.minFreeDiskMb)
    failures.push(`only ${report.diskFreeMb} MB free disk${at} (need ${floors.minFreeDiskMb} MB): free space on the host`);
  if (report.memAvailableMb === null) failures.push("available memory could not be read on the host");
  else if (report.memAvailableMb < floors.minFreeMemoryMb)
    failures.push(`only ${report.memAvailableMb} MB memory available (need ${floors.minFreeMemoryMb} MB)`);
  if (!report.dockerServer) failures.push("docker is not running or not reachable for the SSH user");
  if (!report.compose) failures.push("the configured compose command is not installed on the host");
  if (!report.flock) failures.push("flock is not installed on the host (util-linux): the docker and compose switch needs it");
  return failures;
}
