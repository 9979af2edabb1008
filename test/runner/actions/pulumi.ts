/**
 * pulumi/actions v6.3.0 with `pulumi-version` and no `command` (install only). The real action:
 * unless a `pulumi` of that version is already on PATH, downloads the CLI release archive,
 * caches its `pulumi/` folder (pulumi and its language hosts) as
 * RUNNER_TOOL_CACHE/pulumi/<version>/x64, adds that folder to PATH, and outputs nothing else.
 * The stand-in: the same folder and PATH entry, filled from the locally built CLI
 * (settings.pulumiCli) whose `pulumi version` must be the one asked for. A `command` input
 * (up, preview, …) is refused: this project runs the engine through its own driver.
 */
import { chmodSync, copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { exec, requireInput, type StandIn } from "./context.js";

export const pulumiActions: StandIn = {
  uses: "pulumi/actions@df5a93ad715135263c732ba288301bd044c383c0",
  async run(ctx) {
    if (ctx.with.command) throw new Error("stand-in: pulumi/actions with a command is not supported");
    const version = requireInput(ctx, "pulumi-version").replace(/^v/, "");
    const cli = ctx.settings.pulumiCli;
    if (!cli) throw new Error("stand-in: no local Pulumi CLI given (standIns.pulumiCli)");
    const have = (await exec(ctx, [cli, "version"])).trim().replace(/^v/, "");
    if (have !== version) throw new Error(`stand-in: pulumi-version ${version} asked for, the local CLI is ${have}`);
    const dir = join(ctx.toolCache, "pulumi", version, "x64");
    mkdirSync(dir, { recursive: true });
    copyFileSync(cli, join(dir, "pulumi"));
    chmodSync(join(dir, "pulumi"), 0o755);
    ctx.addPath(dir);
    ctx.log(`pulumi ${version} installed in ${dir}`);
  },
};
