// Secret values never reach a report: every string in a summary is scrubbed of the known
// secret values before it is rendered or written (like GitHub Actions' add-mask), so a
// secret that leaks into an error message is still caught.

export const secretMask = "***";

/** Environment variables that hold secrets wherever the driver runs. */
const secretEnvNames: readonly string[] = [
  "GITHUB_TOKEN",
  "GH_TOKEN",
  "PULUMI_ACCESS_TOKEN",
  "PULUMI_CONFIG_PASSPHRASE",
];

/** Shorter values are not masked: masking "ab" everywhere would garble the report and hide nothing. */
const minSecretLength = 4;

/** The secret values set in `env` under the names above. */
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return secretEnvNames.map((name) => env[name]).filter((value): value is string => !!value);
}

/** Each secret, plus each long line of a multi-line secret (a key quoted line by line). */
function maskableValues(secrets: readonly string[]): string[] {
  const values = new Set<string>();
  for (const secret of secrets) {
    if (secret.length >= minSecretLength) values.add(secret);
    if (secret.includes("\n")) {
      for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 16) values.add(line.trim());
    }
  }
  // Longest first, so a secret containing another is masked whole.
  return [...values].sort((a, b) => b.length - a.length);
}

export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const value of maskableValues(secrets)) out = out.split(value).join(secretMask);
  return out;
}

/** A deep copy of `value` with every string scrubbed (object keys are kept). */
export function redact<T>(value: T, secrets: readonly string[]): T {
  const values = maskableValues(secrets);
  if (values.length === 0) return structuredClone(value);
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return values.reduce((s, secret) => s.split(secret).join(secretMask), v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, walk(inner)]));
    return v;
  };
  return walk(value) as T;
}

/**
 * The secret values of a stack config map (`{value, secret}` entries, as the engine hands them
 * over): each secret value, and each string inside a structured one (e.g. secretEnv's values).
 * When `secretPaths` ("notify.*.apiKey") name only parts of a key, only those parts are taken:
 * a structured key turns secret as a whole when one of its paths is set with --secret, and its
 * plain words ("webhook", "failed") must not be masked all over the report.
 */
export function secretValuesIn(
  config: Record<string, { value: string; secret?: boolean | undefined }>,
  secretPaths: readonly string[] = [],
): string[] {
  const out: string[] = [];
  const leaves = (v: unknown, pattern: readonly string[] = []): void => {
    const [head, ...rest] = pattern;
    if (head !== undefined) {
      if (v && typeof v === "object") {
        for (const [k, inner] of Object.entries(v)) if (head === "*" || head === k) leaves(inner, rest);
      }
    } else if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) v.forEach((x) => leaves(x));
    else if (v && typeof v === "object") Object.values(v).forEach((x) => leaves(x));
  };
  for (const [key, entry] of Object.entries(config)) {
    if (!entry.secret) continue;
    const top = key.slice(key.indexOf(":") + 1);
    const paths = secretPaths.map((p) => p.split(".")).filter((p) => p[0] === top);
    const partial = paths.length > 0 && paths.every((p) => p.length > 1);
    let parsed: unknown;
    try {
      parsed = JSON.parse(entry.value);
    } catch {
      // a plain string secret: taken whole below
    }
    if (partial && parsed && typeof parsed === "object") {
      for (const p of paths) leaves(parsed, p.slice(1));
      continue;
    }
    out.push(entry.value);
    leaves(parsed);
  }
  return out;
}
