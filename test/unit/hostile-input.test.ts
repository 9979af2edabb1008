// Hostile input at scale. Generated configs and CLI argument sets (shell metacharacters, line
// breaks, NUL, option-like values, huge values, Unicode overrides and zero-width characters,
// lookalike digits, number-like text) are each either refused before any SSH connection (a
// ConfigError naming the key, a usage error) or accepted and proven inert: every command the
// program and the driver build from them has the same shell structure as with a harmless twin
// of each value (the value adds literal text only), no value that reaches a command has a line
// break, control character or leading "-", the files a release writes read back as the config
// said, and the quoted values come back byte for byte through a real /bin/sh.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { CommanderError } from "commander";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { deploy } from "../../automation/commands/deploy.js";
import { checkRollbackRequest } from "../../automation/commands/rollback.js";
import { releaseCommand, releaseFields, rollbackCommand, type ReleaseOptions, type RollbackOptions } from "../../automation/common/cli-args.js";
import { UsageError } from "../../automation/common/errors.js";
import { checkStackName } from "../../automation/common/stack-name.js";
import { hostProbeCommand } from "../../automation/monitor/host-prober.js";
import { endpointUrl } from "../../automation/monitor/probers.js";
import { configWithRelease, nextRelease } from "../../automation/stages/open.js";
import { releaseIn } from "../../automation/stages/releases.js";
import { renderComposeFile, renderEnvFile, renderReleaseRecordPrefix, sha256Hex } from "../../components/compose/render.js";
import { notifyLimits } from "../../components/config/notify.js";
import { ConfigError, parseStackConfig } from "../../components/config/parse.js";
import { limits, volumesToSnapshot, type StackConfig } from "../../components/config/schema.js";
import * as hc from "../../components/host-commands/index.js";
import {
  controlChars,
  grow,
  hostileFrom,
  hostilePiece,
  numberTexts,
  optionLike,
  prototypeNames,
  roundTrip,
  skeleton,
  syntaxErrors,
  twinOf,
  unicodeTricks,
} from "../support/hostile.js";
import { fakeDeps, FakeStack } from "../support/fake-engine.js";
import { FakeHost } from "../support/fake-host.js";
import { rawStackConfig } from "../support/stack-config.js";

/** HOSTILE_INPUT_SCALE=10 runs ten times as many cases (the defaults keep the unit run short). */
const scale = Math.max(1, Number(process.env.HOSTILE_INPUT_SCALE ?? 1) || 1);
const runs = (n: number) => Math.round(n * scale);
/** Per test: generous, as a busy CI machine may be several times slower than a laptop. */
const slow = 120_000 * scale;

// ---- the counts, printed at the end ----

type Tally = { generated: number; refused: number; inert: number };
const tally = { configs: { generated: 0, refused: 0, inert: 0 }, cli: { generated: 0, refused: 0, inert: 0 }, builders: { generated: 0, refused: 0, inert: 0 } };
const refusedBy: Record<string, number> = {};
const perField: Record<string, Tally> = {};
/** Values that reached a command in an accepted config (for the real-shell round trip). */
const reachedCommands = new Set<string>();
/** Commands of some accepted configs, for `sh -n`. */
const sampledCommands: { name: string; command: string }[] = [];

function count(t: Tally, outcome: "refused" | "inert", field?: string): void {
  t.generated += 1;
  t[outcome] += 1;
  if (field) {
    perField[field] ??= { generated: 0, refused: 0, inert: 0 };
    perField[field]![outcome] += 1;
    perField[field]!.generated += 1;
  }
}

afterAll(() => {
  const line = (name: string, t: Tally) => `  ${name}: generated ${t.generated}, refused ${t.refused}, accepted and inert ${t.inert}`;
  const fields = Object.entries(perField)
    .map(([f, t]) => `    ${f}: ${t.generated} (${t.refused} refused, ${t.inert} inert)`)
    .join("\n");
  console.log(
    [
      "hostile input:",
      line("stack configs", tally.configs),
      line("CLI argument sets", tally.cli),
      line("raw values into the command builders", tally.builders),
      `  refused by: ${Object.entries(refusedBy).map(([k, n]) => `${k} ${n}`).join(", ")}`,
      `  values round-tripped through /bin/sh: ${reachedCommands.size}; commands checked with sh -n: ${sampledCommands.length}`,
      "  configs per field:",
      fields,
    ].join("\n"),
  );
});

// ---- a valid config to put the hostile values in ----

const digest = `sha256:${"c".repeat(64)}`;
const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHFakeHostKeyForUnitTestsOnly0123456789abc deploy@ci";
type Json = Record<string, unknown>;

function baseConfig(): Json {
  return {
    hosts: [{ name: "prod-1", host: "server.example.com", port: 22, user: "ubuntu", hostKey }],
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    appDir: "/opt/awareness",
    composeProject: "awareness",
    composeCommand: "docker compose",
    services: {
      backend: { environment: { PORT: "8000" } },
      redis: { image: "redis:7-alpine", volumes: ["redis-data:/data"], snapshotVolumes: true, releaseEnv: false },
      nginx: { image: "nginx:1.27", dependsOn: ["backend"] },
    },
    release: {
      id: "2026.11.27-1",
      gitSha: "0123abc",
      images: { backend: `ghcr.io/acme/awareness-backend:v1@${digest}` },
      env: { APP_ENV: "production" },
    },
    secretEnv: { DATABASE_PASSWORD: "pa$$;word`x`" },
    registryAuth: { server: "ghcr.io", username: "acme-bot", password: "token" },
    health: {
      baseUrl: "http://127.0.0.1:18080",
      endpoints: ["/api/health", "/api/version", { path: "/api/docs", expect: { status: 200 }, maxLatencyMs: 800 }],
      checks: [
        { kind: "exec", service: "redis", command: ["redis-cli", "ping"], timeoutSeconds: 5 },
        { kind: "prometheus", url: "http://prometheus:9090", query: "sum(rate(http_errors_total[1m]))", op: "<", value: 0.05 },
      ],
      probeTimeoutSeconds: 5,
      probeMode: "ssh",
    },
    monitor: { durationSeconds: 300, intervalSeconds: 30 },
    backups: { retain: 5 },
    precheck: { minFreeDiskMb: 2048, minFreeMemoryMb: 256 },
    rollout: { startTimeoutSeconds: 90, stableChecks: 2 },
    notify: [
      { kind: "webhook", url: "https://hooks.example.com/deploys", secret: "whsec-0123456789abcdef" },
      { kind: "newrelic", apiKey: "NRAK-0123456789", entityGuid: "MXxBUE18QVBQTElDQVRJT058MQ" },
    ],
  };
}

/** The raw map as the engine hands it over: objects as JSON text, strings as is. */
const toRaw = rawStackConfig;

/** Defines (never assigns, so "__proto__" stays a key) a property. */
function put(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function setAt(cfg: Json, path: (string | number)[], value: unknown): void {
  let cur = cfg as Record<string | number, unknown>;
  path.slice(0, -1).forEach((p) => {
    cur = cur[p] as Record<string | number, unknown>;
  });
  put(cur, path[path.length - 1]!, value);
}

/** The key a ConfigError names for a path (as parse.ts writes it: awareness:a.b[0].c). */
function keyOf(path: (string | number)[]): string {
  const [head, ...rest] = path.map(String);
  return `awareness:${head}${rest.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("")}`;
}

/** A problem key lies at or below `key`. */
const within = (problem: string, key: string) => problem === key || problem.startsWith(`${key}.`) || problem.startsWith(`${key}[`);

// ---- the fields, each with a valid sample to build hostile values from ----

interface Field {
  name: string;
  valid: string;
  /** A character the field allows, to grow the sample past its cap. */
  filler?: string;
  /** Numbers: also JSON numbers, and number-like text; accepted only as a JSON number or plain decimal text (whole: no fraction). */
  numeric?: "whole" | "decimal";
  /** Puts the value into the config; returns the key a refusal must name. */
  apply(cfg: Json, value: unknown): string;
  /** Other keys a refusal may name (a cross-field rule). */
  also?: string[];
  /** A secret value: an error never shows it. */
  secret?: boolean;
}

const at =
  (...path: (string | number)[]) =>
  (cfg: Json, value: unknown) => {
    setAt(cfg, path, value);
    return keyOf(path);
  };
/** The value is a name (a map key) under `path`, holding `entry`. */
const named =
  (entry: unknown, ...path: string[]) =>
  (cfg: Json, value: unknown) => {
    const name = String(value);
    setAt(cfg, [...path, name], entry);
    return keyOf([...path, name]);
  };

const fields: Field[] = [
  { name: "hosts[].host", valid: "server.example.com", apply: at("hosts", 0, "host") },
  { name: "hosts[].user", valid: "ubuntu", apply: at("hosts", 0, "user") },
  { name: "hosts[].port", valid: "22", filler: "2", numeric: "whole", apply: at("hosts", 0, "port") },
  { name: "hosts[].hostKey", valid: hostKey, filler: "A", apply: at("hosts", 0, "hostKey") },
  { name: "hosts[].name", valid: "prod-1", apply: at("hosts", 0, "name") },
  { name: "appDir", valid: "/opt/awareness", apply: at("appDir") },
  { name: "hosts[].appDir", valid: "/srv/app", apply: at("hosts", 0, "appDir") },
  { name: "composeProject", valid: "awareness", apply: at("composeProject") },
  { name: "composeCommand", valid: "docker compose", apply: at("composeCommand") },
  { name: "services (name)", valid: "worker", apply: named({ image: "busybox:1.36" }, "services") },
  { name: "services.image", valid: "redis:7-alpine", apply: at("services", "redis", "image") },
  { name: "services.environment (key)", valid: "LOG_LEVEL", filler: "A", apply: named("info", "services", "backend", "environment") },
  { name: "services.environment (value)", valid: "8000", apply: at("services", "backend", "environment", "PORT") },
  { name: "services.volumes", valid: "redis-data:/data", apply: at("services", "redis", "volumes", 0) },
  {
    name: "services.snapshotVolumes",
    valid: "redis-data",
    apply: (cfg, v) => (setAt(cfg, ["services", "redis", "snapshotVolumes"], [v]), keyOf(["services", "redis", "snapshotVolumes", 0])),
  },
  {
    name: "services.dependsOn",
    valid: "backend",
    apply: (cfg, v) => {
      setAt(cfg, ["services", "nginx", "dependsOn", 0], v);
      return keyOf(["services", "nginx", "dependsOn"]);
    },
  },
  { name: "services.ports (no such setting)", valid: "8080:80", apply: (cfg, v) => (setAt(cfg, ["services", "backend", "ports"], [v]), keyOf(["services", "backend", "ports"])) },
  { name: "release.id", valid: "2026.11.27-1", apply: at("release", "id") },
  { name: "release.gitSha", valid: "0123abc", filler: "f", apply: at("release", "gitSha") },
  { name: "release.images (reference)", valid: "ghcr.io/acme/awareness-backend:v1", filler: "b", apply: at("release", "images", "backend") },
  { name: "release.images (service)", valid: "nginx", apply: named("nginx:1.27", "release", "images") },
  { name: "release.env (key)", valid: "FEATURE_X", filler: "X", apply: named("on", "release", "env"), also: ["awareness:secretEnv"] },
  { name: "release.env (value)", valid: "production", apply: at("release", "env", "APP_ENV") },
  { name: "secretEnv (key)", valid: "JWT_SECRET", filler: "X", apply: named("s3cret", "secretEnv") },
  { name: "secretEnv (value)", valid: "s3cret", secret: true, apply: at("secretEnv", "DATABASE_PASSWORD") },
  { name: "health.baseUrl", valid: "http://127.0.0.1:18080", filler: "1", apply: at("health", "baseUrl") },
  {
    name: "health.endpoints",
    valid: "/api/health",
    apply: (cfg, v) => {
      setAt(cfg, ["health", "endpoints", 1], v);
      return keyOf(["health", "endpoints"]);
    },
  },
  { name: "health.endpoints[].path", valid: "/api/docs", apply: at("health", "endpoints", 2, "path") },
  { name: "health.endpoints[].expect.status", valid: "200", filler: "2", numeric: "whole", apply: at("health", "endpoints", 2, "expect", "status") },
  { name: "health.endpoints[].maxLatencyMs", valid: "800", filler: "8", numeric: "whole", apply: at("health", "endpoints", 2, "maxLatencyMs") },
  {
    name: "health.endpoints[].expect.json.path (probeMode http)",
    valid: "checks.0.state",
    apply: (cfg, v) => {
      setAt(cfg, ["health", "probeMode"], "http");
      setAt(cfg, ["health", "endpoints", 2, "expect", "json"], { path: v, equals: "ok" });
      return keyOf(["health", "endpoints", 2, "expect", "json"]);
    },
  },
  {
    name: "health.endpoints[].expect.json.equals (probeMode http)",
    valid: "ok",
    apply: (cfg, v) => {
      setAt(cfg, ["health", "probeMode"], "http");
      setAt(cfg, ["health", "endpoints", 2, "expect", "json"], [{ path: "status", equals: v }]);
      return keyOf(["health", "endpoints", 2, "expect", "json"]);
    },
  },
  { name: "health.checks[].service (exec)", valid: "redis", apply: at("health", "checks", 0, "service") },
  { name: "health.checks[].command[0] (exec)", valid: "redis-cli", apply: at("health", "checks", 0, "command", 0) },
  { name: "health.checks[].command[1] (exec)", valid: "ping", apply: at("health", "checks", 0, "command", 1) },
  { name: "health.checks[].timeoutSeconds (exec)", valid: "5", filler: "5", numeric: "whole", apply: at("health", "checks", 0, "timeoutSeconds") },
  { name: "health.checks[].name", valid: "redis-ping", apply: at("health", "checks", 0, "name") },
  { name: "health.checks[].url (prometheus)", valid: "http://prometheus:9090", filler: "9", apply: at("health", "checks", 1, "url") },
  { name: "health.checks[].query (prometheus)", valid: "sum(rate(http_errors_total[1m]))", apply: at("health", "checks", 1, "query") },
  { name: "health.checks[].op (prometheus)", valid: "<", apply: at("health", "checks", 1, "op") },
  { name: "health.checks[].value (prometheus)", valid: "0.05", filler: "5", numeric: "decimal", apply: at("health", "checks", 1, "value") },
  { name: "health.probeTimeoutSeconds", valid: "5", filler: "5", numeric: "decimal", apply: at("health", "probeTimeoutSeconds") },
  // A cross-key rule may name the window instead: the duration must hold consecutiveFailures rounds.
  { name: "monitor.intervalSeconds", valid: "30", filler: "3", numeric: "decimal", apply: at("monitor", "intervalSeconds"), also: ["awareness:monitor.durationSeconds"] },
  { name: "backups.retain", valid: "5", filler: "5", numeric: "whole", apply: at("backups", "retain") },
  { name: "precheck.minFreeDiskMb", valid: "2048", filler: "4", numeric: "whole", apply: at("precheck", "minFreeDiskMb") },
  { name: "precheck.minFreeMemoryMb", valid: "256", filler: "5", numeric: "whole", apply: at("precheck", "minFreeMemoryMb") },
  { name: "rollout.stableChecks", valid: "2", filler: "2", numeric: "whole", apply: at("rollout", "stableChecks") },
  { name: "registryAuth.server", valid: "ghcr.io", apply: at("registryAuth", "server") },
  { name: "notify[].url", valid: "https://hooks.example.com/deploys", filler: "a", apply: at("notify", 0, "url") },
  { name: "notify[].secret", valid: "whsec-0123456789abcdef", secret: true, apply: at("notify", 0, "secret") },
  { name: "notify[].entityGuid", valid: "MXxBUE18QVBQTElDQVRJT058MQ", filler: "M", apply: at("notify", 1, "entityGuid") },
  { name: "registryAuth.username", valid: "acme-bot", apply: at("registryAuth", "username") },
];

function valuesFor(field: Field): fc.Arbitrary<unknown> {
  const strings = hostileFrom(field.valid, field.filler);
  if (!field.numeric) return strings;
  return fc.oneof(
    strings,
    fc.constantFrom(...numberTexts),
    fc.double(),
    fc.integer({ min: -1_000_000, max: 1_000_000 }),
    fc.constantFrom(0, -0, 1, 65535, 65536, 1e3, 2 ** 31, 2 ** 53, Number.MAX_VALUE, 0.5, null, true, [22]),
  );
}

// ---- what accepted means: inert everywhere it goes ----

/** A service's image as the program picks it: the release's (an own key: a service may be called "constructor"), else its own. */
const imageOf = (cfg: StackConfig, service: string): string =>
  (Object.hasOwn(cfg.release.images, service) ? cfg.release.images[service] : cfg.services[service]!.image)!;

/** Every command the program and the driver build from a config (name, text, whether it is a command line). */
function builtCommands(cfg: StackConfig): { name: string; command: string; line: boolean }[] {
  const layout: hc.HostLayout = { appDir: cfg.appDir, composeProject: cfg.composeProject, composeCommand: cfg.composeCommand };
  const names = Object.keys(cfg.services).sort();
  const refs = names.map((n) => imageOf(cfg, n));
  const images = Object.fromEntries(names.map((n, i) => [n, refs[i]!]));
  const login = cfg.registryAuth ? { server: cfg.registryAuth.server, username: cfg.registryAuth.username } : undefined;
  const holder = "deployer@runner pid 4242 github-run 7";
  const id = cfg.release.id;
  const switchArgs = {
    layout,
    releaseId: id,
    services: names.map((n, i) => ({ name: n, image: refs[i]!, waitHealthy: cfg.services[n]!.waitHealthy })),
    retainBackups: cfg.backups.retain,
    startTimeoutSeconds: cfg.rollout.startTimeoutSeconds,
    stableChecks: cfg.rollout.stableChecks,
    snapshotVolumes: names.flatMap((n, i) => volumesToSnapshot(cfg.services[n]!).map((volume) => ({ service: n, volume, image: refs[i]! }))),
  };
  const timeoutMs = cfg.health.probeTimeoutSeconds * 1000;
  const commands: [string, string, boolean][] = [
    ["switchRelease (the script, on stdin)", hc.switchRelease(switchArgs), false],
    ["switchReleaseCommand", hc.switchReleaseCommand({ layout, releaseId: id, images }), true],
    ["teardown", hc.teardown(layout), true],
    ["listBackups", hc.listBackups(layout), true],
    ["listBackupSets", hc.listBackupSets(layout), true],
    // A set name comes from the host's own listing, never from input: a fixed valid one.
    ["restoreBackupSet", hc.restoreBackupSet({ layout, set: "20260101T000000Z-v1", retainSets: 5, startTimeoutSeconds: 90, stableChecks: 2 }), true],
    ["acquireLock", hc.acquireLock(layout, { holder, nonce: "n0nce", releaseId: id, leaseSeconds: 180 }), true],
    ["acquireLock (rollback)", hc.acquireLock(layout, { holder, nonce: "n0nce", releaseId: `rollback-${id}`, leaseSeconds: 180 }), true],
    ["renewLock", hc.renewLock(layout, { holder, nonce: "n0nce" }), true],
    ["releaseLock", hc.releaseLock(layout, { holder, nonce: "n0nce" }), true],
    ["releaseLock (forced)", hc.releaseLock(layout, "force"), true],
    ["inspectLock", hc.inspectLock(layout), true],
    ["precheckProbe", hc.precheckProbe(layout), true],
    ["readDeploymentStatus", hc.readDeploymentStatus(layout), true],
    ["markReleaseVerified", hc.markReleaseVerified(layout, id), true],
    ["runningServices", hc.runningServices(layout), true],
    ["composeCli", hc.composeCli(layout, "ps", "-a"), true],
    ["imagesPresent", hc.imagesPresent(refs), true],
    ["registryHasImages", hc.registryHasImages(refs), true],
    ["removeImagesExcept", hc.removeImagesExcept(refs.map((r) => hc.splitImageRef(r).repo), refs), true],
    ["hostProbeCommand", hostProbeCommand(cfg.health.baseUrl, cfg.health.endpoints, timeoutMs), true],
    ...names.map((n, i): [string, string, boolean] => [`serviceContainerIds #${i}`, hc.serviceContainerIds(layout, n), true]),
    ...names.map((n, i): [string, string, boolean] => [`pullAndResolveDigest #${i}`, hc.pullAndResolveDigest(n, refs[i]!, login), true]),
    ...cfg.health.endpoints.map((e, i): [string, string, boolean] => [
      `probeFromHost #${i}`,
      hc.probeFromHost(endpointUrl(cfg.health.baseUrl, e.path), cfg.health.probeTimeoutSeconds),
      true,
    ]),
    ...cfg.health.checks.flatMap((c, i): [string, string, boolean][] =>
      c.kind === "exec" ? [[`execInService #${i}`, hc.execInService(layout, c), true]] : [],
    ),
  ];
  if (login) commands.push(["registryLogin", hc.registryLogin(login), true]);
  return commands.map(([name, command, line]) => ({ name, command, line }));
}

const enumKeys = new Set(["composeCommand", "networkMode", "restart", "probeMode", "imageResolver", "kind", "op"]);

/** The config with every string (and name) replaced by its harmless twin; enums stay. */
function twinConfig<T>(value: T, key?: string): T {
  if (typeof value === "string") return (key !== undefined && enumKeys.has(key) ? value : twinOf(value)) as T;
  if (Array.isArray(value)) return value.map((v) => twinConfig(v, key)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [twinOf(k), twinConfig(v, k)])) as T;
  }
  return value;
}

/** Longest single argument Linux takes (MAX_ARG_STRLEN): `sh -c <command>` on the host must fit. */
const maxCommandLine = 128 * 1024;
/** What the schema promises env values (and a rollback reason) never hold. */
const controlChar = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]/;
/** The characters a YAML reader takes (YAML 1.1 "printable", as PyYAML checks it). */
const yamlPrintable = /^[\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;
/** Printable ASCII without blanks: what every value that reaches a command must be. */
const commandWord = /^[\x21-\x7e]+$/;

/** The values of a config that reach a host command (or the SSH connection), by where they are. */
function commandValues(cfg: StackConfig): [string, string][] {
  const values: [string, string][] = [
    ["appDir", cfg.appDir],
    ...cfg.hosts.flatMap((h): [string, string][] => (h.appDir ? [["hosts.appDir", h.appDir]] : [])),
    ["composeProject", cfg.composeProject],
    ["release.id", cfg.release.id],
    ["health.baseUrl", cfg.health.baseUrl],
    ...cfg.health.endpoints.map((e): [string, string] => ["health.endpoints", e.path]),
    ...cfg.health.checks.flatMap((c): [string, string][] => (c.kind === "exec" ? [["health.checks.service", c.service], ["health.checks.command[0]", c.command[0]!]] : [])),
    ...cfg.hosts.flatMap((h): [string, string][] => [
      ["hosts.host", h.host],
      ["hosts.user", h.user],
      ["hosts.name", h.name ?? h.host],
    ]),
  ];
  if (cfg.release.gitSha) values.push(["release.gitSha", cfg.release.gitSha]);
  for (const [name, svc] of Object.entries(cfg.services)) {
    values.push(["services (name)", name]);
    if (svc.image) values.push(["services.image", svc.image]);
    for (const v of svc.volumes) values.push(["services.volumes", v]);
    for (const v of volumesToSnapshot(svc)) values.push(["services.snapshotVolumes", v]);
    for (const d of svc.dependsOn) values.push(["services.dependsOn", d]);
  }
  for (const [name, ref] of Object.entries(cfg.release.images)) values.push(["release.images (service)", name], ["release.images", ref]);
  if (cfg.registryAuth) values.push(["registryAuth.server", cfg.registryAuth.server], ["registryAuth.username", cfg.registryAuth.username]);
  return values;
}

function envMaps(cfg: StackConfig): [string, Record<string, string>][] {
  return [
    ["release.env", cfg.release.env],
    ["secretEnv", cfg.secretEnv],
    ...Object.entries(cfg.services).map(([n, s]): [string, Record<string, string>] => [`services.${n}.environment`, s.environment]),
  ];
}

/** An accepted config is inert: the checks the module comment lists. Throws (expect) otherwise. */
function proveInert(cfg: StackConfig, label: string): void {
  // 1. What the schema promises: command values are printable ASCII words that are no option;
  //    env names are identifiers, env values one line of text without a backslash.
  for (const [where, value] of commandValues(cfg)) {
    expect(value, `${label}: ${where}`).toMatch(commandWord);
    expect(value.startsWith("-"), `${label}: ${where} ${JSON.stringify(value)} reads as an option`).toBe(false);
  }
  const caps: [string, string[], number][] = [
    ["appDir", [cfg.appDir, ...cfg.hosts.flatMap((h) => (h.appDir ? [h.appDir] : []))], limits.appDir],
    ["names", [cfg.composeProject, ...Object.keys(cfg.services), ...Object.keys(cfg.release.images), ...cfg.hosts.flatMap((h) => (h.name ? [h.name] : []))], 63],
    ["release.id", [cfg.release.id], 64],
    ["image references", [...Object.values(cfg.release.images), ...Object.values(cfg.services).flatMap((s) => (s.image ? [s.image] : []))], limits.imageReference],
    ["volumes", Object.values(cfg.services).flatMap((s) => s.volumes), limits.volume],
    ["health.baseUrl", [cfg.health.baseUrl], limits.baseUrl],
    ["health.endpoints", cfg.health.endpoints.map((e) => e.path), limits.endpoint],
    ["health.checks exec arguments", cfg.health.checks.flatMap((c) => (c.kind === "exec" ? c.command : [])), limits.execArg],
    ["health.checks prometheus query", cfg.health.checks.flatMap((c) => (c.kind === "prometheus" ? [c.query] : [])), limits.promQuery],
    ["health.checks prometheus url", cfg.health.checks.flatMap((c) => (c.kind === "prometheus" ? [c.url] : [])), limits.baseUrl],
    ["hosts.host", cfg.hosts.map((h) => h.host), 253],
    ["hosts.user", cfg.hosts.map((h) => h.user), 32],
    ["registryAuth.server", cfg.registryAuth ? [cfg.registryAuth.server] : [], limits.registryServer],
    ["notify urls", cfg.notify.flatMap((n) => (n.url ? [n.url] : [])), notifyLimits.url],
  ];
  for (const [where, values, cap] of caps) {
    for (const v of values) expect(v.length, `${label}: ${where} over its cap`).toBeLessThanOrEqual(cap);
  }
  for (const c of cfg.health.checks) {
    if (c.kind !== "exec") continue;
    expect(c.command.length, `${label}: exec arguments`).toBeLessThanOrEqual(limits.execArgs);
    for (const arg of c.command) {
      expect(arg, `${label}: exec argument`).toMatch(/^[\x20-\x7e]*$/);
      // Quoted as one word each: the /bin/sh round trip below must give it back byte for byte.
      reachedCommands.add(arg);
    }
    expect(c.timeoutSeconds >= 1 && c.timeoutSeconds <= 300 && Number.isInteger(c.timeoutSeconds), `${label}: exec timeout`).toBe(true);
  }
  for (const h of cfg.hosts) {
    expect(Number.isInteger(h.port) && h.port >= 1 && h.port <= 65535, `${label}: port ${h.port}`).toBe(true);
    if (h.hostKey) expect(h.hostKey, label).toMatch(/^(?:ssh-|ecdsa-)[\x21-\x7e]+ [A-Za-z0-9+/=]+$/);
  }
  for (const [where, env] of envMaps(cfg)) {
    expect(Object.keys(env).length, `${label}: ${where}`).toBeLessThanOrEqual(limits.envEntries);
    for (const [k, v] of Object.entries(env)) {
      expect(k, `${label}: ${where}`).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      expect(controlChar.test(v) || v.includes("\\") || /\p{Cs}/u.test(v), `${label}: ${where}.${k} ${JSON.stringify(v)}`).toBe(false);
      expect(v.length, `${label}: ${where}.${k}`).toBeLessThanOrEqual(4096);
    }
  }

  // 2. Every command: the same shell structure as with the harmless twin of every value, and
  //    short enough for one command line.
  const commands = builtCommands(cfg);
  const twins = builtCommands(twinConfig(cfg));
  expect(twins.map((c) => c.name)).toEqual(commands.map((c) => c.name));
  commands.forEach((c, i) => {
    expect(skeleton(c.command), `${label}: ${c.name}\n${c.command}`).toBe(skeleton(twins[i]!.command));
    if (c.line) expect(Buffer.byteLength(c.command), `${label}: ${c.name} is too long for a command line`).toBeLessThan(maxCommandLine);
  });
  for (const [, v] of commandValues(cfg)) reachedCommands.add(v);
  if (sampledCommands.length < 400) sampledCommands.push(...commands.map((c) => ({ name: `${label}: ${c.name}`, command: c.command })));

  // 3. The files a release writes read back as the config said (compose v1 and v2 alike).
  proveFilesInert(cfg, label, commands[0]!.command);
}

function proveFilesInert(cfg: StackConfig, label: string, script: string): void {
  const names = Object.keys(cfg.services).sort();
  const images = Object.fromEntries(names.map((n) => [n, `${hc.splitImageRef(imageOf(cfg, n)).repo}@${digest}`]));
  const compose = renderComposeFile({ services: cfg.services, images });
  expect(compose, `${label}: the compose file holds a character YAML readers refuse`).toMatch(yamlPrintable);
  for (const version of ["1.1", "1.2"] as const) {
    const doc = parseYaml(compose, { version }) as { services: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.services).sort(), `${label}: YAML ${version}`).toEqual(names);
    for (const n of names) {
      const svc = cfg.services[n]!;
      const d = doc.services[n]!;
      expect(d.image).toBe(images[n]);
      expect([d.network_mode, d.restart]).toEqual([svc.networkMode, svc.restart]);
      // Compose reads "$$" as one "$" (no interpolation).
      expect(d.environment ?? {}, `${label}: ${n}.environment in YAML ${version}`).toEqual(
        Object.fromEntries(Object.entries(svc.environment).map(([k, v]) => [k, v.replace(/\$/g, "$$$$")])),
      );
      expect(d.volumes ?? []).toEqual(svc.volumes);
      expect(d.depends_on ?? []).toEqual([...svc.dependsOn].sort());
    }
  }

  const envFile = renderEnvFile(cfg.release.env, cfg.secretEnv);
  const merged = { ...cfg.release.env, ...cfg.secretEnv };
  const lines = envFile.split("\n");
  expect(lines.pop()).toBe("");
  expect(lines.length, `${label}: one env line per entry`).toBe(Object.keys(merged).length);
  const read = Object.fromEntries(
    lines.map((line) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)='((?:[^'\\\r\n]|\\')*)'$/.exec(line);
      expect(m, `${label}: env line ${JSON.stringify(line)}`).not.toBeNull();
      return [m![1]!, m![2]!.replace(/\\'/g, "'")];
    }),
  );
  expect(read).toEqual(merged);

  const prefix = renderReleaseRecordPrefix({
    id: cfg.release.id,
    gitSha: cfg.release.gitSha ?? null,
    images,
    composeSha256: sha256Hex(compose),
    composeCommand: cfg.composeCommand,
  });
  expect(prefix, `${label}: the record is one line`).not.toMatch(/[\n\r]/);
  const record = hc.releaseRecordSchema.parse(JSON.parse(`${prefix},"deployedAt":"2026-11-27T06:00:00Z"}`));
  expect([record.id, record.gitSha]).toEqual([cfg.release.id, cfg.release.gitSha ?? null]);

  const stdin = hc.switchReleaseStdin({ script, compose, env: envFile, currentRecordPrefix: prefix });
  const parts = stdin.split("\n");
  expect(parts.length).toBe(5);
  [script, compose, envFile, prefix].forEach((text, i) => {
    expect(Buffer.from(parts[i]!, "base64").equals(Buffer.from(text, "utf8")), `${label}: stdin line ${i + 1}`).toBe(true);
  });
}

/**
 * Refused with a ConfigError naming `keys` (and nothing else, and never showing `secret`), or
 * accepted and inert.
 */
function judgeConfig(raw: Record<string, string>, keys: string[], label: string, secret?: unknown): "refused" | "inert" {
  let cfg: StackConfig;
  try {
    cfg = parseStackConfig(raw);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw new Error(`${label}: not a ConfigError: ${String(err)}`);
    if (typeof secret === "string" && secret.length >= 6) expect(err.message.includes(secret), `${label}: the secret value is shown`).toBe(false);
    const named = err.problems.map((p) => p.key);
    expect(named.some((k) => keys.some((f) => within(k, f))), `${label}: names none of ${keys.join(", ")}: ${named.join(", ")}`).toBe(true);
    expect(named.filter((k) => !keys.some((f) => within(k, f))), `${label}: names other keys`).toEqual([]);
    refusedBy.ConfigError = (refusedBy.ConfigError ?? 0) + 1;
    return "refused";
  }
  proveInert(cfg, label);
  return "inert";
}

// ---- configs ----

describe("hostile stack configs: refused naming the key, or inert", { timeout: slow }, () => {
  it("the base config itself is accepted and inert", () => {
    expect(judgeConfig(toRaw(baseConfig()), [], "base")).toBe("inert");
  });

  const runsPerField = runs(40);
  it.each(fields.map((f) => [f.name, f] as const))("%s", (_name, field) => {
    fc.assert(
      fc.property(valuesFor(field), (value) => {
        const cfg = baseConfig();
        const key = field.apply(cfg, value);
        const label = `${field.name} = ${JSON.stringify(value)?.slice(0, 200)}`;
        const outcome = judgeConfig(toRaw(cfg), [key, ...(field.also ?? [])], label, field.secret ? value : undefined);
        if (outcome === "inert" && field.numeric) {
          // "0x16", " 22", "1e3", "22abc", lookalike digits: never accepted, whatever they would coerce to.
          const plain = field.numeric === "whole" ? /^-?(?:0|[1-9][0-9]*)$/ : /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
          expect(typeof value === "number" || (typeof value === "string" && plain.test(value)), `${label} was accepted`).toBe(true);
        }
        count(tally.configs, outcome, field.name);
      }),
      { numRuns: runsPerField },
    );
  });

  it("names every object already has (__proto__, constructor, toString…) in every name field", () => {
    const nameFields = fields.filter((f) => /\(name\)|\(key\)|\(service\)|composeProject|hosts\[\]\.name/.test(f.name));
    expect(nameFields.length).toBeGreaterThanOrEqual(7);
    for (const field of nameFields) {
      for (const name of prototypeNames) {
        const cfg = baseConfig();
        const key = field.apply(cfg, name);
        count(tally.configs, judgeConfig(toRaw(cfg), [key, ...(field.also ?? [])], `${field.name} = ${name}`), "(names objects have)");
      }
    }
  });

  it("several hostile fields at once: every problem is named, no other key is", () => {
    const combos = fc.uniqueArray(fc.constantFrom(...fields), { minLength: 2, maxLength: 5, selector: (f) => f.name }).chain((fs) =>
      fc.tuple(fc.constant(fs), fc.tuple(...fs.map(valuesFor))),
    );
    fc.assert(
      fc.property(combos, ([fs, values]) => {
        const cfg = baseConfig();
        const keys = fs.flatMap((f, i) => [f.apply(cfg, values[i]), ...(f.also ?? [])]);
        const label = fs.map((f, i) => `${f.name} = ${JSON.stringify(values[i])?.slice(0, 80)}`).join("; ");
        count(tally.configs, judgeConfig(toRaw(cfg), keys, label), "(several at once)");
      }),
      { numRuns: runs(200) },
    );
  });

  it("a config at every cap at once still fits every command line", () => {
    const cfg = baseConfig();
    const services: Json = {};
    for (let i = 0; i < limits.services; i++) {
      const name = `s${String(i).padStart(2, "0")}${"x".repeat(60)}`;
      services[name] = { image: `${"r".repeat(255 - 4)}${i}/a:${"t".repeat(128)}@${digest}`.slice(-limits.imageReference) };
    }
    Object.assign(cfg, {
      appDir: `/${"a".repeat(limits.appDir - 1)}`,
      composeProject: "p".repeat(63),
      services,
      release: { id: "r".repeat(64), gitSha: "f".repeat(40), images: {} },
      health: {
        baseUrl: `http://${"h".repeat(200)}:65535/${"b".repeat(limits.baseUrl - 220)}`,
        endpoints: Array.from({ length: limits.endpoints }, (_, i) => `/${String(i).padStart(2, "0")}${"e".repeat(limits.endpoint - 3)}`),
      },
      registryAuth: { server: `${"g".repeat(limits.registryServer - 6)}:65535`, username: "u".repeat(100), password: "p" },
    });
    const parsed = parseStackConfig(toRaw(cfg));
    expect(Object.keys(parsed.services)).toHaveLength(limits.services);
    proveInert(parsed, "every cap");
  });
});

// ---- raw values straight into the builders (defense in depth: as if the schema let them by) ----

describe("the command builders quote whatever they get", { timeout: slow }, () => {
  // Up to 5,000 characters: length is the schema's business; here it only costs time.
  const raw = (valid: string) => hostileFrom(valid, "a", 5_000);
  const layoutArb = fc.record({ appDir: raw("/opt/awareness"), composeProject: raw("awareness"), composeCommand: fc.constantFrom("docker compose" as const, "docker-compose" as const) });
  const words = fc.record({
    layout: layoutArb,
    id: raw("v1"),
    service: raw("backend"),
    ref: raw(`ghcr.io/a/b@${digest}`),
    server: raw("ghcr.io"),
    username: raw("bot"),
    url: raw("http://127.0.0.1:18080/api/health"),
  });
  type Words = typeof words extends fc.Arbitrary<infer W> ? W : never;

  function buildersOf(w: Words): [string, () => string][] {
    const login = { server: w.server, username: w.username };
    return [
      ["switchRelease", () => hc.switchRelease({ layout: w.layout, releaseId: w.id, services: [{ name: w.service, image: w.ref, waitHealthy: true }], retainBackups: 5, startTimeoutSeconds: 90, stableChecks: 2 })],
      ["switchReleaseCommand", () => hc.switchReleaseCommand({ layout: w.layout, releaseId: w.id, images: { [w.service]: w.ref } })],
      ["teardown", () => hc.teardown(w.layout)],
      ["listBackups", () => hc.listBackups(w.layout)],
      ["restoreBackupSet", () => hc.restoreBackupSet({ layout: w.layout, set: "20260101T000000Z-v1", retainSets: 5, startTimeoutSeconds: 90, stableChecks: 2 })],
      ["acquireLock", () => hc.acquireLock(w.layout, { holder: "h", nonce: "n0nce", releaseId: w.id, leaseSeconds: 60 })],
      ["inspectLock", () => hc.inspectLock(w.layout)],
      ["precheckProbe", () => hc.precheckProbe(w.layout)],
      ["readDeploymentStatus", () => hc.readDeploymentStatus(w.layout)],
      ["markReleaseVerified", () => hc.markReleaseVerified(w.layout, w.id)],
      ["runningServices", () => hc.runningServices(w.layout)],
      ["serviceContainerIds", () => hc.serviceContainerIds(w.layout, w.service)],
      ["pullAndResolveDigest", () => hc.pullAndResolveDigest(w.service, w.ref, login)],
      ["registryLogin", () => hc.registryLogin(login)],
      ["imagesPresent", () => hc.imagesPresent([w.ref])],
      ["registryHasImages", () => hc.registryHasImages([w.ref])],
      ["removeImagesExcept", () => hc.removeImagesExcept([w.ref], [w.ref])],
      ["probeFromHost", () => hc.probeFromHost(w.url, 5)],
      ["hostProbeCommand", () => hostProbeCommand(w.url, [w.id], 5000)],
    ];
  }

  it("every raw hostile value adds literal text only (or the builder refuses it)", () => {
    fc.assert(
      fc.property(words, (w) => {
        const twin: Words = { ...w, layout: { ...w.layout, appDir: twinOf(w.layout.appDir), composeProject: twinOf(w.layout.composeProject) } };
        for (const k of ["id", "service", "ref", "server", "username", "url"] as const) twin[k] = twinOf(w[k]);
        const twins = buildersOf(twin);
        let refused = false;
        buildersOf(w).forEach(([name, build], i) => {
          let command: string;
          try {
            command = build();
          } catch (err) {
            // The one-line guard of the switch's comment, and the NUL guard of the quoting helper.
            expect(String(err), name).toMatch(/single-line|single line|NUL character/);
            refused = true;
            return;
          }
          expect(skeleton(command), `${name} with ${JSON.stringify(w).slice(0, 300)}`).toBe(skeleton(twins[i]![1]()));
        });
        if (refused) refusedBy["a builder's guard"] = (refusedBy["a builder's guard"] ?? 0) + 1;
        count(tally.builders, refused ? "refused" : "inert");
      }),
      { numRuns: runs(500) },
    );
  });

  it("harmless commands built with hostile app dirs run for real and do only what they say", () => {
    const dir = mkdtempSync(join(tmpdir(), "awareness-hostile-"));
    const canary = join(dir, "pwned");
    const payloads = [`$(touch ${canary})`, `\`touch ${canary}\``, `; touch ${canary}`, `'; touch ${canary}; '`, `"; touch ${canary}; "`, `\ntouch ${canary}\n`, `|touch ${canary}`, `&& touch ${canary}`];
    const appDir = fc.tuple(hostileFrom("/opt/awareness"), fc.constantFrom(...payloads), fc.nat()).map(([a, p, at]) => {
      const i = at % (a.length + 1);
      return (a.slice(0, i) + p + a.slice(i)).replace(/\0/g, "");
    });
    try {
      fc.assert(
        fc.property(appDir, (dirValue) => {
          const layout: hc.HostLayout = { appDir: `${dir}/${dirValue}`, composeProject: "p", composeCommand: "docker compose" };
          // Reads <appDir>/deployment.json, which does not exist: prints "null". Looks for the lock dir: "unlocked".
          // One shell each (the lock command exits early when there is no app dir), from a file (a huge app dir would overflow argv).
          const out = [hc.readDeploymentStatus(layout), hc.inspectLock(layout), hc.listBackups(layout)]
            .map((command) => {
              const file = join(dir, "command.sh");
              writeFileSync(file, command);
              return execFileSync("/bin/sh", [file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
            })
            .join("");
          expect(out).toBe("null\nunlocked\n");
          expect(existsSync(canary), `${JSON.stringify(dirValue)} ran a command`).toBe(false);
        }),
        { numRuns: runs(60) },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- CLI argument sets ----

/** The current stack config the CLI's request is applied to (what the engine would hand over). */
const stackConfigMap: ConfigMap = Object.fromEntries(Object.entries(toRaw(baseConfig())).map(([k, v]) => [k, { value: v, secret: false }]));

function parseArgs<T>(cmd: import("commander").Command, args: string[]): T {
  let options: T | undefined;
  cmd
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .action((o: T) => {
      options = o;
    })
    .parse(args, { from: "user" });
  return options!;
}

/** A valid value (the sample or a plausible one), or (one time in three) a hostile one. */
const cliValue = (valid: string, plausible: fc.Arbitrary<string>, filler?: string) =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: plausible }, { weight: 1, arbitrary: hostileFrom(valid, filler) });
const stackNames = cliValue("production", fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/), "p");
/** `--opt value` or `--opt=value`. */
const opt = (name: string, value: fc.Arbitrary<string>) =>
  fc.tuple(value, fc.boolean()).map(([v, joined]) => (joined ? [`${name}=${v}`] : [name, v]));

const releaseArgs = fc
  .tuple(
    opt("--stack", stackNames),
    opt("--release", cliValue("v42", fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/))),
    fc.option(opt("--git-sha", cliValue("0123abc", fc.stringMatching(/^[0-9a-f]{7,40}$/), "f")), { nil: undefined }),
    fc.array(
      opt(
        "--image",
        fc
          .tuple(cliValue("backend", fc.constantFrom("redis", "nginx")), cliValue(`ghcr.io/acme/b@${digest}`, fc.stringMatching(/^[a-z0-9]{1,20}(\/[a-z0-9]{1,20}){0,2}:[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), "b"))
          .map(([s, r]) => `${s}=${r}`),
      ),
      { maxLength: 3 },
    ),
    fc.array(
      opt("--env", fc.tuple(cliValue("LOG_LEVEL", fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,20}$/), "L"), cliValue("debug", fc.string())).map(([k, v]) => `${k}=${v}`)),
      { maxLength: 3 },
    ),
    fc.oneof(
      { weight: 4, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom(...optionLike, "--skip-ci-check", "--allow-dirty"), hostilePiece), { minLength: 1, maxLength: 2 }) },
    ),
  )
  .chain(([stack, release, sha, images, env, extra]) =>
    fc.shuffledSubarray([stack, release, ...(sha ? [sha] : []), ...images, ...env], { minLength: 2 + (sha ? 1 : 0) + images.length + env.length }).map(
      (parts) => [...parts.flat(), ...extra],
    ),
  );

const rollbackArgs = fc
  .tuple(
    opt("--stack", stackNames),
    opt("--reason", cliValue("login broken after v42", fc.string({ unit: "grapheme", minLength: 1, maxLength: 200 }))),
    opt("--confirm", cliValue("ROLLBACK", fc.constant("ROLLBACK"), "K")),
    fc.option(opt("--to", cliValue("v41", fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/))), { nil: undefined }),
  )
  .map(([stack, reason, confirm, to]) => [...stack, ...reason, ...confirm, ...(to ?? [])]);

/** A refusal the CLI makes before any engine or SSH: commander's, a usage error, a config error. */
function refusal(err: unknown, label: string): string {
  if (err instanceof CommanderError) return `commander (${err.code})`;
  if (err instanceof UsageError) return "UsageError";
  if (err instanceof ConfigError) {
    const keys = err.problems.map((p) => p.key);
    expect(keys.filter((k) => !within(k, "awareness:release")), `${label}: only the release's keys`).toEqual([]);
    return "ConfigError";
  }
  throw new Error(`${label}: not a usage or config error: ${String(err)}`);
}

/** Some argument sets the checks refused (not commander), to run through the driver itself. */
const refusedRequests: { stack: string; options: ReleaseOptions }[] = [];

describe("hostile CLI argument sets: refused as usage or config errors, or inert", { timeout: slow }, () => {
  it("deploy/precheck/preview arguments (through commander, releaseFields, nextRelease, configWithRelease)", () => {
    fc.assert(
      fc.property(releaseArgs, (args) => {
        const label = `deploy ${JSON.stringify(args).slice(0, 300)}`;
        let config: StackConfig;
        let stackName: string;
        let o: ReleaseOptions | undefined;
        try {
          o = parseArgs<ReleaseOptions>(releaseCommand("deploy", "test"), args);
          stackName = checkStackName(o.stack);
          const request = releaseFields(o, {});
          const release = nextRelease(releaseIn(stackConfigMap, "the test config"), request);
          config = configWithRelease(stackConfigMap, release);
        } catch (err) {
          const by = refusal(err, label);
          refusedBy[by] = (refusedBy[by] ?? 0) + 1;
          count(tally.cli, "refused");
          if (o && refusedRequests.length < 150) refusedRequests.push({ stack: o.stack, options: o });
          return;
        }
        expect(stackName, label).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/);
        proveInert(config, label);
        count(tally.cli, "inert");
      }),
      { numRuns: runs(1200) },
    );
  });

  it("the driver itself refuses them before any engine opens a stack or any SSH door opens", async () => {
    expect(refusedRequests.length).toBeGreaterThan(50);
    for (const { stack, options } of refusedRequests) {
      const fakeStack = new FakeStack(stack, stackConfigMap);
      const deps = fakeDeps({ stack: fakeStack, host: new FakeHost(), prober: () => ({ probe: async () => [] }) });
      const summary = await deploy({ stackName: stack, ...releaseFields(options, {}), deps, skipCiCheck: true, allowDirty: true });
      const label = `deploy ${JSON.stringify(options).slice(0, 300)}`;
      expect(["usage", "invalid-config"], label).toContain(summary.outcome);
      expect(summary.exitCode, label).toBe(2);
      expect(deps.hostOpens, label).toEqual([]);
      if (summary.outcome === "usage") expect(fakeStack.opened, label).toEqual([]);
    }
  });

  it("rollback arguments (through commander and checkRollbackRequest)", () => {
    fc.assert(
      fc.property(rollbackArgs, (args) => {
        const label = `rollback ${JSON.stringify(args).slice(0, 300)}`;
        let o: RollbackOptions;
        try {
          o = parseArgs<RollbackOptions>(rollbackCommand(), args);
          checkStackName(o.stack);
          checkRollbackRequest(o);
        } catch (err) {
          const by = refusal(err, label);
          refusedBy[by] = (refusedBy[by] ?? 0) + 1;
          count(tally.cli, "refused");
          return;
        }
        // The reason goes to the log, the report and the engine's update message (an argv
        // element, never a shell): one line of text; --to is only compared with recorded ids.
        expect(o.confirm).toBe("ROLLBACK");
        expect(controlChar.test(o.reason) || o.reason.length > 1000, label).toBe(false);
        if (o.to !== undefined) expect(o.to, label).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
        count(tally.cli, "inert");
      }),
      { numRuns: runs(300) },
    );
  });

  it("the CLI turns --image/--env into exactly the pairs given (split at the first =)", () => {
    const o = parseArgs<ReleaseOptions>(releaseCommand("deploy", "t"), ["--release", "v1", "--image", "backend=a:1", "--env", "A=b=c", "--env", "__proto__=x"]);
    expect(releaseFields(o, { GITHUB_SHA: "abc1234" })).toEqual({
      releaseId: "v1",
      gitSha: "abc1234",
      images: { backend: "a:1" },
      env: { A: "b=c", ["__proto__" as string]: "x" },
    });
    expect(Object.keys(o.env!)).toEqual(["A", "__proto__"]);
    expect(() => configWithRelease(stackConfigMap, nextRelease(undefined, releaseFields(o, {})))).toThrow(/awareness:release.env.__proto__: __proto__ cannot be used as a name here/);
  });
});

// ---- real shells ----

describe("through a real /bin/sh", { timeout: slow }, () => {
  it("the skeleton sees what the shell sees: quoted text is literal, anything else is structure", () => {
    const same = (a: string, b: string) => expect(skeleton(a), `${a} vs ${b}`).toBe(skeleton(b));
    const differ = (a: string, b: string) => expect(skeleton(a), `${a} vs ${b}`).not.toBe(skeleton(b));
    same("echo 'a;b $(id)'", "echo xxbxxxidx");
    same("echo 'it'\\''s'", "echo its");
    same("echo a\\;b", "echo axb");
    same("cd '/opt/a b' || exit 1", "cd /opt/axb || exit 1");
    same(`x="$(printf '%s' "$y")"`, `x="$(printf '%s' "$y")"`);
    differ("echo a;b", "echo axb");
    differ("echo a$(id)", "echo axxidx");
    differ("echo `id`", "echo xidx");
    differ("echo a\nid", "echo axid");
    differ("echo a b", "echo axb");
    differ("echo *", "echo x");
    differ(`echo "$x"`, `echo "xx"`);
    differ("# a\nid", "# axid");
    differ(`echo "a$(id)"`, `echo "axxidx"`);
    expect(() => skeleton("echo 'a")).toThrow(/unterminated/);
    expect(() => skeleton('echo "a')).toThrow(/unterminated/);
    expect(() => skeleton("echo $(a")).toThrow(/unterminated/);
  });

  it("every value that reached a command, and every hostile piece, quoted by the helper, comes back byte for byte", () => {
    const pieces = [...controlChars, ...unicodeTricks, ...optionLike, ...numberTexts, "a'b", "'", "''", "\\'", "$'x'", "${x:-$(id)}"].filter((v) => !v.includes("\0"));
    const generated = fc.sample(fc.string({ unit: "binary", maxLength: 60 }), 300).filter((v) => !v.includes("\0"));
    const huge = [grow("/opt/x", "$(id)'", 20_000), "\u202E".repeat(5000)];
    const values = [...reachedCommands, ...pieces, ...generated, ...huge];
    expect(values.length).toBeGreaterThan(500);
    expect(roundTrip(values)).toEqual([]);
    expect(() => hc.shellQuote("a\0b")).toThrow(/NUL/);
  });

  it("the commands of accepted configs parse (sh -n), as the skeletons assumed", () => {
    expect(sampledCommands.length).toBeGreaterThan(100);
    expect(syntaxErrors(sampledCommands)).toEqual([]);
  });
});
