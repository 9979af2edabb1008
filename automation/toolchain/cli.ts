// Which Pulumi CLI the driver runs: the version pinned in package.json, from the project's
// own build (.tools/bin) or from PATH (e.g. a runner's tool cache). Nothing is downloaded.
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { repoRoot } from "../common/process.js";
import { pinnedToolchain } from "./versions.js";

export class EngineSetupError extends Error {
  override name = "EngineSetupError";
}

/** Finds the Pulumi CLI the toolchain step provided: the project's build, else one on PATH. */
export async function locateCli(): Promise<PulumiCommand> {
  const { cli: version } = pinnedToolchain();
  const candidates: string[] = [join(repoRoot, ".tools")];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, "pulumi"))) candidates.push(resolve(dir, ".."));
  }
  for (const root of candidates) {
    if (!existsSync(join(root, "bin", "pulumi"))) continue;
    const cli = await PulumiCommand.get({ root, skipVersionCheck: true });
    if (cli.version?.version === version) return cli;
  }
  throw new EngineSetupError(
    `No Pulumi CLI v${version} found (looked in .tools/bin and on PATH). ` +
      "Run `npm run setup` (it builds the pinned CLI from Go modules, or uses one on PATH at that version).",
  );
}
