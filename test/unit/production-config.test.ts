// Pulumi.production.yaml is a complete example: with its secrets supplied (as
// `pulumi config set --secret` would) and a release (as a deploy sets it in its private copy),
// it passes the stack schema; without the secrets, the error names exactly the secret keys to
// set. It holds no release data: the live release lives in the backend.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../../components/config/parse.js";

const file = join(import.meta.dirname, "..", "..", "Pulumi.production.yaml");
const config = (parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
/** The raw map as the engine hands it to the program: structured values as JSON text. */
const committed = Object.fromEntries(
  Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
);
/** What a deploy's copy holds: the committed settings and the release the deploy names. */
const raw = {
  ...committed,
  "awareness:release": JSON.stringify({ id: "2026.11.27-1", images: { backend: "ghcr.io/acme/awareness-backend:2026.11.27-1" } }),
};

// A user's repository has this file wired to their server: the checks of the shipped example
// then do not apply (their CI runs these tests too), and say so.
const shipped = JSON.stringify(config["awareness:hosts"]).includes("server.example.com");
if (!shipped) console.warn("SKIPPED on purpose: Pulumi.production.yaml is wired to a server (not the shipped example); only its release-data check runs.");

describe("Pulumi.production.yaml", () => {
  it("holds no release data (the release lives in the backend)", () => {
    expect(Object.keys(config).filter((k) => k.startsWith("awareness:release"))).toEqual([]);
  });
});

describe.runIf(shipped)("Pulumi.production.yaml as shipped (the example)", () => {
  it("says where the release lives", () => {
    expect(readFileSync(file, "utf8")).toMatch(/The release lives in the backend/);
  });

  it("is valid once the documented secrets are set", () => {
    const cfg = parseStackConfig({
      ...raw,
      "awareness:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
      "awareness:secretEnv": JSON.stringify({ DATABASE_PASSWORD: "x", JWT_SECRET: "y", POSTGRES_PASSWORD: "x" }),
      "awareness:registryAuth": JSON.stringify({ ...(config["awareness:registryAuth"] as object), password: "token" }),
    });
    expect(Object.keys(cfg.services).sort()).toEqual(["backend", "db", "nginx", "redis"]);
    expect(cfg.appDir).toBe("/opt/awareness");
    expect(cfg.services.backend!.environment).toMatchObject({ APP_ENV: "production", LOG_LEVEL: "info" });
    expect(cfg.hosts[0]).toMatchObject({ host: "server.example.com", user: "ubuntu" });
    expect(cfg.monitor).toEqual({ durationSeconds: 300, intervalSeconds: 30, consecutiveFailures: 3, successRate: 0.95, onFailure: "rollback", pauseTimeoutMinutes: 30, onPauseTimeout: "abort" });
  });

  it("without them, names the secret keys to set (structure first, then cross-key rules)", () => {
    const keysOf = (map: Record<string, string>) => {
      try {
        parseStackConfig(map);
      } catch (err) {
        return (err as ConfigError).problems.map((p) => p.key);
      }
      return [];
    };
    expect(keysOf(raw)).toEqual(["awareness:registryAuth.password"]);
    const withPassword = {
      ...raw,
      "awareness:registryAuth": JSON.stringify({ ...(config["awareness:registryAuth"] as object), password: "token" }),
    };
    expect(keysOf(withPassword)).toEqual(["awareness:hosts[0].privateKey"]);
  });
});
