// The stand-ins by the exact `owner/name@commit` the workflows pin: a different pin (or an
// action without a stand-in) fails the step loudly instead of running something else.
import { buildPush, login, setupBuildx } from "./docker.js";
import { checkout } from "./checkout.js";
import type { StandIn } from "./context.js";
import { pulumiActions } from "./pulumi.js";
import { setupNode } from "./setup-node.js";

const standIns: StandIn[] = [checkout, setupNode, pulumiActions, setupBuildx, login, buildPush];

export function standInFor(uses: string): StandIn {
  const found = standIns.find((s) => s.uses === uses);
  if (!found) {
    throw new Error(`no stand-in for 'uses: ${uses}' (the harness has: ${standIns.map((s) => s.uses).join(", ")})`);
  }
  return found;
}
