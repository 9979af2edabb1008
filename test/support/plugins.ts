// Which command plugin a test's engine runs. Two choices:
// - "machine" (every test but the plugin's own): the official `pulumi-resource-command` when it is
//   installed (the driver's one detection decides), else the test-only plugin on the engine's PATH;
// - "test-only" (the plugin's own tests, test/e2e/command-plugin-*): always the test-only binary,
//   also where the official one is installed. Those tests pin its deliberate deviations (no hang on
//   a >64 KiB line, a bounded SSH handshake, unimplemented inputs failing loudly), which the
//   official plugin does not share. The engine then gets a Pulumi home of its own, with no plugins
//   installed, so the only command plugin it can find is the one on its PATH.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { repoRoot } from "../../automation/common/process.js";
import { officialPluginInstalled, testPluginDir } from "../../automation/toolchain/plugins.js";
import { pluginFor } from "../../automation/toolchain/versions.js";

export { testPluginDir };

export type CommandPluginChoice = "machine" | "test-only";

/** The Pulumi home of "test-only" engines: empty of plugins (ignored by git, next to the built tools). */
export const testOnlyPulumiHome = join(repoRoot, ".tools", "test-plugin-home");

/** Whether the official command plugin at the pinned version is installed for this user. */
export function officialCommandPluginInstalled(env: NodeJS.ProcessEnv = process.env): boolean {
  return officialPluginInstalled(pluginFor("command"), env);
}

/**
 * The engine environment for a choice (the test-only binary is expected built: see
 * buildTestCommandPlugin): `official` says whether the official plugin is the one it gets.
 */
export function commandPluginSelection(
  choice: CommandPluginChoice,
  env: NodeJS.ProcessEnv = process.env,
): { official: boolean; envVars: Record<string, string> } {
  const path = env.PATH ?? "";
  const offline = { PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" };
  if (choice === "machine" && officialCommandPluginInstalled(env)) return { official: true, envVars: { PATH: path, ...offline } };
  return {
    official: false,
    envVars: {
      PATH: `${testPluginDir}${delimiter}${path}`,
      ...offline,
      ...(choice === "test-only" ? { PULUMI_HOME: testOnlyPulumiHome } : {}),
    },
  };
}

let built = false;

/** Builds the test-only plugin (test/command-plugin/build.sh: nothing to do when up to date). */
export function buildTestCommandPlugin(): void {
  if (built) return;
  const build = join(repoRoot, "test", "command-plugin", "build.sh");
  if (!existsSync(build)) throw new Error(`the test-only command plugin's build script is missing: ${build}`);
  execFileSync("bash", [build], { stdio: ["ignore", "inherit", "inherit"] });
  if (!existsSync(join(testPluginDir, "pulumi-resource-command"))) {
    throw new Error(`building the test-only command plugin did not produce ${testPluginDir}/pulumi-resource-command`);
  }
  built = true;
}

/**
 * The environment that makes the engine use the chosen command plugin and never download:
 * builds the test-only plugin when the choice needs it.
 */
export async function testEngineEnv(choice: CommandPluginChoice = "machine"): Promise<Record<string, string>> {
  const selection = commandPluginSelection(choice);
  if (!selection.official) buildTestCommandPlugin();
  if (choice === "test-only") mkdirSync(testOnlyPulumiHome, { recursive: true });
  return selection.envVars;
}
