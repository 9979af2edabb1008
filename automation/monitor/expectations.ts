// What an HTTP answer must be to pass: the status (any 2xx, or an exact one), the latency
// budget, and rules on the JSON body. The rule language is data (a path and equals / oneOf /
// exists), never code: a path is only ever looked up on the parsed body's own properties.
import type { HealthEndpoint, JsonExpectation } from "../../components/config/schema.js";

/** An endpoint as the probers take it: a bare path, or a path with expectations. */
export type EndpointSpec = string | HealthEndpoint;

export function endpointOf(spec: EndpointSpec): HealthEndpoint {
  return typeof spec === "string" ? { path: spec } : spec;
}

/** Whether the prober must read and parse the body. */
export function needsBody(endpoint: HealthEndpoint): boolean {
  return (endpoint.expect?.json?.length ?? 0) > 0;
}

/** Why the status fails the endpoint, if it does. */
export function statusFailure(endpoint: HealthEndpoint, status: number): string | undefined {
  const expected = endpoint.expect?.status;
  if (expected !== undefined) return status === expected ? undefined : `HTTP ${status}, expected ${expected}`;
  return status >= 200 && status < 300 ? undefined : `HTTP ${status}`;
}

/** Why the answer was too slow, if it was. */
export function latencyFailure(endpoint: HealthEndpoint, latencyMs: number): string | undefined {
  const budget = endpoint.maxLatencyMs;
  return budget !== undefined && latencyMs > budget ? `latency ${latencyMs} ms over the budget of ${budget} ms` : undefined;
}

/** The value at a dot path ("checks.0.state") of a parsed JSON value; own properties only. */
export function valueAtJsonPath(root: unknown, path: string): { found: boolean; value?: unknown } {
  let cur: unknown = root;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object" || !Object.hasOwn(cur, key)) return { found: false };
    cur = (cur as Record<string, unknown>)[key];
  }
  return { found: true, value: cur };
}

const shown = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** Why the body fails one rule, if it does. */
export function jsonFailure(body: unknown, rule: JsonExpectation): string | undefined {
  const at = valueAtJsonPath(body, rule.path);
  if (rule.exists !== undefined) {
    return at.found === rule.exists ? undefined : `JSON ${rule.path} ${rule.exists ? "is missing" : "is present"}`;
  }
  if (!at.found) return `JSON ${rule.path} is missing`;
  if (rule.equals !== undefined && at.value !== rule.equals) return `JSON ${rule.path} is ${shown(at.value)}, expected ${shown(rule.equals)}`;
  if (rule.oneOf !== undefined && !rule.oneOf.includes(at.value as string | number | boolean)) {
    return `JSON ${rule.path} is ${shown(at.value)}, expected one of ${shown(rule.oneOf)}`;
  }
  return undefined;
}

/** Bodies the checks read are capped: a health or query answer is small. */
export const maxBodyBytes = 1024 * 1024;

/**
 * The body as text, read until `maxBodyBytes` (the rest is not downloaded: the stream is
 * cancelled), or undefined when it is longer. Bounded by the fetch's own signal.
 */
export async function readCappedBody(response: Response, max = maxBodyBytes): Promise<string | undefined> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks).toString("utf8");
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
}

/** What `parseJson` gives for text that is not JSON (distinct from any parsed value). */
export const notJson: unique symbol = Symbol("not JSON");

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return notJson;
  }
}

/** Why a body (text) fails the endpoint's JSON rules, if it does: the first broken rule. */
export function bodyFailure(endpoint: HealthEndpoint, text: string): string | undefined {
  const rules = endpoint.expect?.json ?? [];
  if (rules.length === 0) return undefined;
  const body = parseJson(text);
  if (body === notJson) return "the body is not JSON";
  for (const rule of rules) {
    const failure = jsonFailure(body, rule);
    if (failure) return failure;
  }
  return undefined;
}
