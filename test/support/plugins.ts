// Puts the test-only command plugin on the engine's PATH, but only when the official
// `pulumi-resource-command` is not installed (the driver's one detection decides): wherever
// the official plugin exists, the tests exercise it instead.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { repoRoot } from "../../automation/common/process.js";
import { officialPluginInstalled, testPluginDir } from "../../automation/toolchain/plugins.js";
import { pluginFor } from "../../automation/toolchain/versions.js";

export { testPluginDir };

let cached: { pathPrefix: string | undefined; official: boolean } | undefined;

/** Whether the official command plugin at the pinned version is installed for this user. */
export function officialCommandPluginInstalled(): boolean {
  return officialPluginInstalled(pluginFor("command"));
}

/**
 * Returns the PATH prefix that makes the engine find a command plugin: none when the
 * official one is installed, else the test plugin's folder (built on first use).
 */
export async function ensureTestCommandPlugin(): Promise<{ pathPrefix: string | undefined; official: boolean }> {
  if (cached) return cached;
  if (officialCommandPluginInstalled()) {
    cached = { pathPrefix: undefined, official: true };
    return cached;
  }
  const build = join(repoRoot, "test", "command-plugin", "build.sh");
  if (!existsSync(build)) throw new Error(`the test-only command plugin's build script is missing: ${build}`);
  execFileSync("bash", [build], { stdio: ["ignore", "inherit", "inherit"] });
  if (!existsSync(join(testPluginDir, "pulumi-resource-command"))) {
    throw new Error(`building the test-only command plugin did not produce ${testPluginDir}/pulumi-resource-command`);
  }
  cached = { pathPrefix: testPluginDir, official: false };
  return cached;
}

/** The environment that makes the engine use the test plugin (when needed) and never download. */
export async function testEngineEnv(): Promise<Record<string, string>> {
  const { pathPrefix } = await ensureTestCommandPlugin();
  return {
    PATH: pathPrefix ? `${pathPrefix}${delimiter}${process.env.PATH ?? ""}` : (process.env.PATH ?? ""),
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
}
