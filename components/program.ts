// THE program: stack config -> components -> stack outputs. The plain CLI runs it through
// index.ts; the driver runs the same function inline through the Automation API.
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "./config/parse.js";
import { GitHubDelivery } from "./github/delivery.js";
import { hostDisplayName, type HostConfig, type StackConfig } from "./config/schema.js";
import { hostLayoutOf } from "./host-commands/layout.js";
import { RemoteComposeStack } from "./remote-compose-stack.js";

/** The SSH connection of one host; the private key only ever as a secret. */
function connectionOf(cfg: StackConfig, host: HostConfig) {
  const key = host.privateKey ?? cfg.sshPrivateKey;
  return {
    host: host.host,
    port: host.port,
    user: host.user,
    privateKey: pulumi.secret(key!),
    ...(host.hostKey ? { hostKey: host.hostKey } : {}),
  };
}

/** Declares the app on every configured host from an already validated config. */
export function declareStack(cfg: StackConfig): Record<string, unknown> {
  const registryAuth = cfg.registryAuth
    ? { ...cfg.registryAuth, password: pulumi.secret(cfg.registryAuth.password) }
    : undefined;
  const stacks = cfg.hosts.map((host) => {
    const hostName = hostDisplayName(host);
    return new RemoteComposeStack(`awareness-${hostName}`, {
      connection: connectionOf(cfg, host),
      hostName,
      layout: hostLayoutOf(cfg, host),
      services: cfg.services,
      // A host a batched rollout has not reached yet keeps its release (stages/rollout.ts).
      release: cfg.hostReleases[hostName] ?? cfg.release,
      secretEnv: pulumi.secret(cfg.secretEnv),
      ...(host.env ? { hostEnv: host.env } : {}),
      retainBackups: cfg.backups.retain,
      startTimeoutSeconds: cfg.rollout.startTimeoutSeconds,
      stableChecks: cfg.rollout.stableChecks,
      imageResolver: cfg.imageResolver,
      ...(registryAuth ? { registryAuth } : {}),
      reconcileToken: cfg.reconcile[hostName],
    });
  });
  const first = stacks[0]!;
  // The GitHub part (workflows, environments) only when awareness:github is configured.
  const github = cfg.github ? new GitHubDelivery("awareness-github", { github: cfg.github }) : undefined;
  return {
    ...(github ? { github: { repository: github.repository } } : {}),
    release: first.release,
    backups: first.backups,
    deploymentStatusPath: first.deploymentStatusPath,
    hosts: Object.fromEntries(
      stacks.map((s, i) => [hostDisplayName(cfg.hosts[i]!), { release: s.release, backups: s.backups }]),
    ),
  };
}

/** The one program function. Config is validated before any resource (or SSH connection) exists. */
export async function awarenessProgram(): Promise<Record<string, unknown>> {
  const cfg = parseStackConfig(pulumi.runtime.allConfig());
  return declareStack(cfg);
}
