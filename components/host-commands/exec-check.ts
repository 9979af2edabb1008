// A health check run inside a service container (a database or Redis ping), bounded on the
// host by timeout(1) (coreutils and busybox alike): exit 0 passes, 124 is the timeout.
import { composeCli, type HostLayout } from "./layout.js";
import { raw, sh } from "./shell.js";
import { swarmServiceContainer } from "./swarm.js";

/** `timeout <s> docker compose -p P -f FILE exec -T <service> <command…>`, every value quoted. */
export function execInService(layout: HostLayout, args: { service: string; command: readonly string[]; timeoutSeconds: number }): string {
  if (args.command.length === 0) throw new Error("an exec check needs a command");
  if (!Number.isInteger(args.timeoutSeconds) || args.timeoutSeconds < 1) throw new Error("an exec check's timeout is a whole number of seconds >= 1");
  if (layout.swarm) {
    // A task of the service on this node (the manager); the check fails when none runs here.
    return sh`c=$(${raw(swarmServiceContainer(layout, args.service))}); [ -n "$c" ] || { echo ${`no task of ${args.service} runs on this node`} >&2; exit 1; }; timeout ${args.timeoutSeconds} docker exec "$c" ${args.command}`;
  }
  return sh`timeout ${args.timeoutSeconds} ${raw(composeCli(layout, "exec", "-T"))} ${args.service} ${args.command}`;
}

/** The exit code timeout(1) gives a command it stopped. */
export const execTimedOutCode = 124;
