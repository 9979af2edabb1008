// The one schema for a stack's config (namespace "awareness"). Every value that can reach a
// shell on the host is pinned down here by a pattern, so the command builders only ever see
// names, paths and references of a known shape (and still quote them).
import { z } from "zod";
import { githubConfigSchema, githubSecretPaths } from "../github/config.js";
import { notifySchema, notifySecretPaths } from "./notify.js";

export const configNamespace = "awareness";

// ---- value patterns (each says, in its message, what is allowed) ----

const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[?[0-9A-Fa-f:]{2,39}\]?)$/;
const userPattern = /^[a-z_][a-z0-9_-]{0,31}$/;
const hostKeyPattern = /^(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) [A-Za-z0-9+/]+={0,3}(?: [A-Za-z0-9@._-]{1,100})?$/;
const absolutePathPattern = /^\/[A-Za-z0-9._/-]*$/;
const namePattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const releaseIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const gitShaPattern = /^[0-9a-f]{7,40}$/;
const envKeyPattern = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
// Env values land in an env file, one per line, and in the compose file: no line breaks or other
// control characters (C0 but tab, DEL, C1), no NUL, no Unicode line separators or the
// noncharacters U+FFFE/U+FFFF (YAML readers refuse or fold them), and no backslash (compose v2
// keeps "\\" literally inside quotes, docker-compose v1 unescapes it).
const envValuePattern = /^[^\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff\\]{0,4096}$/;
/** A lone UTF-16 surrogate cannot be written as UTF-8: it would reach the host changed. */
const loneSurrogate = /\p{Cs}/u;
const urlPathPattern = /^\/[A-Za-z0-9._~/-]*$/;
const baseUrlPattern = /^https?:\/\/[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:\/[A-Za-z0-9._~/-]*)?$/;
const volumeNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const volumePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*:\/[A-Za-z0-9._/-]*(?::(?:ro|rw))?$/;
const jsonPathPattern = /^[A-Za-z0-9_-]{1,64}(?:\.[A-Za-z0-9_-]{1,64}){0,15}$/;
const checkNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const resourceTypePattern = /^[A-Za-z0-9:/._-]{1,200}$/;

/**
 * An image reference: repository (optionally with a registry host[:port]) plus a tag, a
 * digest, or both. A bare repository (implicitly :latest) is refused: a release must say
 * what it runs.
 */
const imageRefPattern =
  /^(?<repo>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5}(?=\/))?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[0-9a-f]{64}))?$/;

export const digestRefPattern = /^[a-z0-9][a-z0-9._:/-]*@sha256:[0-9a-f]{64}$/;

const noDotDot = (path: string) => !path.split("/").includes("..") && !path.split("/").includes(".");

// ---- length caps: every string that can reach a host, a command line or a file is bounded ----

export const limits = {
  /** A path on the host. */
  appDir: 255,
  /** Docker's own limit for an image name (registry host, port and path). */
  imageRepository: 255,
  /** registry/repo (255) + ":" and a tag (129) + "@sha256:" and 64 hex (72). */
  imageReference: 456,
  volume: 512,
  volumeName: 255,
  baseUrl: 1024,
  endpoint: 512,
  registryServer: 255,
  hostKey: 4096,
  /** PEM private keys and registry passwords (secrets; never on a command line). */
  secretText: 16_384,
  hosts: 50,
  services: 50,
  endpoints: 20,
  volumesPerService: 50,
  envEntries: 500,
  replaceAllowances: 100,
  /** Health checks besides the endpoints (exec, prometheus). */
  checks: 20,
  /** A JSON expectation's path (dot-separated keys and indexes) and an expected text. */
  jsonPath: 256,
  expectedText: 256,
  jsonExpectations: 10,
  /** An exec check's command: arguments and the length of each. */
  execArgs: 16,
  execArg: 256,
  promQuery: 1000,
  checkName: 64,
} as const;

const atMost = (n: number) => `at most ${n} characters`;

/**
 * A number as JSON gives it, or as text in plain decimal notation ("22", "0.5"; whole numbers
 * without a fraction): never hex, exponents, blanks, a "+", lookalike digits or trailing junk
 * ("0x16", "1e3", " 22", "22abc", "22.0" for a port are refused), and only within [min, max]
 * (above min when `aboveMin`).
 */
const plainDecimal = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const plainWhole = /^-?(?:0|[1-9][0-9]*)$/;
function numberSetting(range: { min: number; max: number; whole?: boolean; aboveMin?: boolean }) {
  const kind = range.whole ? "a whole number" : "a number";
  const message = range.aboveMin
    ? `expected ${kind} greater than ${range.min} and at most ${range.max}`
    : `expected ${kind} from ${range.min} to ${range.max}`;
  const text = range.whole ? plainWhole : plainDecimal;
  return z.unknown().transform((value, ctx): number => {
    const n = typeof value === "number" ? value : typeof value === "string" && text.test(value) ? Number(value) : Number.NaN;
    const inRange = (range.aboveMin ? n > range.min : n >= range.min) && n <= range.max;
    if (!Number.isFinite(n) || !inRange || (range.whole && !Number.isInteger(n))) {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    }
    return n;
  });
}

/**
 * A record (map) whose keys the `key` schema checks. A "__proto__" key is refused by name:
 * zod (and any plain object) would drop it without a word.
 */
function record<K extends z.ZodType<string>, V extends z.ZodType>(key: K, value: V) {
  return z.preprocess((input, ctx) => {
    if (input !== null && typeof input === "object" && Object.hasOwn(input, "__proto__")) {
      ctx.addIssue({ code: "custom", path: ["__proto__"], message: "__proto__ cannot be used as a name here" });
    }
    return input;
  }, z.record(key, value));
}

/** A "host:port" or "host" whose port, if any, is 1..65535. */
function portInRange(hostPort: string): boolean {
  const m = /:([0-9]+)$/.exec(hostPort);
  return !m || (Number(m[1]) >= 1 && Number(m[1]) <= 65535);
}

// ---- sections ----

const imageRefSchema = z
  .string()
  .max(limits.imageReference, { message: `expected an image reference of ${atMost(limits.imageReference)}`, abort: true })
  .refine(
    (ref) => {
      const m = imageRefPattern.exec(ref);
      const repo = m?.groups?.repo ?? "";
      return (
        m !== null &&
        (m.groups?.tag !== undefined || m.groups?.digest !== undefined) &&
        repo.length <= limits.imageRepository &&
        portInRange(repo.split("/")[0] ?? "")
      );
    },
    {
      message: `expected an image reference with a tag or digest: registry/repo:tag or registry/repo@sha256:<64 hex> (repository ${atMost(limits.imageRepository)}, registry port 1 to 65535)`,
    },
  );

const appDirSchema = z
  .string()
  .max(limits.appDir, { message: `expected an absolute path of ${atMost(limits.appDir)}`, abort: true })
  .regex(absolutePathPattern, "expected an absolute path of letters, digits and . _ - / (e.g. /opt/awareness)")
  .refine((p) => noDotDot(p), "no '.' or '..' path segments allowed")
  .refine((p) => p !== "/" && !p.endsWith("/"), "must name a directory below / without a trailing slash");

const baseUrlSchema = z
  .string()
  .max(limits.baseUrl, { message: `expected a URL of ${atMost(limits.baseUrl)}`, abort: true })
  .regex(baseUrlPattern, "expected http(s)://host[:port][/path] (letters, digits and . _ ~ / - only)")
  .refine((url) => portInRange(/^https?:\/\/([^/]*)/.exec(url)?.[1] ?? ""), "the port must be from 1 to 65535");

const envValueMessage =
  "env values must be one line of text (no line breaks or other control characters except tab, no backslashes), at most 4096 characters";

const envMapSchema = record(
  z
    .string()
    .regex(envKeyPattern, "env names are letters, digits and _ (not starting with a digit)")
    // The env file is also compose's own .env: these would change how compose itself runs.
    .refine((k) => !/^(COMPOSE_|DOCKER_)/.test(k), "COMPOSE_* and DOCKER_* names are reserved for compose itself"),
  z
    .string()
    .regex(envValuePattern, envValueMessage)
    .refine((v) => !loneSurrogate.test(v), envValueMessage),
).refine((env) => Object.keys(env).length <= limits.envEntries, `at most ${limits.envEntries} env entries`);

const hostSchema = z.strictObject({
  /** Short name used in resource names and outputs. Default: the host with dots as dashes. */
  name: z.string().regex(namePattern, "expected a lowercase name of letters, digits, _ and -").optional(),
  host: z
    .string()
    .regex(hostPattern, "expected a host name or IP address")
    .refine((h) => h.split(".").every((label) => label.length <= 63), "each dot-separated part of a host name is at most 63 characters"),
  port: numberSetting({ min: 1, max: 65535, whole: true }).default(22),
  user: z.string().regex(userPattern, "expected a Unix user name (lowercase letters, digits, _ and -)").default("root"),
  /** PEM private key for this host (a Pulumi secret); default: awareness:sshPrivateKey. */
  privateKey: z.string().min(1).max(limits.secretText, atMost(limits.secretText)).optional(),
  /** Pinned host public key in authorized_keys form ("ssh-ed25519 AAAA…"); without it the host key is not checked. */
  hostKey: z
    .string()
    .max(limits.hostKey, { message: `expected a public key of ${atMost(limits.hostKey)}`, abort: true })
    .regex(hostKeyPattern, "expected '<key type> <base64> [comment]' (e.g. ssh-ed25519 AAAA…)")
    .transform((k) => k.split(" ").slice(0, 2).join(" "))
    .optional(),
  /** Where the app lives on this host; default: awareness:appDir. */
  appDir: appDirSchema.optional(),
  /** This host's own address for the health probes (a fleet's batches watch each host); default: awareness:health.baseUrl. */
  healthBaseUrl: baseUrlSchema.optional(),
  /** This host's compose project; default: awareness:composeProject. Lets several app copies share one Docker engine. */
  composeProject: z.string().regex(namePattern, "expected a lowercase name of letters, digits, _ and -").optional(),
  /**
   * Env for this host only (e.g. its region or port), written over the release env in its .env;
   * secretEnv still wins. Config, like services: not part of a release, so a change reaches the
   * host with the next update (not batch by batch) and a rollback does not undo it.
   */
  env: envMapSchema.optional(),
});


const serviceSchema = z.strictObject({
  /** Image when the release does not name one (e.g. redis:7-alpine). */
  image: imageRefSchema.optional(),
  /** The sandbox dockerd has no bridge network; host networking works everywhere. Default: host. */
  networkMode: z.enum(["host", "bridge", "none"]).default("host"),
  restart: z.enum(["no", "always", "unless-stopped", "on-failure"]).default("unless-stopped"),
  /** Plain (non-secret) environment of this service; written into the compose file. */
  environment: envMapSchema.default({}),
  /** Named volumes ("name:/path[:ro]"); teardown never deletes them. */
  volumes: z
    .array(
      z
        .string()
        .max(limits.volume, { message: `expected a volume of ${atMost(limits.volume)}`, abort: true })
        .regex(volumePattern, "expected 'volume-name:/absolute/path[:ro|:rw]'"),
    )
    .max(limits.volumesPerService)
    .default([]),
  /**
   * Archive the service's named volumes into the backup set of every switch, before it switches
   * (put back only by `restore --volumes`): true for all of its volumes, or a list of their names.
   */
  snapshotVolumes: z
    .union([
      z.boolean(),
      z
        .array(
          z
            .string()
            .max(limits.volumeName, `expected a volume name of ${atMost(limits.volumeName)}`)
            .regex(volumeNamePattern, "expected the name of one of this service's volumes (letters, digits, _ . -)"),
        )
        .max(limits.volumesPerService, `expected a list of at most ${limits.volumesPerService} of this service's volume names`),
    ], { error: `expected true, false or a list of at most ${limits.volumesPerService} of this service's volume names` })
    .default(false),
  dependsOn: z.array(z.string().regex(namePattern, "expected a service name")).max(limits.services).default([]),
  /** Whether the release env and secret env (the .env file) are given to this service. Default: true. */
  releaseEnv: z.boolean().default(true),
  /** Wait for the container's healthcheck to say healthy (when the image has one). Default: true. */
  waitHealthy: z.boolean().default(true),
});

/** How compose is invoked on the hosts: the v2 CLI plugin or the v1 binary. */
export const composeCommandSchema = z.enum(["docker compose", "docker-compose"]);

/**
 * A release: everything that differs between two deploys (besides secretEnv). The one shape
 * of a release: the stack config holds it, the driver writes and reads it back (parseRelease
 * in parse.ts), and a host's deployment.json records it (releaseRecordSchema in
 * host-commands/status.ts is derived from it).
 */
export const releaseSchema = z.strictObject({
  id: z.string().regex(releaseIdPattern, "expected letters, digits, . _ - (at most 64, starting with a letter or digit)"),
  gitSha: z.string().regex(gitShaPattern, "expected a lowercase hex git sha (7 to 40 characters)").optional(),
  images: record(z.string().regex(namePattern, "expected a service name"), imageRefSchema),
  env: envMapSchema.default({}),
});

const endpointPathSchema = z
  .string()
  .max(limits.endpoint, { message: `expected a URL path of ${atMost(limits.endpoint)}`, abort: true })
  .regex(urlPathPattern, "expected a URL path like /api/health");

/** Printable ASCII, blanks allowed: what reaches a report or (quoted) a command line. */
const printableText = (max: number, what: string) =>
  z
    .string()
    .max(max, { message: `expected ${what} of ${atMost(max)}`, abort: true })
    .regex(/^[\x20-\x7e]*$/, `expected ${what} of printable ASCII characters (no control characters)`);

/** A value a JSON field is compared with: text, a number or true/false. */
const jsonScalarSchema = z.union([printableText(limits.expectedText, "a text"), z.number(), z.boolean()], {
  error: `expected a text (${atMost(limits.expectedText)}), a number or true/false`,
});

/** One rule on the JSON body: the value at `path` equals one value, is one of several, or exists (no code, no eval). */
const jsonExpectationSchema = z
  .strictObject({
    path: z
      .string()
      .max(limits.jsonPath, { message: `expected a JSON path of ${atMost(limits.jsonPath)}`, abort: true })
      .regex(jsonPathPattern, "expected a dot-separated path of keys and array indexes, e.g. status or checks.0.state"),
    equals: jsonScalarSchema.optional(),
    oneOf: z.array(jsonScalarSchema).min(1).max(20).optional(),
    exists: z.boolean().optional(),
  })
  .refine((e) => [e.equals, e.oneOf, e.exists].filter((m) => m !== undefined).length === 1, {
    message: "expected exactly one of equals, oneOf or exists",
  });

const endpointObjectSchema = z.strictObject({
  path: endpointPathSchema,
  expect: z
    .strictObject({
      /** The exact HTTP status; default: any 2xx. */
      status: numberSetting({ min: 100, max: 599, whole: true }).optional(),
      json: z
        .union([jsonExpectationSchema, z.array(jsonExpectationSchema).min(1).max(limits.jsonExpectations)], {
          error: `expected a JSON expectation {path, equals|oneOf|exists} or a list of at most ${limits.jsonExpectations}`,
        })
        .transform((j) => (Array.isArray(j) ? j : [j]))
        .optional(),
    })
    .optional(),
  /** Latency budget: a slower answer is a failed check. */
  maxLatencyMs: numberSetting({ min: 1, max: 600_000, whole: true }).optional(),
});

/** A plain path ("/api/health") or an object with expectations; both become the object. */
const endpointSchema = z
  .union([endpointPathSchema, endpointObjectSchema], {
    error: "expected a URL path like /api/health or {path, expect: {status, json}, maxLatencyMs}",
  })
  .transform((e) => (typeof e === "string" ? { path: e } : e));

const checkNameSchema = z.string().regex(checkNamePattern, `expected a check name of letters, digits, . _ - (${atMost(limits.checkName)})`);

/** A command run in a service container on the primary host: `docker compose exec -T <service> <command…>`; exit 0 passes. */
const execCheckSchema = z.strictObject({
  kind: z.literal("exec"),
  name: checkNameSchema.optional(),
  service: z.string().regex(namePattern, "expected a service name"),
  command: z
    .array(printableText(limits.execArg, "an argument"))
    .min(1, { message: 'expected the command and its arguments, e.g. ["pg_isready"]', abort: true })
    .max(limits.execArgs, { message: `at most ${limits.execArgs} arguments`, abort: true })
    .refine((c) => /^[A-Za-z0-9_./][A-Za-z0-9_./+-]*$/.test(c[0] ?? ""), {
      message: "the first element must name a program (letters, digits and _ . / + -, not starting with -)",
      path: [0],
    }),
  timeoutSeconds: numberSetting({ min: 1, max: 300, whole: true }).default(10),
});

/** A Prometheus instant query whose single value must satisfy `<op> value`. */
const prometheusCheckSchema = z.strictObject({
  kind: z.literal("prometheus"),
  name: checkNameSchema.optional(),
  url: z
    .string()
    .max(limits.baseUrl, { message: `expected a URL of ${atMost(limits.baseUrl)}`, abort: true })
    .regex(baseUrlPattern, "expected http(s)://host[:port][/path] (letters, digits and . _ ~ / - only)")
    .refine((url) => portInRange(/^https?:\/\/([^/]*)/.exec(url)?.[1] ?? ""), "the port must be from 1 to 65535"),
  query: printableText(limits.promQuery, "a PromQL query").min(1, "expected a PromQL query"),
  op: z.enum(["<", "<=", ">", ">=", "==", "!="]),
  value: numberSetting({ min: -1e15, max: 1e15 }),
});

const healthCheckSchema = z.discriminatedUnion("kind", [execCheckSchema, prometheusCheckSchema], {
  error: 'expected a check with kind "exec" or "prometheus"',
});

const healthSchema = z.strictObject({
  baseUrl: baseUrlSchema.default("http://127.0.0.1:18080"),
  endpoints: z
    .array(endpointSchema)
    .min(1)
    .max(limits.endpoints)
    .default(["/api/health", "/api/docs", "/api/auth/status"].map((path) => ({ path }))),
  /** More checks each round (each result is one check): commands in containers, metrics queries. */
  checks: z.array(healthCheckSchema).max(limits.checks, `at most ${limits.checks} checks`).default([]),
  probeTimeoutSeconds: numberSetting({ min: 0, max: 60, aboveMin: true }).default(5),
  /** "http": the driver probes the URL; "ssh": the host probes itself (for apps not reachable from outside). */
  probeMode: z.enum(["http", "ssh"]).default("http"),
});

export const onFailureChoices = ["rollback", "pause"] as const;
export const pauseDecisions = ["promote", "abort"] as const;
export type PauseDecision = (typeof pauseDecisions)[number];
/** A pause is bounded: the deploy job holding it (and its host lock) must end within a hosted runner's 6 h, deploy and rollback included. */
export const pauseTimeoutMaxMinutes = 300;

const monitorSchema = z
  .strictObject({
    durationSeconds: numberSetting({ min: 0, max: 86_400, aboveMin: true }).default(300),
    intervalSeconds: numberSetting({ min: 0, max: 3_600, aboveMin: true }).default(30),
    consecutiveFailures: numberSetting({ min: 1, max: 1_000, whole: true }).default(3),
    /** Minimum share of passing checks (each endpoint probed once in a round), 0..1 (0.95 = 95 %). */
    successRate: numberSetting({ min: 0, max: 1 }).default(0.95),
    /** A failed verdict: "rollback" at once (the default), or "pause": the release stays live until someone runs promote or abort. */
    onFailure: z.enum(onFailureChoices, { error: 'expected "rollback" or "pause"' }).default("rollback"),
    /** How long a pause waits for promote or abort. */
    pauseTimeoutMinutes: numberSetting({ min: 1, max: pauseTimeoutMaxMinutes }).default(30),
    /** What the timeout decides when nobody did: "abort" (= roll back, the default) or "promote". */
    onPauseTimeout: z.enum(pauseDecisions, { error: 'expected "abort" or "promote"' }).default("abort"),
  })
  .refine((m) => m.intervalSeconds <= m.durationSeconds, {
    message: "intervalSeconds must not exceed durationSeconds",
    path: ["intervalSeconds"],
  })
  // A window shorter than the streak could never see the streak: that rule would be dead.
  .refine((m) => m.intervalSeconds > m.durationSeconds || m.durationSeconds >= m.intervalSeconds * m.consecutiveFailures, {
    message: "durationSeconds must be at least intervalSeconds x consecutiveFailures (the window must hold the failed rounds in a row it waits for)",
    path: ["durationSeconds"],
  });

const backupsSchema = z.strictObject({
  /** How many backup sets (one per switch, under <appDir>/backups/) the host keeps, the newest. Default: 5. */
  retain: numberSetting({ min: 1, max: 100, whole: true }).default(5),
});

const precheckSchema = z.strictObject({
  minFreeDiskMb: numberSetting({ min: 0, max: 2 ** 31 - 1, whole: true }).default(2048),
  minFreeMemoryMb: numberSetting({ min: 0, max: 2 ** 31 - 1, whole: true }).default(256),
});

const rolloutSchema = z.strictObject({
  /** How long the containers may take to run (and be healthy) after `up -d` before the switch is undone. */
  startTimeoutSeconds: numberSetting({ min: 1, max: 3_600, whole: true }).default(90),
  /** Consecutive 1-second checks that must all see every container running (and healthy). */
  stableChecks: numberSetting({ min: 1, max: 60, whole: true }).default(2),
  /** A fleet: how many hosts take a release first and are watched before any other does. Default: 0 (no canary). */
  canary: numberSetting({ min: 0, max: limits.hosts, whole: true }).default(0),
  /** A fleet: hosts switched per batch after the canary, each batch watched before the next. Default: all at once. */
  batchSize: numberSetting({ min: 1, max: limits.hosts, whole: true }).optional(),
});

const portSchema = numberSetting({ min: 1, max: 65535, whole: true });

/** engine swarm: how the stack's services run and update on the swarm. */
const swarmSchema = z.strictObject({
  /** replicated (replicas per service) or global (one task on every node). Default: replicated. */
  mode: z.enum(["replicated", "global"]).default("replicated"),
  /** Tasks per service in replicated mode, at most one per node (host network). Default: 1. */
  replicas: numberSetting({ min: 1, max: 100, whole: true }).default(1),
  /** Seconds Swarm watches each updated task before it counts the update good (update_config.monitor). Default: 10. */
  monitorSeconds: numberSetting({ min: 1, max: 600, whole: true }).default(10),
});

/** What engine swarm cannot run (yet): each problem as [config path, message]. */
function swarmProblems(cfg: {
  engine: string;
  strategy: string;
  hosts: unknown[];
  rollout: { canary: number; batchSize?: number | undefined };
  services: Record<string, { networkMode: string; snapshotVolumes: unknown }>;
}): [(string | number)[], string][] {
  if (cfg.engine !== "swarm") return [];
  const problems: [(string | number)[], string][] = [];
  if (cfg.strategy !== "recreate") problems.push([["strategy"], 'engine swarm updates the services itself (update_config): use strategy "recreate"']);
  if (cfg.hosts.length !== 1) problems.push([["hosts"], "engine swarm deploys through one manager: name only it in awareness:hosts (the swarm places the tasks on its nodes)"]);
  if (cfg.rollout.canary > 0 || cfg.rollout.batchSize !== undefined) problems.push([["rollout"], "engine swarm rolls the tasks out itself (one at a time): canary and batchSize are for a fleet of compose hosts"]);
  for (const [svc, def] of Object.entries(cfg.services)) {
    // Without iptables (and on many hosts) overlay networks and the routing mesh are not there: host networking always is.
    if (def.networkMode !== "host") problems.push([["services", svc, "networkMode"], "engine swarm runs services on the host network: networkMode host"]);
    if (def.snapshotVolumes !== false) problems.push([["services", svc, "snapshotVolumes"], "volume snapshots are taken with compose: not available with engine swarm yet"]);
  }
  return problems;
}

/**
 * Blue-green: a proxy owned by the stack listens on each route's public port and forwards to the
 * live color's port; the next release starts beside the live one (its own compose project and
 * ports), the proxy flips to it, and the old color stays warm until the new release is verified.
 */
const blueGreenSchema = z.strictObject({
  /** Caddy v2: its upstreams read the live color's ports per request, so a flip is one rename on the host. */
  proxyImage: imageRefSchema.default("caddy:2.11.9-alpine"),
  routes: z
    .array(
      z.strictObject({
        /** The service behind this public port. */
        service: z.string().regex(namePattern, "expected a service name"),
        /** Where the proxy listens (the port users reach). */
        listenPort: portSchema,
        /** The service's env variable that sets its listen port (each color gets its own). Default: PORT. */
        portEnv: z.string().regex(envKeyPattern, "env names are letters, digits and _ (not starting with a digit)").default("PORT"),
        bluePort: portSchema,
        greenPort: portSchema,
      }),
    )
    .min(1, "blue-green needs at least one route (a service behind a public port)")
    .max(limits.services),
  /** Seconds the proxy lets requests already sent to the old color finish after a flip. Default: 10. */
  drainSeconds: numberSetting({ min: 1, max: 300, whole: true }).default(10),
});

const replacePolicySchema = z.strictObject({
  /** Resources the preview may replace or delete: by type token, optionally narrowed to one name. */
  allow: z
    .array(
      z.strictObject({
        type: z.string().regex(resourceTypePattern, "expected a Pulumi type token such as command:remote:Command"),
        name: z
          .string()
          .max(200)
          .regex(/^[^\x00-\x1f\x7f\x85\u2028\u2029]*$/, "expected a resource name (one line, no control characters)")
          .optional(),
      }),
    )
    .max(limits.replaceAllowances)
    .default([]),
});

const registryAuthSchema = z.strictObject({
  server: z
    .string()
    .max(limits.registryServer, { message: `expected a registry host[:port] of ${atMost(limits.registryServer)}`, abort: true })
    .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5})?$/, "expected a registry host[:port] such as ghcr.io")
    .refine(portInRange, "the port must be from 1 to 65535"),
  username: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "expected a registry user name"),
  /** A Pulumi secret; sent to `docker login --password-stdin`, never on a command line. */
  password: z.string().min(1).max(limits.secretText, atMost(limits.secretText)),
});

const servicesSchema = record(z.string().regex(namePattern, "service names are lowercase letters, digits, _ and -"), serviceSchema)
  .refine((s) => Object.keys(s).length > 0, "at least one service is required")
  .refine((s) => Object.keys(s).length <= limits.services, `at most ${limits.services} services`);

export const stackConfigSchema = z
  .strictObject({
    hosts: z.array(hostSchema).min(1, "at least one host is required").max(limits.hosts, `at most ${limits.hosts} hosts`),
    /** Default SSH private key (a Pulumi secret) for hosts without their own. */
    sshPrivateKey: z.string().min(1).max(limits.secretText, atMost(limits.secretText)).optional(),
    appDir: appDirSchema.default("/opt/awareness"),
    composeProject: z.string().regex(namePattern, "expected a lowercase name of letters, digits, _ and -").default("awareness"),
    composeCommand: composeCommandSchema.default("docker compose"),
    services: servicesSchema,
    release: releaseSchema,
    /** Secret env values given to services with releaseEnv (a Pulumi secret). */
    secretEnv: envMapSchema.default({}),
    imageResolver: z.enum(["host", "registry"]).default("host"),
    registryAuth: registryAuthSchema.optional(),
    health: healthSchema.prefault({}),
    monitor: monitorSchema.prefault({}),
    backups: backupsSchema.prefault({}),
    precheck: precheckSchema.prefault({}),
    rollout: rolloutSchema.prefault({}),
    /** recreate: compose up over the running containers; blue-green: beside them, behind a proxy (awareness:blueGreen). */
    strategy: z.enum(["recreate", "blue-green"]).default("recreate"),
    blueGreen: blueGreenSchema.optional(),
    /** compose: `compose up` on each host; swarm: `docker stack deploy` on a swarm manager (awareness:swarm). */
    engine: z.enum(["compose", "swarm"]).default("compose"),
    swarm: swarmSchema.prefault({}),
    replacePolicy: replacePolicySchema.prefault({}),
    github: githubConfigSchema.optional(),
    /** Who hears about runs: signed webhooks, Slack, Datadog events, New Relic deployment markers. */
    notify: notifySchema.default([]),
    /**
     * Set by the driver while a fleet rolls out in batches: host name -> the release a host not
     * reached yet keeps running. Never set by hand.
     */
    hostReleases: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/), releaseSchema).default({}),
    /**
     * Set by the driver when a host runs something else than the state says was applied (an
     * interrupted switch): host name -> a token that makes the engine really run that host's
     * switch again. Never set by hand.
     */
    reconcile: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/), z.string().regex(/^[0-9a-f]{8,64}$/, "expected a hex token")).default({}),
  })
  .superRefine((cfg, ctx) => {
    const services = Object.keys(cfg.services);
    for (const svc of Object.keys(cfg.release.images)) {
      if (!services.includes(svc)) {
        ctx.addIssue({
          code: "custom",
          path: ["release", "images", svc],
          message: `no service "${svc}" is declared in awareness:services (declared: ${services.join(", ")})`,
        });
      }
    }
    // Own keys only: a service named "constructor" has no image just because objects have a constructor.
    for (const [svc, def] of Object.entries(cfg.services)) {
      if (!Object.hasOwn(cfg.release.images, svc) && def.image === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["services", svc, "image"],
          message: `service "${svc}" has no image: set awareness:release.images.${svc} or awareness:services.${svc}.image`,
        });
      }
      for (const [index, message] of snapshotProblems(def)) {
        ctx.addIssue({ code: "custom", path: ["services", svc, "snapshotVolumes", ...(index === undefined ? [] : [index])], message });
      }
      for (const dep of def.dependsOn) {
        if (!services.includes(dep) || dep === svc) {
          ctx.addIssue({
            code: "custom",
            path: ["services", svc, "dependsOn"],
            message: `"${dep}" is not another declared service`,
          });
        }
      }
    }
    for (const key of Object.keys(cfg.secretEnv)) {
      if (Object.hasOwn(cfg.release.env, key)) {
        ctx.addIssue({
          code: "custom",
          path: ["secretEnv", key],
          message: `"${key}" is also set in awareness:release.env; set it in one place only`,
        });
      }
    }
    cfg.health.checks.forEach((c, i) => {
      if (c.kind === "exec" && !services.includes(c.service)) {
        ctx.addIssue({ code: "custom", path: ["health", "checks", i, "service"], message: `no service "${c.service}" is declared in awareness:services` });
      }
    });
    for (const [path, message] of blueGreenProblems(cfg)) ctx.addIssue({ code: "custom", path, message });
    for (const [path, message] of swarmProblems(cfg)) ctx.addIssue({ code: "custom", path, message });
    // A batch's gate must see its own hosts: one shared address (a load balancer) would mostly answer from the others.
    const batched = cfg.hosts.length > 1 && (cfg.rollout.canary > 0 || (cfg.rollout.batchSize ?? cfg.hosts.length) < cfg.hosts.length);
    if (batched && cfg.health.probeMode === "http") {
      cfg.hosts.forEach((h, i) => {
        if (!h.healthBaseUrl) ctx.addIssue({ code: "custom", path: ["hosts", i, "healthBaseUrl"], message: "a rollout in batches watches each host at its own address: set healthBaseUrl (or health.probeMode ssh)" });
      });
    }
    // The host-side probe prints the status and time only: a body rule there could never be checked.
    cfg.health.endpoints.forEach((e, i) => {
      if (cfg.health.probeMode === "ssh" && e.expect?.json) {
        ctx.addIssue({ code: "custom", path: ["health", "endpoints", i, "expect", "json"], message: 'JSON body expectations need probeMode "http" (the host-side probe reads no body)' });
      }
    });
    const names = cfg.hosts.map(hostDisplayName);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) {
        ctx.addIssue({ code: "custom", path: ["hosts", i, "name"], message: `host name "${n}" is used twice` });
      }
    });
    // Two entries for one app dir on one server would share its files and record: one host, twice.
    const places = cfg.hosts.map((h) => `${h.host.toLowerCase()}:${h.port} ${h.appDir ?? cfg.appDir}`);
    places.forEach((p, i) => {
      if (places.indexOf(p) !== i) {
        ctx.addIssue({ code: "custom", path: ["hosts", i, "appDir"], message: `${p.replace(" ", " keeps its app in ")} for another host too: give each host its own appDir or remove one` });
      }
    });
    // Two entries on one server with one compose project would take each other's containers down.
    const projects = cfg.hosts.map((h) => `${h.host.toLowerCase()}:${h.port} ${h.composeProject ?? cfg.composeProject}`);
    projects.forEach((p, i) => {
      if (places.indexOf(places[i]!) === i && projects.indexOf(p) !== i) {
        ctx.addIssue({ code: "custom", path: ["hosts", i, "composeProject"], message: `${p.replace(" ", " runs compose project ")} for another host too: give each host on one server its own composeProject` });
      }
    });
    cfg.hosts.forEach((h, i) => {
      if (!h.privateKey && !cfg.sshPrivateKey) {
        ctx.addIssue({
          code: "custom",
          path: ["hosts", i, "privateKey"],
          message: "no SSH private key: set awareness:sshPrivateKey (pulumi config set --secret) or this host's privateKey",
        });
      }
    });
  });

export type StackConfig = z.output<typeof stackConfigSchema>;
export type BlueGreenConfig = z.output<typeof blueGreenSchema>;
export type SwarmConfig = z.output<typeof swarmSchema>;

type BlueGreenInput = Pick<z.output<typeof blueGreenSchema>, "routes"> | undefined;
/** What blue-green cannot run: each problem as [config path, message]. */
function blueGreenProblems(cfg: { strategy: string; blueGreen?: BlueGreenInput; services: Record<string, { volumes: string[]; networkMode: string }> }): [(string | number)[], string][] {
  const problems: [(string | number)[], string][] = [];
  if (cfg.strategy !== "blue-green") {
    if (cfg.blueGreen) problems.push([["blueGreen"], 'awareness:blueGreen is read only with strategy "blue-green"']);
    return problems;
  }
  if (!cfg.blueGreen) return [[["blueGreen"], 'strategy "blue-green" needs awareness:blueGreen (the proxy\'s routes)']];
  for (const [svc, def] of Object.entries(cfg.services)) {
    // Both colors run at once: two copies of a stateful service would share (or split) its data.
    if (def.volumes.length > 0) problems.push([["services", svc, "volumes"], `blue-green runs two copies of every service at once; "${svc}" has volumes (stateful services are not supported with blue-green yet: use strategy "recreate")`]);
    if (def.networkMode !== "host") problems.push([["services", svc, "networkMode"], "blue-green routes by host ports: every service needs networkMode host"]);
  }
  const ports = new Map<number, string>();
  cfg.blueGreen.routes.forEach((r, i) => {
    if (!Object.hasOwn(cfg.services, r.service)) problems.push([["blueGreen", "routes", i, "service"], `no service "${r.service}" is declared in awareness:services`]);
    for (const key of ["listenPort", "bluePort", "greenPort"] as const) {
      const seen = ports.get(r[key]);
      if (seen) problems.push([["blueGreen", "routes", i, key], `port ${r[key]} is already ${seen}`]);
      else ports.set(r[key], `routes[${i}].${key}`);
    }
  });
  return problems;
}
export type HostConfig = z.output<typeof hostSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type Release = z.output<typeof releaseSchema>;
export type HealthEndpoint = z.output<typeof endpointObjectSchema>;
export type JsonExpectation = z.output<typeof jsonExpectationSchema>;
export type HealthCheck = z.output<typeof healthCheckSchema>;
export type ExecCheck = z.output<typeof execCheckSchema>;
export type PrometheusCheck = z.output<typeof prometheusCheckSchema>;

/** The names of a service's named volumes ("name:/path[:ro]"), in order. */
export const volumeNames = (svc: Pick<ServiceConfig, "volumes">): string[] => svc.volumes.map((v) => v.slice(0, v.indexOf(":")));

/** The named volumes a switch archives for this service (snapshotVolumes), without repeats. */
export function volumesToSnapshot(svc: Pick<ServiceConfig, "volumes" | "snapshotVolumes">): string[] {
  const wanted = svc.snapshotVolumes === true ? volumeNames(svc) : svc.snapshotVolumes === false ? [] : svc.snapshotVolumes;
  return [...new Set(wanted)];
}

/** What is wrong with a service's snapshotVolumes beyond its shape: [index in the list, or none; message]. */
function snapshotProblems(svc: Pick<ServiceConfig, "volumes" | "snapshotVolumes">): [number | undefined, string][] {
  const declared = volumeNames(svc);
  if (svc.snapshotVolumes === true && declared.length === 0) return [[undefined, "snapshotVolumes is true but the service declares no volumes"]];
  // A malformed name or volume is reported by its own rule; comparing it would only repeat that.
  if (!Array.isArray(svc.snapshotVolumes) || svc.volumes.some((v) => !volumePattern.test(v))) return [];
  return svc.snapshotVolumes.flatMap((n, i): [number, string][] => {
    if (!volumeNamePattern.test(n)) return [];
    if (!declared.includes(n)) return [[i, `"${n}" is not a volume of this service (its volumes: ${declared.join(", ") || "none"})`]];
    return (svc.snapshotVolumes as string[]).indexOf(n) !== i ? [[i, `"${n}" is listed twice`]] : [];
  });
}

/** The name a host goes by in resource names and outputs. */
export function hostDisplayName(host: { name?: string | undefined; host: string }): string {
  return host.name ?? host.host.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

/** Top-level keys whose whole value is secret, and nested paths ("*" = any key) that are. */
export const secretPaths: readonly string[] = [
  "sshPrivateKey",
  "hosts.*.privateKey",
  "secretEnv",
  "registryAuth.password",
  ...githubSecretPaths,
  ...notifySecretPaths,
];
