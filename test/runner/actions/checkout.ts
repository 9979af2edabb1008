/**
 * actions/checkout v5.0.0. The real action: empties GITHUB_WORKSPACE (input `path`), fetches the
 * repository at github.sha (input `ref`) with fetch-depth 1, checks it out detached, and with
 * `persist-credentials: true` (its default) keeps the token in the local git config.
 * The stand-in: `git clone` of the harness's repository into the workspace, then a detached
 * checkout of the sha (a full clone: the driver may read history). Credentials are never stored;
 * `persist-credentials: true` is refused, since this project always passes false.
 */
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { exec, type StandIn } from "./context.js";

export const checkout: StandIn = {
  uses: "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8",
  async run(ctx) {
    if (ctx.with["persist-credentials"] !== "false") throw new Error("stand-in: only persist-credentials: false is supported");
    const target = resolve(ctx.workspace, ctx.with.path ?? ".");
    if (readdirSync(target).length > 0) throw new Error(`stand-in: ${target} is not empty`);
    const ref = ctx.with.ref || ctx.sha;
    await exec(ctx, ["git", "clone", "--quiet", "--no-checkout", ctx.repo, target]);
    await exec(ctx, ["git", "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", ref], target);
    ctx.log(`checked out ${ref} into ${target}`);
  },
};
