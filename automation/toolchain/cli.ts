// Which Pulumi CLI the driver runs: the version pinned in package.json, from the project's
// own build (.tools/bin) or from PATH (e.g. a runner's tool cache). Nothing is downloaded.
import { existsSync, mkdirSync, realpathSync, symlinkSync, unlinkSync } from "node:fs";
import { basename, delimiter, dirname, join } from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { repoRoot } from "../common/process.js";
import { pinnedToolchain } from "./versions.js";

export class EngineSetupError extends Error {
  override name = "EngineSetupError";
}

/**
 * Finds the Pulumi CLI at the pinned version: the first `pulumi` on PATH (wherever it lives,
 * e.g. a runner's tool cache), else the project's own build in .tools/bin.
 */
export async function locateCli(): Promise<PulumiCommand> {
  const { cli: version } = pinnedToolchain();
  const found = (process.env.PATH ?? "").split(delimiter).find((dir) => dir && existsSync(join(dir, "pulumi")));
  if (found) {
    const cli = await PulumiCommand.get({ root: rootFor(realpathSync(join(found, "pulumi"))), skipVersionCheck: true }).catch(() => undefined);
    if (cli?.version?.version === version) return cli;
  }
  const own = join(repoRoot, ".tools");
  if (existsSync(join(own, "bin", "pulumi"))) {
    const cli = await PulumiCommand.get({ root: own, skipVersionCheck: true });
    if (cli.version?.version === version) return cli;
  }
  throw new EngineSetupError(
    `No Pulumi CLI v${version} found (looked in .tools/bin and on PATH). ` +
      "Run `npm run setup` (it builds the pinned CLI from Go modules, or uses one on PATH at that version).",
  );
}

/**
 * The SDK runs `<root>/bin/pulumi`. A CLI in a folder not named bin (a runner's tool cache)
 * is reached through a link in .tools/path-cli/bin, so the engine always runs that exact file.
 */
function rootFor(binary: string): string {
  if (basename(dirname(binary)) === "bin") return dirname(dirname(binary));
  const root = join(repoRoot, ".tools", "path-cli");
  mkdirSync(join(root, "bin"), { recursive: true });
  const link = join(root, "bin", "pulumi");
  // unlink, not rmSync({ force }): Node 24's rmSync leaves a dangling link in place (the one a
  // finished test's temp folder leaves), and the symlink below then fails with EEXIST.
  try {
    unlinkSync(link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  symlinkSync(binary, link);
  return root;
}
