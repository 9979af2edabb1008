// The runner's rules that need no engine: pinned versions agree with the npm packages,
// secrets need a passphrase outside the local sandbox, and the deadline cancels.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../automation/common/process.js";
import { UsageError } from "../../automation/common/errors.js";
import { backendUrlFor, localSandboxPassphrase, passphraseFor, pulumiCloudUrl } from "../../automation/toolchain/backend.js";
import { EngineSetupError } from "../../automation/toolchain/cli.js";
import { DeadlineExceededError, withDeadline } from "../../automation/toolchain/processes.js";
import { pinnedToolchain, pluginFor } from "../../automation/toolchain/versions.js";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
};

describe("pinned toolchain", () => {
  it("each plugin version equals its npm provider package's version", () => {
    for (const name of ["command", "docker", "github"] as const) {
      expect(pluginFor(name).version).toBe(pkg.dependencies[`@pulumi/${name}`]);
    }
  });

  it("the CLI version equals the Go tools module's pin", () => {
    const goMod = readFileSync(join(repoRoot, "automation/toolchain/pulumi-cli/go.mod"), "utf8");
    expect(goMod).toMatch(new RegExp(`github.com/pulumi/pulumi/pkg/v3 v${pinnedToolchain().cli.replace(/\./g, "\\.")}\\b`));
  });
});

describe("passphrase rules", () => {
  const saved = { ...process.env };
  const withEnv = (env: Record<string, string | undefined>, fn: () => void) => {
    delete process.env.PULUMI_CONFIG_PASSPHRASE;
    delete process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
    Object.assign(process.env, env);
    try {
      fn();
    } finally {
      process.env = { ...saved };
    }
  };

  it("the sandbox stack falls back to the documented local passphrase", () => {
    withEnv({}, () => expect(passphraseFor("sandbox")).toBe(localSandboxPassphrase));
  });

  it("a real stack without PULUMI_CONFIG_PASSPHRASE fails with what to set", () => {
    withEnv({}, () => {
      expect(() => passphraseFor("production")).toThrow(EngineSetupError);
      expect(() => passphraseFor("production")).toThrow(/export PULUMI_CONFIG_PASSPHRASE/);
    });
  });

  it("the environment's passphrase wins, and a passphrase file is left to the CLI", () => {
    withEnv({ PULUMI_CONFIG_PASSPHRASE: "s3cret" }, () => expect(passphraseFor("production")).toBe("s3cret"));
    withEnv({ PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/p" }, () =>
      expect(passphraseFor("production")).toBeUndefined(),
    );
  });
});

describe("withDeadline", () => {
  it("aborts the operation and reports where it stood", async () => {
    const run = withDeadline("up", 50, (signal, progress) => {
      progress("remote-compose-stack-up: running");
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));
    });
    await expect(run).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(run).rejects.toThrow(/within 0 s.*Last progress: remote-compose-stack-up: running/);
  });

  it("passes results and errors through when in time", async () => {
    await expect(withDeadline("preview", 1000, async () => 42)).resolves.toBe(42);
    await expect(
      withDeadline("preview", 1000, async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
  });
});

describe("where the state lives", () => {
  const s3 = "s3://acme-pulumi-state?region=eu-west-1";

  it("PULUMI_BACKEND_URL wins; PULUMI_ACCESS_TOKEN alone selects Pulumi Cloud", () => {
    expect(backendUrlFor("production", undefined, { PULUMI_BACKEND_URL: s3, PULUMI_ACCESS_TOKEN: "pul-x" })).toBe(s3);
    expect(backendUrlFor("production", undefined, { PULUMI_ACCESS_TOKEN: "pul-x" })).toBe(pulumiCloudUrl);
    expect(backendUrlFor("production", undefined, { PULUMI_BACKEND_URL: "  ", PULUMI_ACCESS_TOKEN: "pul-x" })).toBe(pulumiCloudUrl);
  });

  it("the local sandbox and test stacks keep their state in .pulumi-state/ by default", () => {
    expect(backendUrlFor("sandbox", undefined, {})).toMatch(/^file:\/\/.*\.pulumi-state$/);
    expect(backendUrlFor("test-driver-1", "file:///tmp/x", {})).toBe("file:///tmp/x");
  });

  it("a real stack is refused a file backend, with what to set", () => {
    for (const env of [{}, { PULUMI_BACKEND_URL: "file:///srv/state" }]) {
      expect(() => backendUrlFor("production", undefined, env)).toThrow(UsageError);
      expect(() => backendUrlFor("production", undefined, env)).toThrow(/file backend .*verified releases .*PULUMI_BACKEND_URL .*PULUMI_ACCESS_TOKEN .*AWARENESS_ALLOW_FILE_BACKEND=1/);
    }
    expect(backendUrlFor("production", undefined, { PULUMI_BACKEND_URL: "file:///srv/state", AWARENESS_ALLOW_FILE_BACKEND: "1" })).toBe("file:///srv/state");
  });

  it("on a GitHub runner every file backend is refused, even the sandbox's and the opt-in's", () => {
    const runner = { GITHUB_ACTIONS: "true", AWARENESS_ALLOW_FILE_BACKEND: "1" };
    for (const stack of ["sandbox", "staging", "production"]) {
      expect(() => backendUrlFor(stack, undefined, runner)).toThrow(/on this GitHub runner, whose disk is gone after the job/);
    }
    expect(backendUrlFor("production", undefined, { ...runner, PULUMI_BACKEND_URL: s3 })).toBe(s3);
  });
});
