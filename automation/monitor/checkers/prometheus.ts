// The metrics checker: a Prometheus HTTP API instant query (GET <url>/api/v1/query?query=…)
// whose single value must satisfy "<op> <value>". No data, several series, or an answer that
// is not the API's success shape are failed checks, each said plainly.
import { maxBodyBytes, notJson, parseJson, readCappedBody } from "../expectations.js";
import { endpointUrl, timeoutMessage } from "../probers.js";
import type { ProbeSample } from "../verdict.js";
import type { Checker } from "./checker.js";

export type Comparison = "<" | "<=" | ">" | ">=" | "==" | "!=";

export interface PrometheusCheckerArgs {
  name: string;
  /** The Prometheus base URL, e.g. http://prometheus:9090 (a path prefix is kept). */
  url: string;
  query: string;
  op: Comparison;
  value: number;
  timeoutMs: number;
}

const compare: Record<Comparison, (a: number, b: number) => boolean> = {
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
};

/** The query's URL: the query as one encoded parameter. */
export function prometheusQueryUrl(url: string, query: string): string {
  return `${endpointUrl(url, "/api/v1/query")}?${new URLSearchParams({ query }).toString()}`;
}

/** The single number an instant query answered, or why there is none. */
export function queryValue(body: unknown): { value: number } | { error: string } {
  const answer = body as { status?: unknown; error?: unknown; data?: { resultType?: unknown; result?: unknown } } | null;
  if (answer === null || typeof answer !== "object") return { error: "not a Prometheus API answer" };
  if (answer.status !== "success") return { error: `query failed: ${typeof answer.error === "string" ? answer.error.slice(0, 200) : String(answer.status)}` };
  const { resultType, result } = answer.data ?? {};
  let sample: unknown;
  if (resultType === "scalar") sample = result;
  else if (resultType === "vector" && Array.isArray(result)) {
    if (result.length === 0) return { error: "no data (the query returned no series)" };
    if (result.length > 1) return { error: `${result.length} series; the query must return one` };
    sample = (result[0] as { value?: unknown } | null)?.value;
  } else return { error: `unsupported result type ${JSON.stringify(resultType)} (expected vector or scalar)` };
  const text = Array.isArray(sample) ? sample[1] : undefined;
  const value = typeof text === "string" ? Number(text) : Number.NaN;
  return Number.isNaN(value) ? { error: `no numeric value in the result (${JSON.stringify(sample)?.slice(0, 80)})` } : { value };
}

export function prometheusChecker(args: PrometheusCheckerArgs): Checker {
  const url = prometheusQueryUrl(args.url, args.query);
  return {
    checks: 1,
    async probe(round, signal) {
      const startedAt = Date.now();
      const t0 = performance.now();
      const sample = (ok: boolean, error?: string, status?: number): ProbeSample => ({
        round,
        endpoint: args.name,
        startedAt,
        ok,
        latencyMs: Math.round(performance.now() - t0),
        ...(status !== undefined ? { status } : {}),
        ...(error !== undefined ? { error } : {}),
      });
      const timeout = AbortSignal.timeout(args.timeoutMs);
      try {
        const response = await fetch(url, { signal: signal ? AbortSignal.any([timeout, signal]) : timeout, redirect: "manual" });
        const text = await readCappedBody(response);
        if (text === undefined) return [sample(false, `HTTP ${response.status}, the answer is over ${maxBodyBytes} bytes`, response.status)];
        const body = parseJson(text);
        if (body === notJson) return [sample(false, `HTTP ${response.status}, not JSON`, response.status)];
        const result = queryValue(body);
        if ("error" in result) return [sample(false, response.ok ? result.error : `HTTP ${response.status}: ${result.error}`, response.status)];
        const ok = compare[args.op](result.value, args.value);
        return [sample(ok, ok ? undefined : `value ${result.value}, expected ${args.op} ${args.value}`, response.status)];
      } catch (error) {
        if (timeout.aborted) return [sample(false, timeoutMessage(args.timeoutMs))];
        const cause = error instanceof Error ? (error.cause as { message?: string } | undefined)?.message : undefined;
        return [sample(false, cause ?? (error instanceof Error ? error.message : String(error)))];
      }
    },
  };
}
