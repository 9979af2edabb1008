/**
 * actions/setup-node v5.0.0. The real action: finds `node-version` in RUNNER_TOOL_CACHE or
 * downloads it from nodejs.org into RUNNER_TOOL_CACHE/node/<version>/x64, adds its `bin` (node,
 * npm, npx) to PATH, registers problem matchers, outputs `node-version`; v5 also turns on the
 * npm cache when package.json names a packageManager (this project's does not).
 * The stand-in: the Node running the harness (the project's pinned Node) must match the
 * requested major version; it is linked into RUNNER_TOOL_CACHE/node/<version>/x64/bin, which
 * goes on PATH. npm and npx are the runner image's own (they run on the first node on PATH).
 */
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { requireInput, type StandIn } from "./context.js";

export const setupNode: StandIn = {
  uses: "actions/setup-node@a0853c24544627f65ddf259abe73b1d18a591444",
  async run(ctx) {
    const wanted = requireInput(ctx, "node-version");
    const have = process.versions.node;
    if (!`${have}.`.startsWith(`${wanted.replace(/^v/, "").replace(/\.x$/, "")}.`)) {
      throw new Error(`stand-in: node-version ${wanted} asked for, the harness runs Node ${have}`);
    }
    const bin = join(ctx.toolCache, "node", have, "x64", "bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, "node"));
    ctx.addPath(bin);
    ctx.setOutput("node-version", `v${have}`);
  },
};
