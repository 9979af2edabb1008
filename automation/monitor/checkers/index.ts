// The checkers a stack's health config asks for, as one: the endpoints (from the driver over
// HTTP, or from the host over SSH), then each extra check (exec in a container, a metrics query).
import type { HealthCheck, StackConfig } from "../../../components/config/schema.js";
import { hostLayoutOf } from "../../../components/host-commands/layout.js";
import type { HostExec as SshExec } from "../../host/ssh.js";
import { hostProber } from "../host-prober.js";
import { httpProber } from "../probers.js";
import { allOf, asChecker, type Checker } from "./checker.js";
import { execChecker } from "./exec.js";
import { prometheusChecker } from "./prometheus.js";

export { allOf, asChecker, type Checker } from "./checker.js";

/** The name a check's samples carry in rounds and reports. */
export function checkName(check: HealthCheck): string {
  if (check.name) return check.name;
  if (check.kind === "exec") return `exec ${check.service}: ${check.command.join(" ").slice(0, 60)}`;
  return `prometheus ${check.query.slice(0, 60)} ${check.op} ${check.value}`;
}

/** How many checks a round of this config makes (the verdict and precheck plan with it). */
export function checksPerRoundOf(health: Pick<StackConfig["health"], "endpoints" | "checks">): number {
  return health.endpoints.length + health.checks.length;
}

export function checkersFor(config: StackConfig, host: () => SshExec): Checker {
  const timeoutMs = Math.round(config.health.probeTimeoutSeconds * 1000);
  const endpointArgs = { baseUrl: config.health.baseUrl, endpoints: config.health.endpoints, timeoutMs };
  const endpoints =
    config.health.probeMode === "ssh"
      ? hostProber({ ...endpointArgs, exec: (command) => host().run(command, { timeoutMs: timeoutMs * config.health.endpoints.length + 15_000 }) })
      : httpProber(endpointArgs);
  // Exec checks and host probes run on the primary host, like the lock.
  const layout = hostLayoutOf(config, config.hosts[0]!);
  const extra = config.health.checks.map((check): Checker => {
    const name = checkName(check);
    if (check.kind === "exec") {
      return execChecker({ name, layout, service: check.service, command: check.command, timeoutSeconds: check.timeoutSeconds, exec: (command) => host().run(command, { timeoutMs: check.timeoutSeconds * 1000 + 15_000 }) });
    }
    return prometheusChecker({ name, url: check.url, query: check.query, op: check.op, value: check.value, timeoutMs });
  });
  return allOf([asChecker(endpoints, config.health.endpoints.length), ...extra]);
}
