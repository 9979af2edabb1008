// Provider plugins: the official ones whenever installed; offline, the project's test-only
// command plugin stands in for the local sandbox stack and the tests. One detection of the
// official plugin serves the driver, the demo and the tests.
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { LocalWorkspace } from "@pulumi/pulumi/automation/index.js";
import { firstLine } from "../common/errors.js";
import { repoRoot } from "../common/process.js";
import { EngineSetupError } from "./cli.js";
import { pluginFor, type PluginRequirement } from "./versions.js";

export class PluginMissingError extends EngineSetupError {
  override name = "PluginMissingError";
}

/** Where the test-only `pulumi-resource-command` is built (test/command-plugin/build.sh). */
export const testPluginDir = join(repoRoot, ".tools", "test-plugins");

/** Whether the official plugin is installed at the pinned version ($PULUMI_HOME/plugins). */
export function officialPluginInstalled(plugin: PluginRequirement, env: NodeJS.ProcessEnv = process.env): boolean {
  const home = env.PULUMI_HOME ?? join(env.HOME ?? "/root", ".pulumi");
  return existsSync(join(home, "plugins", `resource-${plugin.name}-v${plugin.version}`));
}

/**
 * The engine environment that makes it use the test-only command plugin: only when the
 * official one is absent and the test plugin is built; never downloading. Empty otherwise.
 */
export function testCommandPluginEnv(): Record<string, string> {
  if (officialPluginInstalled(pluginFor("command"))) return {};
  if (!existsSync(join(testPluginDir, "pulumi-resource-command"))) return {};
  return { PATH: `${testPluginDir}${delimiter}${process.env.PATH ?? ""}`, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" };
}

/**
 * The official plugins are used whenever installed; a `pulumi-resource-<name>` on the
 * CLI's PATH (the engine's ambient plugins) counts too. Missing ones are installed at the
 * versions the npm packages declare, unless automatic acquisition is off (offline machines):
 * then the missing plugin is named, with how to get it.
 */
export async function ensurePlugins(
  workspace: LocalWorkspace,
  required: PluginRequirement[],
  envVars: Record<string, string>,
): Promise<void> {
  const searchPath = (envVars.PATH ?? process.env.PATH ?? "").split(delimiter);
  for (const plugin of required) {
    const ambient = searchPath.some((dir) => dir && existsSync(join(dir, `pulumi-resource-${plugin.name}`)));
    if (ambient || officialPluginInstalled(plugin, { ...process.env, ...envVars })) continue;
    const offline =
      (envVars.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION ?? process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION) === "true";
    const howTo = `Install it with \`pulumi plugin install resource ${plugin.name} v${plugin.version}\` on a machine with internet access`;
    if (offline) {
      throw new PluginMissingError(
        `The Pulumi resource plugin "${plugin.name}" v${plugin.version} is not installed and automatic plugin ` +
          `downloads are off (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true). ${howTo}.`,
      );
    }
    try {
      await workspace.installPlugin(plugin.name, `v${plugin.version}`, "resource");
    } catch (err) {
      throw new PluginMissingError(
        `The Pulumi resource plugin "${plugin.name}" v${plugin.version} is not installed and downloading it failed: ${firstLine(err)}. ${howTo}.`,
      );
    }
  }
}
