// Pulumi.staging.yaml: a real stack like production's, on a placeholder host, holding no
// release (a deploy names it). With its secrets and a deploy's release it passes the stack
// schema; as committed, the driver refuses it with one config error naming what to set.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../../components/config/parse.js";
import { refuseUnconfiguredStack } from "../../automation/stages/first-run.js";
import { DEPLOY_ENVIRONMENTS } from "../../components/github/workflows/steps.js";
import { PROMOTION_ORDER } from "../../components/github/workflows/ci-cd.js";

const stackFile = (stack: string) =>
  (parse(readFileSync(join(import.meta.dirname, "..", "..", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config;
const rawOf = (config: Record<string, unknown>) => Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));

const config = stackFile("staging");
// A user's repository has this file wired to their staging server: the checks of the shipped
// example then do not apply (their CI runs these tests too), and say so.
const shipped = JSON.stringify(config["awareness:hosts"]).includes("staging.example.com");
if (!shipped) console.warn("SKIPPED on purpose: Pulumi.staging.yaml is wired to a server (not the shipped example); only its release-data check runs.");

describe("Pulumi.staging.yaml", () => {
  it("exists for every environment the workflows deploy to, in the order CI/CD promotes", () => {
    for (const environment of DEPLOY_ENVIRONMENTS) expect(() => stackFile(environment), environment).not.toThrow();
    expect([...PROMOTION_ORDER]).toEqual(["staging", "production"]);
  });

  it("holds no release data: a deploy names the release", () => {
    expect(Object.keys(config)).not.toContain("awareness:release");
    expect(JSON.stringify(config)).not.toMatch(/gitSha/);
  });
});

describe.runIf(shipped)("Pulumi.staging.yaml as shipped (the example)", () => {
  it("pins no image: CI/CD names them", () => {
    expect(JSON.stringify(config)).not.toMatch(/sha256:/);
  });

  it("is the production app on its own (placeholder) host, valid once its secrets are set and a deploy names a release", () => {
    const cfg = parseStackConfig({
      ...rawOf(config),
      "awareness:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
      "awareness:registryAuth": JSON.stringify({ ...(config["awareness:registryAuth"] as object), password: "token" }),
      "awareness:release": JSON.stringify({ id: "0123456", images: { backend: `ghcr.io/acme/awareness/backend@sha256:${"a".repeat(64)}` } }),
    });
    expect(cfg.hosts).toEqual([expect.objectContaining({ name: "staging", host: "staging.example.com" })]);
    expect(Object.keys(cfg.services).sort()).toEqual(Object.keys(stackFile("production")["awareness:services"] as object).sort());
    expect(cfg.health.baseUrl).not.toBe((stackFile("production")["awareness:health"] as { baseUrl: string }).baseUrl);
  });

  it("as committed, the driver refuses it with one config error (exit 2) naming the host and the keys to set", () => {
    const asEngineGivesIt = Object.fromEntries(Object.entries(rawOf(config)).map(([k, v]) => [k, { value: v }]));
    expect(() => refuseUnconfiguredStack("staging", asEngineGivesIt)).toThrow(ConfigError);
    expect(() => refuseUnconfiguredStack("staging", asEngineGivesIt)).toThrow(/hosts\[0\]\.host: staging\.example\.com is the example's placeholder/);
  });
});
