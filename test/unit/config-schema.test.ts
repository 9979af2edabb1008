// The stack config schema: defaults, every error naming its key and value (never a secret),
// and hostile values in every field that can reach a shell refused (fast-check).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../../components/config/parse.js";

const digest = `sha256:${"c".repeat(64)}`;

function baseConfig(): Record<string, unknown> {
  return {
    hosts: [{ host: "server.example.com", user: "ubuntu" }],
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    services: {
      backend: { environment: { PORT: "8000" } },
      redis: { image: "redis:7-alpine", volumes: ["redis-data:/data"] },
      nginx: { image: "nginx:1.27", dependsOn: ["backend"] },
    },
    release: { id: "2026.11.27-1", gitSha: "0123abc", images: { backend: `ghcr.io/acme/awareness-backend@${digest}` } },
    secretEnv: { DATABASE_PASSWORD: "pa$$;word`x`" },
  };
}

/** The raw map as pulumi.Config hands it over: objects as JSON text, strings as is. */
function toRaw(cfg: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(cfg).map(([k, v]) => [`awareness:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

function withValue(path: (string | number)[], value: unknown): Record<string, string> {
  const cfg = baseConfig();
  let cur: Record<string | number, unknown> = cfg;
  path.slice(0, -1).forEach((p, i) => {
    cur[p] ??= typeof path[i + 1] === "number" ? [] : {};
    cur = cur[p] as Record<string | number, unknown>;
  });
  cur[path[path.length - 1]!] = value;
  return toRaw(cfg);
}

function problemsOf(raw: Record<string, string>) {
  try {
    parseStackConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected the config to be refused");
}

describe("a valid config", () => {
  it("parses with the documented defaults filled in", () => {
    const cfg = parseStackConfig({ ...toRaw(baseConfig()), "other:key": "ignored" });
    expect(cfg.appDir).toBe("/opt/awareness");
    expect(cfg.composeProject).toBe("awareness");
    expect(cfg.composeCommand).toBe("docker compose");
    expect(cfg.hosts[0]).toEqual({ host: "server.example.com", user: "ubuntu", port: 22 });
    expect(cfg.health).toEqual({
      baseUrl: "http://127.0.0.1:18080",
      endpoints: ["/api/health", "/api/docs", "/api/auth/status"],
      probeTimeoutSeconds: 5,
      probeMode: "http",
    });
    expect(cfg.monitor).toEqual({ durationSeconds: 300, intervalSeconds: 30, consecutiveFailures: 3, successRate: 0.95 });
    expect(cfg.backups.retain).toBe(5);
    expect(cfg.precheck).toEqual({ minFreeDiskMb: 2048, minFreeMemoryMb: 256 });
    expect(cfg.replacePolicy.allow).toEqual([]);
    expect(cfg.imageResolver).toBe("host");
    expect(cfg.services.backend).toEqual({
      networkMode: "host",
      restart: "unless-stopped",
      environment: { PORT: "8000" },
      volumes: [],
      dependsOn: [],
      releaseEnv: true,
      waitHealthy: true,
    });
    expect(cfg.release.env).toEqual({});
    expect(cfg.secretEnv.DATABASE_PASSWORD).toBe("pa$$;word`x`");
  });

  it("accepts numbers given as text (pulumi config set stores strings) and scaled-down monitors", () => {
    const cfg = parseStackConfig(
      withValue(["monitor"], { durationSeconds: "4", intervalSeconds: "0.5", consecutiveFailures: "3", successRate: "0.9" }),
    );
    expect(cfg.monitor).toEqual({ durationSeconds: 4, intervalSeconds: 0.5, consecutiveFailures: 3, successRate: 0.9 });
  });

  it("accepts image references by tag, by digest, with registry ports, and both", () => {
    for (const ref of ["127.0.0.1:5000/awareness-backend:v1", `ghcr.io/acme/b:v1@${digest}`, `redis@${digest}`, "localhost:5000/a/b/c:1.2.3"]) {
      expect(parseStackConfig(withValue(["release", "images", "backend"], ref)).release.images.backend).toBe(ref);
    }
  });
});

describe("errors name the key path, the value and what is allowed", () => {
  it("lists every problem at once", () => {
    const raw = toRaw({ ...baseConfig(), release: { id: "v1;rm", images: { backend: "nope", ghost: "a:1" }, extra: 1 } });
    const problems = problemsOf(raw);
    expect(problems).toEqual(
      expect.arrayContaining([
        { key: "awareness:release.id", message: expect.stringMatching(/expected letters, digits/), shown: '"v1;rm"' },
        { key: "awareness:release.images.backend", message: expect.stringMatching(/tag or digest/), shown: '"nope"' },
        { key: "awareness:release.extra", message: expect.stringMatching(/unknown key/) },
        {
          key: "awareness:release.images.ghost",
          message: 'no service "ghost" is declared in awareness:services (declared: backend, redis, nginx)',
          shown: '"a:1"',
        },
      ]),
    );
  });

  it("the message says nothing ran and shows each problem on its own line", () => {
    try {
      parseStackConfig(withValue(["hosts", 0, "port"], 70000));
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe(
        "Stack config is invalid (1 problem); nothing was run:\n  - awareness:hosts[0].port: Too big: expected number to be <=65535 (got 70000)",
      );
    }
  });

  it("a missing required key says so", () => {
    const raw = toRaw(baseConfig());
    delete raw["awareness:release"];
    expect(problemsOf(raw)).toEqual([{ key: "awareness:release", message: "is required but not set" }]);
  });

  it("never shows secret values", () => {
    const problems = problemsOf(
      toRaw({ ...baseConfig(), secretEnv: { TOKEN: "line1\nline2-s3cret" }, sshPrivateKey: "" }),
    );
    expect(problems.map((p) => p.key).sort()).toEqual([
      "awareness:hosts[0].privateKey",
      "awareness:secretEnv.TOKEN",
      "awareness:sshPrivateKey",
    ]);
    expect(problems.filter((p) => p.shown !== undefined).every((p) => p.shown === "[secret]")).toBe(true);
    expect(JSON.stringify(problems)).not.toMatch(/s3cret/);
  });

  it("cross-field rules: every service has an image, dependencies exist, a host has a key", () => {
    const cfg = baseConfig();
    (cfg.services as Record<string, unknown>).worker = { dependsOn: ["ghost"] };
    delete cfg.sshPrivateKey;
    const keys = problemsOf(toRaw(cfg)).map((p) => p.key);
    expect(keys).toEqual(
      expect.arrayContaining(["awareness:services.worker.image", "awareness:services.worker.dependsOn", "awareness:hosts[0].privateKey"]),
    );
  });

  it("malformed JSON in a structured key is reported by key", () => {
    expect(problemsOf({ ...toRaw(baseConfig()), "awareness:release": "{not json" })).toEqual([
      { key: "awareness:release", message: expect.stringMatching(/not valid JSON/) },
    ]);
  });
});

// Each field whose value can reach a shell on the host, with a valid sample to embed the attack in.
const shellFields: { key: string; path: (string | number)[]; valid: string }[] = [
  { key: "awareness:appDir", path: ["appDir"], valid: "/opt/awareness" },
  { key: "awareness:composeProject", path: ["composeProject"], valid: "awareness" },
  { key: "awareness:composeCommand", path: ["composeCommand"], valid: "docker compose" },
  { key: "awareness:hosts[0].host", path: ["hosts", 0, "host"], valid: "server.example.com" },
  { key: "awareness:hosts[0].user", path: ["hosts", 0, "user"], valid: "ubuntu" },
  { key: "awareness:hosts[0].name", path: ["hosts", 0, "name"], valid: "prod-1" },
  { key: "awareness:hosts[0].hostKey", path: ["hosts", 0, "hostKey"], valid: "ssh-ed25519 AAAAC3Nza" },
  { key: "awareness:release.id", path: ["release", "id"], valid: "v1" },
  { key: "awareness:release.gitSha", path: ["release", "gitSha"], valid: "0123abc" },
  { key: "awareness:release.images.backend", path: ["release", "images", "backend"], valid: "ghcr.io/acme/b:v1" },
  { key: "awareness:services.redis.image", path: ["services", "redis", "image"], valid: "redis:7" },
  { key: "awareness:services.redis.volumes[0]", path: ["services", "redis", "volumes", 0], valid: "data:/data" },
  { key: "awareness:services.nginx.dependsOn[0]", path: ["services", "nginx", "dependsOn", 0], valid: "backend" },
  { key: "awareness:services.backend.environment.PORT", path: ["services", "backend", "environment", "PORT"], valid: "8000" },
  { key: "awareness:health.baseUrl", path: ["health", "baseUrl"], valid: "http://127.0.0.1:18080" },
  { key: "awareness:health.endpoints[0]", path: ["health", "endpoints", 0], valid: "/api/health" },
  { key: "awareness:registryAuth.server", path: ["registryAuth", "server"], valid: "ghcr.io" },
  { key: "awareness:registryAuth.username", path: ["registryAuth", "username"], valid: "bot" },
];

const attacks = [";", "$(id)", "`id`", "\n", "'", '"', " && id", "|id", ">x"];

describe("hostile values in shell-reaching fields are refused by the schema", () => {
  const withRegistry = (raw: Record<string, string>) =>
    raw["awareness:registryAuth"] ? raw : { ...raw, "awareness:registryAuth": JSON.stringify({ server: "ghcr.io", username: "bot", password: "p" }) };

  // Every attack at every position of a valid sample: deterministic and exhaustive.
  for (const field of shellFields) {
    it(`${field.key}`, () => {
      const envValue = field.key === "awareness:services.backend.environment.PORT";
      for (const attack of envValue ? ["\n", "\r", "\\"] : attacks) {
        for (let at = 0; at <= field.valid.length; at++) {
          const hostile = field.valid.slice(0, at) + attack + field.valid.slice(at);
          const raw = withRegistry(withValue(field.path, hostile));
          if (field.key.startsWith("awareness:registryAuth")) {
            raw["awareness:registryAuth"] = JSON.stringify({ server: "ghcr.io", username: "bot", password: "p", [field.path[1]!]: hostile });
          }
          expect(problemsOf(raw).map((p) => p.key), JSON.stringify(hostile)).toContain(field.key);
        }
      }
    });
  }

  it("random strings with a shell metacharacter never pass as app dir, project, release id or image", () => {
    const meta = fc.constantFrom(";", "$", "`", "\n", "'", '"', "&", "|", "<", ">", "(", ")", " ", "\\", "*", "?");
    const hostile = fc.tuple(fc.string({ maxLength: 10 }), meta, fc.string({ maxLength: 10 })).map(([a, m, b]) => a + m + b);
    fc.assert(
      fc.property(hostile, (value) => {
        expect(problemsOf(withValue(["appDir"], `/opt/${value}`)).map((p) => p.key)).toContain("awareness:appDir");
        expect(problemsOf(withValue(["composeProject"], value)).map((p) => p.key)).toContain("awareness:composeProject");
        expect(problemsOf(withValue(["release", "id"], value)).map((p) => p.key)).toContain("awareness:release.id");
        expect(problemsOf(withValue(["release", "images", "backend"], `ghcr.io/a/b:${value}`)).map((p) => p.key)).toContain(
          "awareness:release.images.backend",
        );
      }),
      { numRuns: 200 },
    );
  });

  it.each(["/opt/../etc", "/opt/./x", "opt/awareness", "/", "/opt/awareness/", "/opt/a wareness"])(
    "appDir %j is refused",
    (appDir) => {
      expect(problemsOf(withValue(["appDir"], appDir)).map((p) => p.key)).toContain("awareness:appDir");
    },
  );

  it("a bare repository (implicit :latest) and an option-looking image are refused", () => {
    for (const ref of ["ghcr.io/acme/b", "-v:1", "--help"]) {
      expect(problemsOf(withValue(["release", "images", "backend"], ref)).map((p) => p.key)).toContain(
        "awareness:release.images.backend",
      );
    }
  });

  it("env names must be identifiers, and not compose's own settings", () => {
    expect(problemsOf(withValue(["release", "env"], { "A;B": "x" }))).toEqual([
      {
        key: "awareness:release.env.A;B",
        message: "env names are letters, digits and _ (not starting with a digit)",
        shown: '"A;B"',
      },
    ]);
    for (const name of ["COMPOSE_PROJECT_NAME", "DOCKER_HOST"]) {
      expect(problemsOf(withValue(["secretEnv"], { [name]: "x" }))).toEqual([
        { key: `awareness:secretEnv.${name}`, message: "COMPOSE_* and DOCKER_* names are reserved for compose itself", shown: JSON.stringify(name) },
      ]);
    }
  });
});
