// The pinned engine and plugin versions live in one place: package.json's
// "pulumiToolchain", next to the npm packages they must match.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface PluginRequirement {
  name: string;
  version: string;
}

interface PackageJson {
  dependencies: Record<string, string>;
  pulumiToolchain: { cli: string; plugins: Record<string, string> };
}

const packageJsonPath = join(resolve(dirname(fileURLToPath(import.meta.url)), "../.."), "package.json");

export function pinnedToolchain(): { cli: string; plugins: Record<string, string> } {
  const pkg = JSON.parse(readFileSync(packageJsonPath, "utf8")) as PackageJson;
  return pkg.pulumiToolchain;
}

/** The resource plugin an npm provider package needs: the same version as the package. */
export function pluginFor(name: "command" | "docker" | "github"): PluginRequirement {
  const pkg = JSON.parse(readFileSync(packageJsonPath, "utf8")) as PackageJson;
  const version = pkg.pulumiToolchain.plugins[name];
  if (!version) throw new Error(`package.json pulumiToolchain.plugins has no "${name}" version`);
  return { name, version };
}
