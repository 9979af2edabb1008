// Wires the stack's health config to the monitor: which prober (HTTP from the driver, or
// from the host itself over SSH), which policy, and progress lines per round.
import type { StackConfig } from "../../components/config/schema.js";
import type { Logger } from "../common/log.js";
import { emitEvent } from "../events/emitter.js";
import { roundEvents, verdictEvent, watchStartedEvent } from "../events/watch-events.js";
import type { HostExec } from "../host/ssh.js";
import { runMonitor, type Clock, type MonitorReport } from "./monitor.js";
import { checkersFor, checksPerRoundOf } from "./checkers/index.js";
import type { Prober } from "./probers.js";
import { monitorPolicyFromConfig, type MonitorPolicy } from "./policy.js";

/** Every check of a round: the endpoints and the extra checks (exec, prometheus), as one prober. */
export function proberFor(config: StackConfig, host: () => HostExec): Prober {
  return checkersFor(config, host);
}

/** "3 endpoints" or "3 endpoints, 1 exec and 1 prometheus check". */
export function checksOfRound(health: StackConfig["health"]): string {
  const kinds = (["exec", "prometheus"] as const).map((kind) => [kind, health.checks.filter((c) => c.kind === kind).length] as const).filter(([, n]) => n > 0);
  const endpoints = `${health.endpoints.length} endpoint${health.endpoints.length === 1 ? "" : "s"}`;
  if (kinds.length === 0) return endpoints;
  return `${endpoints}, ${kinds.map(([kind, n]) => `${n} ${kind}`).join(" and ")} check${health.checks.length === 1 ? "" : "s"}`;
}

export function policyFor(config: StackConfig): MonitorPolicy {
  return { ...monitorPolicyFromConfig(config.monitor, config.health), checksPerRound: checksPerRoundOf(config.health) };
}

/** Watches a release: its plan, each round (its probes) and the verdict go to the run's events (a line each in plain mode). */
export async function watchRelease(args: {
  releaseId: string;
  config: StackConfig;
  host: () => HostExec;
  log: Logger;
  clock?: Clock;
  policy?: MonitorPolicy;
  prober?: Prober;
  /** Stops the watch (SIGTERM): the verdict is then "failed" with reason "aborted". */
  signal?: AbortSignal | undefined;
}): Promise<MonitorReport> {
  const policy = args.policy ?? policyFor(args.config);
  const prober = args.prober ?? proberFor(args.config, args.host);
  emitEvent(args.log, watchStartedEvent(args.releaseId, policy, checksOfRound(args.config.health)));
  const eventsOf = roundEvents(args.config.health);
  const report = await runMonitor({
    policy,
    prober,
    clock: args.clock,
    ...(args.signal ? { signal: args.signal } : {}),
    onRound: (round, verdict) => eventsOf(round, verdict).forEach((e) => emitEvent(args.log, e)),
  });
  emitEvent(args.log, verdictEvent(args.releaseId, report));
  return report;
}
