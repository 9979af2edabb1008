// The one schema for a stack's config (namespace "awareness"). Every value that can reach a
// shell on the host is pinned down here by a pattern, so the command builders only ever see
// names, paths and references of a known shape (and still quote them).
import { z } from "zod";
import { githubConfigSchema, githubSecretPaths } from "../github/config.js";

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
// Env values land in an env file, one per line: no line breaks, no NUL, and no backslash
// (compose v2 keeps "\\" literally inside quotes, docker-compose v1 unescapes it).
const envValuePattern = /^[^\n\r\0\\]{0,4096}$/;
const urlPathPattern = /^\/[A-Za-z0-9._~/-]*$/;
const baseUrlPattern = /^https?:\/\/[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:\/[A-Za-z0-9._~/-]*)?$/;
const volumePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*:\/[A-Za-z0-9._/-]*(?::(?:ro|rw))?$/;
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

// ---- sections ----

const imageRefSchema = z
  .string()
  .refine(
    (ref) => {
      const m = imageRefPattern.exec(ref);
      return m !== null && (m.groups?.tag !== undefined || m.groups?.digest !== undefined);
    },
    { message: "expected an image reference with a tag or digest: registry/repo:tag or registry/repo@sha256:<64 hex>" },
  );

const appDirSchema = z
  .string()
  .regex(absolutePathPattern, "expected an absolute path of letters, digits and . _ - / (e.g. /opt/awareness)")
  .refine((p) => noDotDot(p), "no '.' or '..' path segments allowed")
  .refine((p) => p !== "/" && !p.endsWith("/"), "must name a directory below / without a trailing slash");

const hostSchema = z.strictObject({
  /** Short name used in resource names and outputs. Default: the host with dots as dashes. */
  name: z.string().regex(namePattern, "expected a lowercase name of letters, digits, _ and -").optional(),
  host: z.string().regex(hostPattern, "expected a host name or IP address"),
  port: z.coerce.number().int().min(1).max(65535).default(22),
  user: z.string().regex(userPattern, "expected a Unix user name (lowercase letters, digits, _ and -)").default("root"),
  /** PEM private key for this host (a Pulumi secret); default: awareness:sshPrivateKey. */
  privateKey: z.string().min(1).optional(),
  /** Pinned host public key in authorized_keys form ("ssh-ed25519 AAAA…"); without it the host key is not checked. */
  hostKey: z
    .string()
    .regex(hostKeyPattern, "expected '<key type> <base64> [comment]' (e.g. ssh-ed25519 AAAA…)")
    .transform((k) => k.split(" ").slice(0, 2).join(" "))
    .optional(),
});

const envMapSchema = z.record(
  z
    .string()
    .regex(envKeyPattern, "env names are letters, digits and _ (not starting with a digit)")
    // The env file is also compose's own .env: these would change how compose itself runs.
    .refine((k) => !/^(COMPOSE_|DOCKER_)/.test(k), "COMPOSE_* and DOCKER_* names are reserved for compose itself"),
  z.string().regex(envValuePattern, "env values must be one line (no line breaks, no backslashes), at most 4096 characters"),
);

const serviceSchema = z.strictObject({
  /** Image when the release does not name one (e.g. redis:7-alpine). */
  image: imageRefSchema.optional(),
  /** The sandbox dockerd has no bridge network; host networking works everywhere. Default: host. */
  networkMode: z.enum(["host", "bridge", "none"]).default("host"),
  restart: z.enum(["no", "always", "unless-stopped", "on-failure"]).default("unless-stopped"),
  /** Plain (non-secret) environment of this service; written into the compose file. */
  environment: envMapSchema.default({}),
  /** Named volumes ("name:/path[:ro]"); teardown never deletes them. */
  volumes: z.array(z.string().regex(volumePattern, "expected 'volume-name:/absolute/path[:ro|:rw]'")).default([]),
  dependsOn: z.array(z.string().regex(namePattern, "expected a service name")).default([]),
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
  images: z.record(z.string().regex(namePattern, "expected a service name"), imageRefSchema),
  env: envMapSchema.default({}),
});

const healthSchema = z.strictObject({
  baseUrl: z
    .string()
    .regex(baseUrlPattern, "expected http(s)://host[:port][/path] (letters, digits and . _ ~ / - only)")
    .default("http://127.0.0.1:18080"),
  endpoints: z
    .array(z.string().regex(urlPathPattern, "expected a URL path like /api/health"))
    .min(1)
    .default(["/api/health", "/api/docs", "/api/auth/status"]),
  probeTimeoutSeconds: z.coerce.number().positive().max(60).default(5),
  /** "http": the driver probes the URL; "ssh": the host probes itself (for apps not reachable from outside). */
  probeMode: z.enum(["http", "ssh"]).default("http"),
});

const monitorSchema = z
  .strictObject({
    durationSeconds: z.coerce.number().positive().max(86_400).default(300),
    intervalSeconds: z.coerce.number().positive().max(3_600).default(30),
    consecutiveFailures: z.coerce.number().int().min(1).max(1_000).default(3),
    /** Minimum share of passing rounds, 0..1 (0.95 = 95 %). */
    successRate: z.coerce.number().min(0).max(1).default(0.95),
  })
  .refine((m) => m.intervalSeconds <= m.durationSeconds, {
    message: "intervalSeconds must not exceed durationSeconds",
    path: ["intervalSeconds"],
  });

const backupsSchema = z.strictObject({
  /** How many backup sets (one per switch, under <appDir>/backups/) the host keeps, the newest. Default: 5. */
  retain: z.coerce.number().int().min(1).max(100).default(5),
});

const precheckSchema = z.strictObject({
  minFreeDiskMb: z.coerce.number().int().min(0).default(2048),
  minFreeMemoryMb: z.coerce.number().int().min(0).default(256),
});

const rolloutSchema = z.strictObject({
  /** How long the containers may take to run (and be healthy) after `up -d` before the switch is undone. */
  startTimeoutSeconds: z.coerce.number().int().min(1).max(3_600).default(90),
  /** Consecutive 1-second checks that must all see every container running (and healthy). */
  stableChecks: z.coerce.number().int().min(1).max(60).default(2),
});

const replacePolicySchema = z.strictObject({
  /** Resources the preview may replace or delete: by type token, optionally narrowed to one name. */
  allow: z
    .array(
      z.strictObject({
        type: z.string().regex(resourceTypePattern, "expected a Pulumi type token such as command:remote:Command"),
        name: z.string().max(200).optional(),
      }),
    )
    .default([]),
});

const registryAuthSchema = z.strictObject({
  server: z.string().regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5})?$/, "expected a registry host[:port] such as ghcr.io"),
  username: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "expected a registry user name"),
  /** A Pulumi secret; sent to `docker login --password-stdin`, never on a command line. */
  password: z.string().min(1),
});

const servicesSchema = z
  .record(z.string().regex(namePattern, "service names are lowercase letters, digits, _ and -"), serviceSchema)
  .refine((s) => Object.keys(s).length > 0, "at least one service is required");

export const stackConfigSchema = z
  .strictObject({
    hosts: z.array(hostSchema).min(1, "at least one host is required"),
    /** Default SSH private key (a Pulumi secret) for hosts without their own. */
    sshPrivateKey: z.string().min(1).optional(),
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
    replacePolicy: replacePolicySchema.prefault({}),
    github: githubConfigSchema.optional(),
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
    for (const [svc, def] of Object.entries(cfg.services)) {
      if (!cfg.release.images[svc] && !def.image) {
        ctx.addIssue({
          code: "custom",
          path: ["services", svc, "image"],
          message: `service "${svc}" has no image: set awareness:release.images.${svc} or awareness:services.${svc}.image`,
        });
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
      if (key in cfg.release.env) {
        ctx.addIssue({
          code: "custom",
          path: ["secretEnv", key],
          message: `"${key}" is also set in awareness:release.env; set it in one place only`,
        });
      }
    }
    const names = cfg.hosts.map(hostDisplayName);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) {
        ctx.addIssue({ code: "custom", path: ["hosts", i, "name"], message: `host name "${n}" is used twice` });
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
export type HostConfig = z.output<typeof hostSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type Release = z.output<typeof releaseSchema>;

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
];
