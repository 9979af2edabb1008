// Turns the raw stack config map (as pulumi.Config / the Automation API hand it over:
// "awareness:release" -> JSON text) into a typed StackConfig, or one error that lists every
// problem by key path, bad value (never a secret one) and what is allowed.
import type { z } from "zod";
import { configNamespace, releaseSchema, secretPaths, stackConfigSchema, type Release, type StackConfig } from "./schema.js";

export interface ConfigProblem {
  /** Full key path, e.g. "awareness:release.images.backend". */
  key: string;
  /** What is wrong and what is allowed. */
  message: string;
  /** The offending value for display ("[secret]" for secret paths, absent when the key is missing). */
  shown?: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `Stack config is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was run:\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}${p.shown !== undefined ? ` (got ${p.shown})` : ""}`).join("\n"),
    );
  }
}

/** Structured values arrive as JSON text; plain strings stay strings. */
function decodeValue(key: string, text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      throw new ConfigError([{ key, message: "is not valid JSON (structured config values are objects or lists)" }]);
    }
  }
  return text;
}

export function isSecretPath(path: readonly PropertyKey[]): boolean {
  const parts = path.map(String);
  return secretPaths.some((pattern) => {
    const pat = pattern.split(".");
    if (parts.length < pat.length) return false;
    return pat.every((p, i) => p === "*" || p === parts[i]);
  });
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p as string];
  }
  return cur;
}

function show(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function keyOf(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path.map(String);
  let key = `${configNamespace}:${head ?? ""}`;
  for (const p of rest) key += /^\d+$/.test(p) ? `[${p}]` : `.${p}`;
  return key;
}

function problemsFrom(error: z.ZodError, input: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys) {
        const path = [...issue.path, k];
        problems.push({ key: keyOf(path), message: "unknown key (check its spelling against components/config/schema.ts)" });
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      // A bad name in a record (service, env var): show the name (names are never secret).
      const name = issue.path[issue.path.length - 1];
      const message = issue.issues.map((inner) => inner.message).join("; ") || issue.message;
      problems.push({ key: keyOf(issue.path), message, shown: JSON.stringify(String(name)) });
      continue;
    }
    const value = valueAt(input, issue.path);
    const shown = isSecretPath(issue.path) ? (value === undefined ? undefined : "[secret]") : show(value);
    const message = value === undefined && issue.code === "invalid_type" ? "is required but not set" : issue.message;
    problems.push({ key: keyOf(issue.path), message, ...(shown !== undefined ? { shown } : {}) });
  }
  return problems;
}

/**
 * Validates a raw stack config map (keys like "awareness:release"; other namespaces are
 * ignored). Pure: the program and the driver both call it before anything touches a host.
 */
export function parseStackConfig(raw: Record<string, string>): StackConfig {
  const input: Record<string, unknown> = {};
  const prefix = `${configNamespace}:`;
  for (const [key, text] of Object.entries(raw)) {
    if (!key.startsWith(prefix)) continue;
    input[key.slice(prefix.length)] = decodeValue(key, text);
  }
  const result = stackConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(problemsFrom(result.error, input));
  return result.data;
}

/**
 * The raw map from Automation API config (`stack.getAllConfig()` gives {value, secret}),
 * so the driver can validate the config it is about to deploy.
 */
export function rawFromAutomationConfig(config: Record<string, { value: string }>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value]));
}

/** A release read back (stack config, history, a host record): JSON text parsed and validated; errors name `where`. */
export function parseReleaseJson(text: string, where: string): Release {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not valid JSON`);
  }
  const parsed = releaseSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${where} is not a valid release: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}
