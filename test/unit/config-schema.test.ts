// The stack config schema: defaults, every error naming its key and value (never a secret),
// and hostile values in every field that can reach a shell refused (fast-check).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../../components/config/parse.js";
import { hostLayoutOf } from "../../components/host-commands/layout.js";
import { rawStackConfig } from "../support/stack-config.js";

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
const toRaw = rawStackConfig;

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
      // Plain paths become endpoint objects without expectations (any 2xx passes).
      endpoints: [{ path: "/api/health" }, { path: "/api/docs" }, { path: "/api/auth/status" }],
      checks: [],
      probeTimeoutSeconds: 5,
      probeMode: "http",
    });
    expect(cfg.monitor).toEqual({
      durationSeconds: 300,
      intervalSeconds: 30,
      consecutiveFailures: 3,
      successRate: 0.95,
      onFailure: "rollback",
      pauseTimeoutMinutes: 30,
      onPauseTimeout: "abort",
    });
    expect(cfg.backups.retain).toBe(5);
    expect(cfg.precheck).toEqual({ minFreeDiskMb: 2048, minFreeMemoryMb: 256 });
    expect(cfg.replacePolicy.allow).toEqual([]);
    expect(cfg.imageResolver).toBe("host");
    expect(cfg.services.backend).toEqual({
      networkMode: "host",
      restart: "unless-stopped",
      environment: { PORT: "8000" },
      volumes: [],
      snapshotVolumes: false,
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
    expect(cfg.monitor).toMatchObject({ durationSeconds: 4, intervalSeconds: 0.5, consecutiveFailures: 3, successRate: 0.9 });
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
        "Stack config is invalid (1 problem); nothing was run:\n  - awareness:hosts[0].port: expected a whole number from 1 to 65535 (got 70000)",
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

  it("a watch window shorter than interval x consecutiveFailures is refused (that rule could never fire)", () => {
    const cfg = baseConfig();
    (cfg as Record<string, unknown>).monitor = { durationSeconds: 60, intervalSeconds: 30, consecutiveFailures: 3, successRate: 0.95 };
    expect(problemsOf(toRaw(cfg))).toEqual([
      expect.objectContaining({ key: "awareness:monitor.durationSeconds", message: expect.stringMatching(/at least intervalSeconds x consecutiveFailures/) }),
    ]);
    (cfg as Record<string, unknown>).monitor = { durationSeconds: 90, intervalSeconds: 30, consecutiveFailures: 3, successRate: 0.95 };
    expect(parseStackConfig(toRaw(cfg)).monitor.durationSeconds).toBe(90);
  });

  it("a host may keep the app in its own dir; one server and dir named twice is refused", () => {
    const cfg = baseConfig();
    const [first] = cfg.hosts as Record<string, unknown>[];
    (cfg as Record<string, unknown>).hosts = [first, { ...first, name: "again" }];
    expect(problemsOf(toRaw(cfg))).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: "awareness:hosts[1].appDir", message: expect.stringMatching(/keeps its app in .* for another host too/) })]),
    );
    // Its own dir but the same compose project on the same server: the two would share containers.
    (cfg as Record<string, unknown>).hosts = [first, { ...first, name: "again", appDir: "/srv/second" }];
    expect(problemsOf(toRaw(cfg))).toEqual([
      expect.objectContaining({ key: "awareness:hosts[1].composeProject", message: expect.stringMatching(/runs compose project awareness for another host too/) }),
    ]);
    (cfg as Record<string, unknown>).hosts = [first, { ...first, name: "again", appDir: "/srv/second", composeProject: "second", env: { PORT: "8081" } }];
    const parsed = parseStackConfig(toRaw(cfg));
    expect(parsed.hosts.map((h) => hostLayoutOf(parsed, h).appDir)).toEqual([parsed.appDir, "/srv/second"]);
    expect(parsed.hosts.map((h) => hostLayoutOf(parsed, h).composeProject)).toEqual([parsed.composeProject, "second"]);
    expect(parsed.hosts[1]!.env).toEqual({ PORT: "8081" });
  });

  it("a host's env is checked like the release env (reserved names, line breaks)", () => {
    const cfg = baseConfig();
    const [first] = cfg.hosts as Record<string, unknown>[];
    (cfg as Record<string, unknown>).hosts = [{ ...first, env: { COMPOSE_FILE: "x", OK: "a\nb" } }];
    expect(problemsOf(toRaw(cfg))).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: "awareness:hosts[0].env.COMPOSE_FILE", message: expect.stringMatching(/reserved/) }),
        expect.objectContaining({ key: "awareness:hosts[0].env.OK", message: expect.stringMatching(/one line/) }),
      ]),
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

describe("numbers are plain decimals in range; lengths are capped", () => {
  it.each(["0x16", "22abc", " 22", "22 ", "1e3", "+22", "22.0", "٢٢", "２２", "", "-22", "0", "65536", "22.5", "Infinity", "NaN"])(
    "port %j is refused naming the key, the rule and the value",
    (port) => {
      expect(problemsOf(withValue(["hosts", 0, "port"], port))).toEqual([
        { key: "awareness:hosts[0].port", message: "expected a whole number from 1 to 65535", shown: JSON.stringify(port) },
      ]);
    },
  );

  it.each([-1, 0, 65536, 22.5, 1e6, null, true, [22]])("port %j (JSON) is refused", (port) => {
    expect(problemsOf(withValue(["hosts", 0, "port"], port)).map((p) => p.key)).toEqual(["awareness:hosts[0].port"]);
  });

  it("ports 1 and 65535, as numbers or text, are accepted", () => {
    for (const port of [1, "1", 65535, "65535", "22"]) {
      expect(parseStackConfig(withValue(["hosts", 0, "port"], port)).hosts[0]!.port).toBe(Number(port));
    }
  });

  it("other numbers follow the same rule", () => {
    expect(problemsOf(withValue(["monitor"], { durationSeconds: "0x10", intervalSeconds: "1e1", consecutiveFailures: "3.0" }))).toEqual([
      { key: "awareness:monitor.durationSeconds", message: "expected a number greater than 0 and at most 86400", shown: '"0x10"' },
      { key: "awareness:monitor.intervalSeconds", message: "expected a number greater than 0 and at most 3600", shown: '"1e1"' },
      { key: "awareness:monitor.consecutiveFailures", message: "expected a whole number from 1 to 1000", shown: '"3.0"' },
    ]);
    expect(problemsOf(withValue(["health", "baseUrl"], "http://127.0.0.1:0")).map((p) => p.key)).toEqual(["awareness:health.baseUrl"]);
    expect(problemsOf(withValue(["release", "images", "backend"], "127.0.0.1:70000/b:v1")).map((p) => p.key)).toEqual([
      "awareness:release.images.backend",
    ]);
  });

  // [path, a valid value of exactly the cap, the key]
  const caps: [(string | number)[], string, string][] = [
    [["appDir"], `/${"a".repeat(254)}`, "awareness:appDir"],
    [["release", "images", "backend"], `${"a".repeat(255)}:${"t".repeat(128)}@${digest}`, "awareness:release.images.backend"],
    [["health", "endpoints", 0], `/${"e".repeat(511)}`, "awareness:health.endpoints[0]"],
    [["health", "baseUrl"], `http://h/${"p".repeat(1024 - 9)}`, "awareness:health.baseUrl"],
    [["services", "redis", "volumes", 0], `v:/${"d".repeat(509)}`, "awareness:services.redis.volumes[0]"],
    [["hosts", 0, "hostKey"], `ssh-ed25519 ${"A".repeat(4096 - 12)}`, "awareness:hosts[0].hostKey"],
    [["release", "env", "BIG"], "x".repeat(4096), "awareness:release.env.BIG"],
  ];
  it.each(caps)("%j: accepted at its cap, refused one character over", (path, atCap, key) => {
    expect(() => parseStackConfig(withValue(path, atCap))).not.toThrow();
    const over = atCap.startsWith("ssh-") || atCap.startsWith("x") ? `${atCap}A` : atCap.replace(/^(.*?:?\/?)(.)/, "$1$2$2");
    expect(over.length).toBe(atCap.length + 1);
    expect(problemsOf(withValue(path, over)).map((p) => p.key)).toEqual([key]);
  });

  it("counts are capped too: hosts, services, endpoints, env entries", () => {
    const hosts = Array.from({ length: 51 }, (_, i) => ({ host: `h${i}.example.com` }));
    expect(problemsOf(withValue(["hosts"], hosts)).map((p) => p.key)).toEqual(["awareness:hosts"]);
    const endpoints = Array.from({ length: 21 }, (_, i) => `/e${i}`);
    expect(problemsOf(withValue(["health", "endpoints"], endpoints)).map((p) => p.key)).toEqual(["awareness:health.endpoints"]);
    const env = Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`K${i}`, "v"]));
    expect(problemsOf(withValue(["release", "env"], env)).map((p) => p.key)).toEqual(["awareness:release.env"]);
  });

  it("env values: control characters (but tab), Unicode line separators, U+FFFE/U+FFFF and lone surrogates are refused", () => {
    for (const value of ["a\x1bb", "a\vb", "a\fb", "a\x7f", "a\x80", "a\x9f", "a\u0085", "a\u2028", "a\u2029", "a\ufffe", "a\uffff", "a\uD800b"]) {
      expect(problemsOf(withValue(["release", "env", "V"], value)).map((p) => p.key), JSON.stringify(value)).toEqual(["awareness:release.env.V"]);
    }
    expect(parseStackConfig(withValue(["release", "env", "V"], "a\tb \u202Eevil\u200B 😀")).release.env.V).toBe("a\tb \u202Eevil\u200B 😀");
  });

  it("names are looked up as own keys: constructor, toString and an empty image are no special cases", () => {
    const cfg = baseConfig();
    cfg.services = { ...(cfg.services as object), constructor: {} };
    expect(problemsOf(toRaw(cfg))).toEqual([
      {
        key: "awareness:services.constructor.image",
        message: 'service "constructor" has no image: set awareness:release.images.constructor or awareness:services.constructor.image',
      },
    ]);
    expect(parseStackConfig(withValue(["secretEnv"], { toString: "x", constructor: "y" })).secretEnv).toEqual({ toString: "x", constructor: "y" });
    expect(problemsOf(withValue(["release", "images", "backend"], "")).map((p) => p.key)).toEqual(["awareness:release.images.backend"]);
  });

  it("a __proto__ name is refused by its key, never dropped in silence (or made the config's prototype)", () => {
    const proto = (json: string) => JSON.parse(json) as object;
    expect(problemsOf(toRaw({ ...baseConfig(), secretEnv: proto('{"__proto__":"x"}') }))).toEqual([
      { key: "awareness:secretEnv.__proto__", message: "__proto__ cannot be used as a name here", shown: "[secret]" },
    ]);
    const release = { ...(baseConfig().release as object), images: proto('{"__proto__":"redis:7"}') };
    expect(problemsOf(toRaw({ ...baseConfig(), release })).map((p) => p.key)).toEqual(["awareness:release.images.__proto__"]);
    const services = { ...(baseConfig().services as object), ...proto('{"__proto__":{"image":"redis:7"}}') };
    expect(problemsOf(toRaw({ ...baseConfig(), services })).map((p) => p.key)).toEqual(["awareness:services.__proto__"]);
    expect(problemsOf({ ...toRaw(baseConfig()), "awareness:__proto__": '{"appDir":"/x"}' })).toEqual([
      { key: "awareness:__proto__", message: expect.stringMatching(/unknown key/) },
    ]);
  });
});

describe("health checks: endpoint expectations, exec and prometheus checks", () => {
  const health = (h: Record<string, unknown>) => parseStackConfig(withValue(["health"], h)).health;
  const keysOf = (h: Record<string, unknown>) => problemsOf(withValue(["health"], h)).map((p) => `${p.key}: ${p.message}`);

  it("plain paths and endpoint objects mix; one JSON rule becomes a list of one", () => {
    const h = health({
      endpoints: ["/api/docs", { path: "/api/health", expect: { status: 200, json: { path: "status", equals: "ok" } }, maxLatencyMs: 500 }],
      checks: [
        { kind: "exec", service: "redis", command: ["redis-cli", "ping"] },
        { kind: "prometheus", name: "error-rate", url: "http://127.0.0.1:9090", query: 'sum(rate(errors_total{job="app"}[1m]))', op: "<", value: "0.05" },
      ],
    });
    expect(h.endpoints).toEqual([
      { path: "/api/docs" },
      { path: "/api/health", expect: { status: 200, json: [{ path: "status", equals: "ok" }] }, maxLatencyMs: 500 },
    ]);
    expect(h.checks).toEqual([
      { kind: "exec", service: "redis", command: ["redis-cli", "ping"], timeoutSeconds: 10 },
      { kind: "prometheus", name: "error-rate", url: "http://127.0.0.1:9090", query: 'sum(rate(errors_total{job="app"}[1m]))', op: "<", value: 0.05 },
    ]);
  });

  it("errors name the key and say what is allowed", () => {
    expect(keysOf({ endpoints: [{ path: "/a", expect: { status: 700 } }] })).toEqual(["awareness:health.endpoints[0].expect.status: expected a whole number from 100 to 599"]);
    expect(keysOf({ endpoints: [{ path: "/a", maxLatencyMs: 0 }] })).toEqual(["awareness:health.endpoints[0].maxLatencyMs: expected a whole number from 1 to 600000"]);
    expect(keysOf({ endpoints: [{ path: "/a", expect: { json: { path: "a..b", equals: 1 } } }] })).toEqual([
      "awareness:health.endpoints[0].expect.json.path: expected a dot-separated path of keys and array indexes, e.g. status or checks.0.state",
    ]);
    expect(keysOf({ endpoints: [{ path: "/a", expect: { json: { path: "a", equals: 1, exists: true } } }] })).toEqual([
      "awareness:health.endpoints[0].expect.json: expected exactly one of equals, oneOf or exists",
    ]);
    expect(keysOf({ endpoints: [{ path: "/a", expect: { json: { path: "a", equals: "ok" } } }], probeMode: "ssh" })).toEqual([
      'awareness:health.endpoints[0].expect.json: JSON body expectations need probeMode "http" (the host-side probe reads no body)',
    ]);
    expect(keysOf({ endpoints: ["api"] })).toEqual(["awareness:health.endpoints[0]: expected a URL path like /api/health"]);
    expect(keysOf({ endpoints: [{ path: "/a", eval: "x" }] })).toEqual(["awareness:health.endpoints[0].eval: unknown key (check its spelling against components/config/schema.ts)"]);
    expect(keysOf({ checks: [{ kind: "exec", service: "db", command: ["pg_isready"] }] })).toEqual(['awareness:health.checks[0].service: no service "db" is declared in awareness:services']);
    expect(keysOf({ checks: [{ kind: "exec", service: "redis", command: ["-rf"] }] })).toEqual([
      "awareness:health.checks[0].command[0]: the first element must name a program (letters, digits and _ . / + -, not starting with -)",
    ]);
    expect(keysOf({ checks: [{ kind: "exec", service: "redis", command: ["sh", "a\nb"] }] })).toEqual([
      "awareness:health.checks[0].command[1]: expected an argument of printable ASCII characters (no control characters)",
    ]);
    expect(keysOf({ checks: [{ kind: "exec", service: "redis", command: [] }] })).toEqual(['awareness:health.checks[0].command: expected the command and its arguments, e.g. ["pg_isready"]']);
    expect(keysOf({ checks: [{ kind: "shell", command: "id" }] })[0]).toMatch(/^awareness:health.checks\[0\]\.kind: /);
    expect(keysOf({ checks: [{ kind: "prometheus", url: "ftp://x", query: "up", op: "<", value: 1 }] })[0]).toMatch(/^awareness:health.checks\[0\]\.url: expected http/);
    expect(keysOf({ checks: [{ kind: "prometheus", url: "http://p:9090", query: "up", op: "=~", value: 1 }] })[0]).toMatch(/^awareness:health.checks\[0\]\.op: /);
  });

  it("caps: checks, exec arguments and their length, JSON rules, the query", () => {
    const exec = { kind: "exec", service: "redis", command: ["redis-cli"] };
    expect(keysOf({ checks: Array.from({ length: 21 }, () => exec) })).toEqual(["awareness:health.checks: at most 20 checks"]);
    expect(keysOf({ checks: [{ ...exec, command: Array.from({ length: 17 }, () => "x") }] })).toEqual(["awareness:health.checks[0].command: at most 16 arguments"]);
    expect(keysOf({ checks: [{ ...exec, command: ["redis-cli", "x".repeat(257)] }] })).toEqual(["awareness:health.checks[0].command[1]: expected an argument of at most 256 characters"]);
    expect(() => health({ checks: [{ ...exec, command: ["redis-cli", "x".repeat(256)] }] })).not.toThrow();
    const rule = { path: "status", exists: true };
    expect(keysOf({ endpoints: [{ path: "/a", expect: { json: Array.from({ length: 11 }, () => rule) } }] })[0]).toMatch(/^awareness:health.endpoints\[0\]\.expect\.json: /);
    const prom = { kind: "prometheus", url: "http://p:9090", op: "<", value: 1 };
    expect(keysOf({ checks: [{ ...prom, query: "u".repeat(1001) }] })).toEqual(["awareness:health.checks[0].query: expected a PromQL query of at most 1000 characters"]);
    expect(keysOf({ checks: [{ ...prom, query: "up", value: 1e16 }] })).toEqual(["awareness:health.checks[0].value: expected a number from -1000000000000000 to 1000000000000000"]);
  });
});
