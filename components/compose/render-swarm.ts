// The stack file for engine swarm (`docker stack deploy`): the same services and pinned images
// as the compose file, on the host network, each with Swarm's own update and rollback policy.
// Same inputs -> same bytes.
import { Scalar, stringify } from "yaml";
import type { ServiceConfig, SwarmConfig } from "../config/schema.js";
import { envFileName } from "../host-commands/layout.js";

const sorted = <T>(record: Record<string, T>): [string, T][] => Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const quoted = (value: string) => Object.assign(new Scalar(value), { type: Scalar.QUOTE_DOUBLE });
/** The external network every service joins: the node's own (no overlay, no routing mesh needed). */
export const swarmHostNetwork = "hostnet";

const restartCondition = { no: "none", always: "any", "unless-stopped": "any", "on-failure": "on-failure" } as const;

/**
 * Updates are stop-first: a task on the host network holds its port, so a new task beside it
 * on the same node could never bind it. failure_action rollback: a task that fails to start or
 * its healthcheck within `monitorSeconds` sends the service back to its previous spec.
 */
export function renderSwarmStackFile(input: { services: Record<string, ServiceConfig>; images: Record<string, string>; swarm: SwarmConfig }): string {
  const services: Record<string, unknown> = {};
  const volumes = new Set<string>();
  const monitor = `${input.swarm.monitorSeconds}s`;
  for (const [name, svc] of sorted(input.services)) {
    const image = Object.hasOwn(input.images, name) ? input.images[name] : undefined;
    if (!image) throw new Error(`no pinned image for service "${name}"`);
    const def: Record<string, unknown> = { image };
    if (svc.releaseEnv) def.env_file = [envFileName];
    const env = sorted(svc.environment);
    // The stack file is interpolated like a compose file: "$$" is a literal dollar.
    if (env.length > 0) def.environment = Object.fromEntries(env.map(([k, v]) => [k, quoted(v.replace(/\$/g, "$$$$"))]));
    if (svc.volumes.length > 0) {
      def.volumes = [...svc.volumes];
      for (const v of svc.volumes) volumes.add(v.slice(0, v.indexOf(":")));
    }
    def.networks = [swarmHostNetwork];
    def.deploy = {
      mode: input.swarm.mode,
      // On the host network a task holds its port on its node: two tasks of a service on one node could never both bind it.
      ...(input.swarm.mode === "replicated" ? { replicas: input.swarm.replicas, placement: { max_replicas_per_node: 1 } } : {}),
      update_config: { parallelism: 1, order: "stop-first", failure_action: "rollback", monitor },
      rollback_config: { parallelism: 1, order: "stop-first", monitor },
      restart_policy: { condition: restartCondition[svc.restart] },
    };
    services[name] = def;
  }
  const doc: Record<string, unknown> = { version: "3.8", services, networks: { [swarmHostNetwork]: { external: true, name: "host" } } };
  if (volumes.size > 0) doc.volumes = Object.fromEntries([...volumes].sort().map((v) => [v, {}]));
  return `# Written by the awareness Pulumi program (engine swarm): edits here are replaced by the next deploy.\n${stringify(doc, { lineWidth: 0 })}`;
}
