// A stack still on the example's placeholder host: every first-run gap in one config error
// (exit 2), before any remote command; other stacks go through the usual checks.
import { describe, expect, it } from "vitest";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { ConfigError } from "../../components/config/parse.js";
import { outcomes } from "../../automation/report/outcomes.js";
import { isPlaceholderHost, refuseUnconfiguredStack } from "../../automation/stages/first-run.js";
import { sandboxStackConfig } from "../../automation/sandbox/target.js";
import { fakeSshKey, fakeTarget } from "../support/fake-target.js";

const withHosts = (hosts: unknown[], extra: ConfigMap = {}): ConfigMap => ({
  ...sandboxStackConfig(fakeTarget, "v1"),
  "awareness:hosts": { value: JSON.stringify(hosts) },
  ...extra,
});

/** The ConfigError refuseUnconfiguredStack throws (undefined: none). */
function refusal(stack: string, config: ConfigMap): ConfigError | undefined {
  try {
    refuseUnconfiguredStack(stack, config);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  return undefined;
}

describe("first run on the example's placeholder host", () => {
  it("knows the names reserved for examples, and only those", () => {
    for (const h of ["server.example.com", "EXAMPLE.org", "a.b.example.net", "db.example", "x.invalid", "server.example.com."]) expect(isPlaceholderHost(h), h).toBe(true);
    for (const h of ["127.0.0.1", "deploy.acme.com", "example.community", "myexample.com", "example.com.au", "fake-host"]) expect(isPlaceholderHost(h), h).toBe(false);
  });

  it("names the host, the pinned key and the SSH key in one config error (invalid-config: exit 2)", () => {
    const config = withHosts([{ host: "server.example.com", user: "ubuntu" }]);
    delete config["awareness:sshPrivateKey"];
    const err = refusal("production", config);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems.map((p) => p.key)).toEqual(["awareness:hosts[0].host", "awareness:hosts[0].hostKey", "awareness:hosts[0].privateKey"]);
    expect(err!.message).toMatch(/^Stack config is invalid \(3 problems\); nothing was run:\n  - awareness:hosts\[0\]\.host: server\.example\.com is the example's placeholder/);
    expect(err!.message).toContain("trust-host --stack production");
    // The schema checks the key only once the rest parses: with another gap it is still named, once.
    const alsoNoRegistryPassword = { ...config, "awareness:registryAuth": { value: JSON.stringify({ server: "ghcr.io", username: "bot" }) } };
    expect(refusal("production", alsoNoRegistryPassword)!.problems.map((p) => p.key)).toEqual([
      "awareness:hosts[0].host",
      "awareness:hosts[0].hostKey",
      "awareness:sshPrivateKey",
      "awareness:registryAuth.password",
    ]);
    expect(outcomes["invalid-config"].exitCode).toBe(2);
  });

  it("leaves real hosts and the local sandbox to the usual checks", () => {
    expect(() => refuseUnconfiguredStack("production", withHosts([{ host: "deploy.acme.com" }]))).not.toThrow();
    expect(() => refuseUnconfiguredStack("sandbox", withHosts([{ host: "server.example.com" }]))).not.toThrow();
    expect(() => refuseUnconfiguredStack("production", withHosts([{ host: "server.example.com", hostKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${"A".repeat(43)}` }], { "awareness:sshPrivateKey": fakeSshKey }))).toThrow(
      /^Stack config is invalid \(1 problem\); nothing was run:\n  - awareness:hosts\[0\]\.host: server\.example\.com is the example's placeholder[^\n]*$/,
    );
  });
});
