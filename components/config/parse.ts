// Turns the raw stack config map (as pulumi.Config / the Automation API hand it over:
// "awareness:release" -> JSON text) into a typed StackConfig, or one error that lists every
// problem by key path, bad value (never a secret one) and what is allowed. Data read back
// later (a release from the stack config or an old update, a host's deployment.json) is
// parsed the same way: validated by its schema, never cast.
import type { z } from "zod";
import { configNamespace, releaseSchema, secretPaths, stackConfigSchema, type Release, type StackConfig } from "./schema.js";

export interface ConfigProblem {
  /** Full key path, e.g. "awareness:release.images.backend" (in an InvalidDataError: the path inside the value, "images.backend"). */
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

function isSecretPath(path: readonly PropertyKey[]): boolean {
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

function configKeyOf(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path.map(String);
  let key = `${configNamespace}:${head ?? ""}`;
  for (const p of rest) key += /^\d+$/.test(p) ? `[${p}]` : `.${p}`;
  return key;
}

/**
 * A union (a plain path or an endpoint object) that failed: when exactly one of its branches
 * took the value's type, that branch's issues say what is wrong, not "expected one of".
 */
function unionBranchIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== "invalid_union") return [issue];
    const typed = issue.errors.filter((branch) => !branch.every((inner) => inner.code === "invalid_type" && inner.path.length === 0));
    if (typed.length !== 1) return [issue];
    return unionBranchIssues(typed[0]!.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }) as z.core.$ZodIssue));
  });
}

/**
 * One problem per zod issue: the key (as `keyOf` names it), what is wrong, and the bad value
 * unless it is secret.
 */
function problemsFrom(
  error: z.ZodError,
  input: unknown,
  keyOf: (path: readonly PropertyKey[]) => string,
  isSecret: (path: readonly PropertyKey[]) => boolean,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of unionBranchIssues(error.issues)) {
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
    const shown = isSecret(issue.path) ? (value === undefined ? undefined : "[secret]") : show(value);
    const missing = value === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value");
    const message = missing ? "is required but not set" : issue.message;
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
    // Defined, not assigned: "awareness:__proto__" must be an unknown key, not the map's prototype.
    Object.defineProperty(input, key.slice(prefix.length), { value: decodeValue(key, text), enumerable: true, writable: true, configurable: true });
  }
  const result = stackConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(problemsFrom(result.error, input, configKeyOf, isSecretPath));
  return result.data;
}

/**
 * The raw map from Automation API config (`stack.getAllConfig()` gives {value, secret}),
 * so the driver can validate the config it is about to deploy.
 */
export function rawFromAutomationConfig(config: Record<string, { value: string }>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value]));
}

// ---- data read back: releases, host records ----

/** A key path inside one value: images.backend, hosts[0].name; "(the whole value)" for the root. */
function pathOf(path: readonly PropertyKey[]): string {
  let key = "";
  for (const p of path.map(String)) key += /^\d+$/.test(p) ? `[${p}]` : key === "" ? p : `.${p}`;
  return key === "" ? "(the whole value)" : key;
}

/**
 * Data read back that is not what it must be: `where` says where it came from ("the stack
 * config awareness:release", "update 1732712345's config", "deployment.json on host"),
 * each problem names its key path inside that value.
 */
export class InvalidDataError extends Error {
  override name = "InvalidDataError";
  constructor(
    readonly where: string,
    readonly what: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${where} is not ${what}:\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}${p.shown !== undefined ? ` (got ${p.shown})` : ""}`).join("\n"),
    );
  }
}

/**
 * Validates `value` with `schema`, or throws an InvalidDataError naming `where` and each bad
 * key path. `what` completes "<where> is not <what>" (e.g. "a valid release").
 */
export function parseData<S extends z.ZodType>(schema: S, value: unknown, where: string, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidDataError(where, what, problemsFrom(result.error, value, pathOf, () => false));
  return result.data;
}

/** parseData of JSON text; text that is not JSON is an InvalidDataError too. */
export function parseJsonData<S extends z.ZodType>(schema: S, text: string, where: string, what: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidDataError(where, what, [{ key: "(the whole value)", message: `not valid JSON (${reason})` }]);
  }
  return parseData(schema, value, where, what);
}

/**
 * A release (id, gitSha?, images, env) from a value read back, e.g. an object the driver
 * built or got from elsewhere. Throws InvalidDataError naming `where` and the key path.
 * (Inside a whole stack config, parseStackConfig also checks the images against the services.)
 */
export function parseRelease(value: unknown, where: string): Release {
  return parseData(releaseSchema, value, where, "a valid release");
}

/**
 * A release from its JSON text, as the stack config and each update's config hold it under
 * awareness:release. `where`: e.g. "the stack config awareness:release", "update 1732712345's config".
 */
export function parseReleaseJson(text: string, where: string): Release {
  return parseJsonData(releaseSchema, text, where, "a valid release");
}
