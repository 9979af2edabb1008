// Once per e2e run: make sure the engine and the command plugin are there before any
// test file starts (so a broken toolchain fails fast, with one clear error), and bring
// the local sandbox target up when the run needs it. The local S3 server (moto) is installed here
// too, once per machine, so no test file pays for it inside its own timeout.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../automation/common/process.js";
import { locateCli } from "../../automation/toolchain/cli.js";
import { buildTestCommandPlugin, commandPluginSelection, testPluginDir } from "./plugins.js";
import { ensureMoto } from "./s3-backend.js";

export default async function setup(): Promise<void> {
  const cli = await locateCli();
  // Always built: the plugin's own tests run the test-only binary even where the official one is installed.
  buildTestCommandPlugin();
  const official = commandPluginSelection("machine").official;
  process.stderr.write(
    `e2e: engine ${cli.command} v${cli.version?.version}; command plugin: ` +
      `${official ? "official (installed)" : `test-only (${testPluginDir})`}; the plugin's own tests: test-only\n`,
  );
  ensureMoto();
  const sandbox = join(repoRoot, "test", "sandbox", "sandbox.sh");
  if (process.env.AWARENESS_E2E_NO_SANDBOX !== "1" && existsSync(sandbox)) {
    // With the second host (its own network namespace, sshd and dockerd; ~2 s): the multi-host tests use it.
    execFileSync("bash", [sandbox, "up", "--second-host"], { stdio: ["ignore", "inherit", "inherit"] });
  }
}
