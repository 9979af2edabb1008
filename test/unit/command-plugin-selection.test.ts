// Which command plugin a test's engine gets (test/support/plugins.ts), with a made-up Pulumi home
// where the official plugin is installed and one where it is not: the plugin's own tests always
// get the test-only binary, every other test whichever plugin the machine has.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commandPluginSelection, officialCommandPluginInstalled, testOnlyPulumiHome, testPluginDir } from "../support/plugins.js";
import { pluginFor } from "../../automation/toolchain/versions.js";

const root = mkdtempSync(join(tmpdir(), "awareness-plugin-homes-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A Pulumi home; with `official`, the pinned official command plugin installed the way the CLI installs it. */
function pulumiHome(name: string, official: boolean): NodeJS.ProcessEnv {
  const home = join(root, name);
  mkdirSync(join(home, "plugins"), { recursive: true });
  if (official) {
    const dir = join(home, "plugins", `resource-command-v${pluginFor("command").version}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "pulumi-resource-command"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  }
  return { PULUMI_HOME: home, PATH: "/usr/local/bin:/usr/bin" };
}

describe("commandPluginSelection", () => {
  const withOfficial = pulumiHome("with-official", true);
  const without = pulumiHome("without", false);

  it("sees the official plugin only where it is installed at the pinned version", () => {
    expect(officialCommandPluginInstalled(withOfficial)).toBe(true);
    expect(officialCommandPluginInstalled(without)).toBe(false);
    const otherVersion = pulumiHome("other-version", false);
    mkdirSync(join(otherVersion.PULUMI_HOME!, "plugins", "resource-command-v1.0.0"));
    expect(officialCommandPluginInstalled(otherVersion)).toBe(false);
  });

  it("the machine's choice: the official plugin where installed (PATH untouched), else the test-only one first on PATH", () => {
    expect(commandPluginSelection("machine", withOfficial)).toEqual({
      official: true,
      envVars: { PATH: "/usr/local/bin:/usr/bin", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" },
    });
    expect(commandPluginSelection("machine", without)).toEqual({
      official: false,
      envVars: { PATH: `${testPluginDir}${delimiter}/usr/local/bin:/usr/bin`, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" },
    });
  });

  it("the plugin's own tests: the test-only binary even where the official plugin is installed, in a Pulumi home without it", () => {
    for (const env of [withOfficial, without]) {
      const chosen = commandPluginSelection("test-only", env);
      expect(chosen.official).toBe(false);
      expect(chosen.envVars.PATH!.split(delimiter)[0]).toBe(testPluginDir);
      expect(chosen.envVars.PULUMI_HOME).toBe(testOnlyPulumiHome);
      expect(chosen.envVars.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION).toBe("true");
      // The engine's home holds no official plugin: the one on its PATH is the only one it can find.
      expect(officialCommandPluginInstalled({ PULUMI_HOME: chosen.envVars.PULUMI_HOME })).toBe(false);
    }
  });
});
