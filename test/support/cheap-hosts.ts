// A fleet of cheap hosts on the one sandbox host: each "host" is the sandbox's sshd with its own
// app dir, compose project and port (awareness:hosts[].appDir/.composeProject/.env), so N hosts
// cost N small containers, not N machines. The app is the demo backend alone: it listens on
// $PORT, which each host's own env sets.
import { spawnSync } from "node:child_process";
import type { SandboxTarget } from "../../automation/sandbox/target.js";

export interface CheapHost {
  name: string;
  appDir: string;
  composeProject: string;
  port: number;
}

/** `count` hosts named `<prefix>-1..count`, ports from `basePort` up. */
export function cheapHosts(target: SandboxTarget, prefix: string, count: number, basePort: number): CheapHost[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${i + 1}`,
    appDir: `${target.appDir}-${prefix}-${i + 1}`,
    composeProject: `awareness-${prefix}-${i + 1}`,
    port: basePort + i,
  }));
}

/** Config over applySandboxStackConfig's: the hosts, the backend alone, each host watched at its own port. */
export function cheapFleetOverrides(
  target: SandboxTarget,
  hosts: readonly CheapHost[],
  release: { id: string; env?: Record<string, string> },
  rollout: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    "awareness:hosts": hosts.map((h) => ({
      name: h.name,
      host: target.ssh.host,
      port: target.ssh.port,
      user: target.ssh.user,
      hostKey: target.ssh.hostPublicKey,
      appDir: h.appDir,
      composeProject: h.composeProject,
      env: { PORT: String(h.port) },
      healthBaseUrl: `http://127.0.0.1:${h.port}`,
    })),
    "awareness:services": { backend: { waitHealthy: true } },
    "awareness:release": { id: release.id, images: { backend: target.releases.v1!.backend }, env: release.env ?? { APP_ENV: "sandbox" } },
    "awareness:health": {
      baseUrl: `http://127.0.0.1:${hosts[0]!.port}`,
      endpoints: ["/api/health", "/api/auth/status"],
      probeTimeoutSeconds: 1.5,
      probeMode: "http",
    },
    "awareness:rollout": { startTimeoutSeconds: 60, stableChecks: 2, ...rollout },
  };
}

/** Removes the hosts' containers and app dirs (the demo backend uses no volumes). */
export function clearCheapHosts(target: SandboxTarget, hosts: readonly CheapHost[]): void {
  // One filter per project: docker ps ANDs repeated label filters.
  const command = `for p in ${hosts.map((h) => h.composeProject).join(" ")}; do ids=$(docker ps -a -q --filter label=com.docker.compose.project=$p); ` +
    `[ -z "$ids" ] || docker rm -f $ids >/dev/null; done; rm -rf ${hosts.map((h) => h.appDir).join(" ")}`;
  const r = spawnSync(
    "ssh",
    ["-i", target.ssh.privateKeyPath, "-p", String(target.ssh.port), "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${target.ssh.knownHostsPath}`,
      "-o", "LogLevel=ERROR", `${target.ssh.user}@${target.ssh.host}`, command],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`clearing ${hosts.length} cheap hosts: exit ${r.status}: ${r.stderr}`);
}
