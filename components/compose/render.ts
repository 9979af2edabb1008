// Pure renderers for the files a release puts on the host. Same inputs -> same bytes, so the
// same config always means the same compose file (and the same composeSha256).
import { createHash } from "node:crypto";
import { Scalar, stringify, type Tags } from "yaml";
import type { ServiceConfig } from "../config/schema.js";
import { envFileName } from "../host-commands/layout.js";
import type { DeploymentRecord } from "../host-commands/status.js";

const sorted = <T>(record: Record<string, T>): [string, T][] =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

export interface ComposeInput {
  services: Record<string, ServiceConfig>;
  /** Pinned references per service (repo@sha256:…). */
  images: Record<string, string>;
  /**
   * Blue-green: service -> the env variable that sets its listen port. Its value in the file is
   * the compose variable colorPortVariable(service), which each color's own .env sets.
   */
  colorPorts?: Record<string, string>;
}

/** The compose variable holding a routed service's port in one color's .env (blue-green). */
export function colorPortVariable(service: string): string {
  return `AWARENESS_PORT_${service.toUpperCase().replace(/-/g, "_")}`;
}

/**
 * The compose file: no "version:" and no "name:" keys, so docker-compose 1.29 and compose v2
 * both accept it; the project name comes from the command line. Written for YAML 1.1
 * (docker-compose v1 reads it with PyYAML) and 1.2 (compose v2) at once: a name either would
 * read as another type (on, N, y, 0o26, 1e3, 1_000) is quoted, and env values are always
 * double-quoted (never yes, 1:20, a date or "<<" read as something else), so both generations
 * read the same strings.
 */
export function renderComposeFile(input: ComposeInput): string {
  const services: Record<string, unknown> = {};
  const namedVolumes = new Set<string>();
  for (const [name, svc] of sorted(input.services)) {
    const image = Object.hasOwn(input.images, name) ? input.images[name] : undefined;
    if (!image) throw new Error(`no pinned image for service "${name}"`);
    const def: Record<string, unknown> = { image, network_mode: svc.networkMode, restart: svc.restart };
    if (svc.releaseEnv) def.env_file = [envFileName];
    const portEnv = input.colorPorts && Object.hasOwn(input.colorPorts, name) ? input.colorPorts[name] : undefined;
    const env = sorted({ ...svc.environment, ...(portEnv ? { [portEnv]: "" } : {}) });
    // Compose interpolates "$" in the file; "$$" is a literal dollar in v1 and v2 (the color's port is the one variable).
    const valueOf = (k: string, v: string) => (k === portEnv ? `\${${colorPortVariable(name)}}` : v.replace(/\$/g, "$$$$"));
    if (env.length > 0) def.environment = Object.fromEntries(env.map(([k, v]) => [k, quoted(valueOf(k, v))]));
    if (svc.volumes.length > 0) {
      def.volumes = [...svc.volumes];
      for (const v of svc.volumes) namedVolumes.add(v.slice(0, v.indexOf(":")));
    }
    if (svc.dependsOn.length > 0) def.depends_on = [...svc.dependsOn].sort();
    services[name] = def;
  }
  const doc: Record<string, unknown> = { services };
  if (namedVolumes.size > 0) doc.volumes = Object.fromEntries([...namedVolumes].sort().map((v) => [v, {}]));
  return `# Written by the awareness Pulumi program: edits here are replaced by the next deploy.\n${stringify(doc, {
    lineWidth: 0,
    version: "1.1",
    compat: "core",
    customTags: withoutMergeKeys,
  })}`;
}

/** A double-quoted YAML string (escapes for tabs and control characters). */
const quoted = (value: string) => Object.assign(new Scalar(value), { type: Scalar.QUOTE_DOUBLE });

/** YAML 1.1's "<<" merge key is no type of ours: without it, a "<<" value is quoted like any other. */
const withoutMergeKeys = (tags: Tags): Tags => tags.filter((t) => typeof t === "string" || t.tag !== "tag:yaml.org,2002:merge");

/**
 * The env file (KEY='value' lines). Single quotes keep "$", "#" and spaces literal in both
 * compose v2 (which would interpolate an unquoted "$") and docker-compose v1; both read \' as a
 * quote. The schema refuses line breaks and backslashes (the two tools read those differently).
 * Holds secrets: mode 600 on the host.
 */
export function renderEnvFile(env: Record<string, string>, secretEnv: Record<string, string>, hostEnv: Record<string, string> = {}, forSwarm = false): string {
  const merged = { ...env, ...hostEnv, ...secretEnv };
  // `docker stack deploy` reads an env file's values literally (no quotes stripped); one line each, as the schema ensures.
  if (forSwarm) return sorted(merged).map(([k, v]) => `${k}=${v}\n`).join("");
  return sorted(merged)
    .map(([k, v]) => `${k}='${v.replace(/'/g, "\\'")}'\n`)
    .join("");
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * The release's record in deployment.json (releaseRecordSchema), as a JSON object WITHOUT its
 * closing brace: the switch step appends "deployedAt" from the host's clock when the release
 * really runs.
 */
export function renderReleaseRecordPrefix(r: Omit<DeploymentRecord, "deployedAt" | "verifiedAt">): string {
  const full = JSON.stringify({
    id: r.id,
    gitSha: r.gitSha,
    images: Object.fromEntries(sorted(r.images)),
    composeSha256: r.composeSha256,
    composeCommand: r.composeCommand,
  });
  return full.slice(0, -1);
}
