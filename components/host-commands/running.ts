import { projectFilters, type HostLayout } from "./layout.js";
import { swarmServices } from "./swarm.js";

/** One line per project container: "<service> <image as pinned> <state>". */
export function runningServices(layout: HostLayout): string {
  if (layout.swarm) return swarmServices(layout);
  return `for id in $(docker ps -a -q ${projectFilters(layout)}); do docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}} {{.Config.Image}} {{.State.Status}}' "$id"; done | sort`;
}

export function parseRunningServices(stdout: string): { service: string; image: string; state: string }[] {
  return stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3)
    .map(([service, image, state]) => ({ service: service!, image: image!, state: state! }));
}
