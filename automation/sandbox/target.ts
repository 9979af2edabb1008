// The embedded default target: maps the local sandbox (.sandbox/target.json, written by
// `test/sandbox/sandbox.sh up`) to the config of a stack deploying the demo app there, with
// monitor timings scaled down to seconds. The demo and the e2e tests share it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import type { EngineDoor } from "../runner.js";

export interface SandboxTarget {
  ssh: { host: string; port: number; user: string; privateKeyPath: string; hostPublicKey: string; knownHostsPath: string };
  registry: string;
  /** The blue-green proxy (Caddy) built for the sandbox: registry/awareness-caddy:<version>. */
  proxyImage?: string;
  /** The sandbox daemon (DOCKER_HOST) and the busybox base the demo images build FROM (imported, no Hub). */
  dockerHost?: string;
  baseImage?: string;
  appDir: string;
  composeCommands: string[];
  app: { baseUrl: string; ports: { backend: number; frontend: number } };
  /** Per release, per service: repo@sha256:… */
  releases: Record<string, Record<string, string>>;
  /** Per release, per service: repo:tag */
  tags: Record<string, Record<string, string>>;
}

export function readSandboxTarget(repoRoot: string): SandboxTarget {
  return JSON.parse(readFileSync(join(repoRoot, ".sandbox", "target.json"), "utf8")) as SandboxTarget;
}

export interface SandboxStackOptions {
  composeCommand?: "docker compose" | "docker-compose";
  /** Default: the target's appDir. Tests use their own so they never touch another's files. */
  appDir?: string;
  /** Default: "awareness". */
  composeProject?: string;
  /** Ports the app listens on (host network). Default: the target's. */
  ports?: { backend: number; frontend: number };
  /** Deploy by tag (resolved to a digest on the host) instead of the target's digests. */
  byTag?: boolean;
  /** Wait for the images' healthchecks after `up -d`. Default: true. */
  waitHealthy?: boolean;
  /** Override single images (e.g. a missing one). */
  images?: Record<string, string>;
  gitSha?: string;
  /** Plain env of the release and secret env (set as Pulumi secrets). */
  env?: Record<string, string>;
  secretEnv?: Record<string, string>;
  /** Raw values placed over the result (e.g. hostile ones), JSON-encoded when not strings. */
  overrides?: Record<string, unknown>;
}

/** The stack config map (keys "awareness:…"; the SSH key and secret env marked secret). */
export function sandboxStackConfig(target: SandboxTarget, releaseId: string, opts: SandboxStackOptions = {}): ConfigMap {
  const images = opts.byTag ? target.tags[releaseId] : target.releases[releaseId];
  if (!images) throw new Error(`the sandbox has no release "${releaseId}" (has: ${Object.keys(target.releases).join(", ")})`);
  const ports = opts.ports ?? target.app.ports;
  const waitHealthy = opts.waitHealthy ?? true;
  const json = (v: unknown) => ({ value: JSON.stringify(v) });
  const config: ConfigMap = {
    "awareness:hosts": json([
      { name: "sandbox", host: target.ssh.host, port: target.ssh.port, user: target.ssh.user, hostKey: target.ssh.hostPublicKey },
    ]),
    "awareness:sshPrivateKey": { value: readFileSync(target.ssh.privateKeyPath, "utf8"), secret: true },
    "awareness:appDir": { value: opts.appDir ?? target.appDir },
    "awareness:composeProject": { value: opts.composeProject ?? "awareness" },
    "awareness:composeCommand": { value: opts.composeCommand ?? "docker compose" },
    "awareness:services": json({
      backend: { environment: { PORT: String(ports.backend) }, waitHealthy },
      frontend: { environment: { PORT: String(ports.frontend) }, dependsOn: ["backend"], waitHealthy, releaseEnv: false },
    }),
    "awareness:release": json({
      id: releaseId,
      ...(opts.gitSha ? { gitSha: opts.gitSha } : {}),
      images: { ...images, ...opts.images },
      env: opts.env ?? { APP_ENV: "sandbox" },
    }),
    "awareness:secretEnv": { value: JSON.stringify(opts.secretEnv ?? { SESSION_SECRET: "sandbox-session-secret" }), secret: true },
    "awareness:health": json({
      baseUrl: `http://127.0.0.1:${ports.backend}`,
      endpoints: ["/api/health", "/api/docs", "/api/auth/status"],
      // 1.5 s: short enough that v4 (3 s) fails three rounds in a row within the 4 s watch,
      // with room for a busy 2-core machine.
      probeTimeoutSeconds: 1.5,
      probeMode: "http",
    }),
    // Seconds instead of minutes: the same rules, fast enough for tests and the demo.
    "awareness:monitor": json({ durationSeconds: 4, intervalSeconds: 0.5, consecutiveFailures: 3, successRate: 0.95 }),
    "awareness:backups": json({ retain: 3 }),
    "awareness:precheck": json({ minFreeDiskMb: 256, minFreeMemoryMb: 64 }),
    "awareness:rollout": json({ startTimeoutSeconds: 30, stableChecks: 2 }),
  };
  for (const [key, value] of Object.entries(opts.overrides ?? {})) {
    config[key] = { value: typeof value === "string" ? value : JSON.stringify(value) };
  }
  return config;
}

/** Plain key -> value map, the shape parseStackConfig takes. */
export function rawConfig(config: ConfigMap): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value]));
}

/** Replaces the stack's "awareness:" config with the sandbox config for `releaseId`. */
export async function applySandboxStackConfig(
  engine: Pick<EngineDoor, "getConfig" | "setConfig" | "removeConfig">,
  target: SandboxTarget,
  releaseId: string,
  opts: SandboxStackOptions = {},
): Promise<ConfigMap> {
  const config = sandboxStackConfig(target, releaseId, opts);
  const existing = await engine.getConfig();
  await engine.removeConfig(Object.keys(existing).filter((k) => k.startsWith("awareness:") && !(k in config)));
  await engine.setConfig(config);
  return config;
}
