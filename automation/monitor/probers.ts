// Probers take one round of samples: every endpoint, in parallel, each bounded by a timeout.
// httpProber probes from the driver; hostProber (host-prober.ts) asks the host to probe itself.
// Each endpoint's answer is judged by its expectations (status, latency budget, JSON body).
import {
  bodyFailure,
  endpointOf,
  latencyFailure,
  maxBodyBytes,
  needsBody,
  readCappedBody,
  statusFailure,
  type EndpointSpec,
} from "./expectations.js";
import type { ProbeSample } from "./verdict.js";

export interface Prober {
  /** Probes every endpoint once; never rejects for a failed probe (that is a failed sample). */
  probe(round: number, signal?: AbortSignal): Promise<ProbeSample[]>;
}

export interface HttpProberArgs {
  /** e.g. "http://127.0.0.1:18080" (a path prefix is kept). */
  baseUrl: string;
  /** URL paths, e.g. ["/api/health", "/api/docs"], or paths with expectations. */
  endpoints: readonly EndpointSpec[];
  timeoutMs: number;
}

/** Joins a base URL and an endpoint path with exactly one slash between them. */
export function endpointUrl(baseUrl: string, endpoint: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/${endpoint.replace(/^\/+/, "")}`;
}

export function timeoutMessage(timeoutMs: number): string {
  return `timeout after ${timeoutMs} ms`;
}

/**
 * Probes over HTTP from the driver with Node's fetch; a 2xx response (or the expected status)
 * passes, within the latency budget and with a body that keeps the JSON rules. A redirect does not.
 */
export function httpProber(args: HttpProberArgs): Prober {
  return {
    probe: (round, signal) =>
      Promise.all(args.endpoints.map((endpoint) => probeHttp(round, endpointOf(endpoint), args, signal))),
  };
}

async function probeHttp(
  round: number,
  spec: ReturnType<typeof endpointOf>,
  args: HttpProberArgs,
  signal: AbortSignal | undefined,
): Promise<ProbeSample> {
  const endpoint = spec.path;
  const startedAt = Date.now();
  const t0 = performance.now();
  const latencyMs = () => Math.round(performance.now() - t0);
  const timeout = AbortSignal.timeout(args.timeoutMs);
  try {
    const response = await fetch(endpointUrl(args.baseUrl, endpoint), {
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      headers: { "cache-control": "no-cache" },
      // A health endpoint that redirects (to a login page, say) is not healthy; curl on the
      // host does not follow redirects either, so both probers judge alike.
      redirect: "manual",
    });
    // Reading the body (under the same timeout) frees the connection and times a full answer.
    const body = await readCappedBody(response);
    const latency = latencyMs();
    const error =
      statusFailure(spec, response.status) ??
      latencyFailure(spec, latency) ??
      (!needsBody(spec) ? undefined : body === undefined ? `the body is over ${maxBodyBytes} bytes` : bodyFailure(spec, body));
    const sample: ProbeSample = { round, endpoint, startedAt, ok: error === undefined, status: response.status, latencyMs: latency };
    if (error !== undefined) sample.error = error;
    return sample;
  } catch (error) {
    return { round, endpoint, startedAt, ok: false, latencyMs: latencyMs(), error: fetchErrorMessage(error, timeout, args.timeoutMs) };
  }
}

function fetchErrorMessage(error: unknown, timeout: AbortSignal, timeoutMs: number): string {
  if (timeout.aborted) return timeoutMessage(timeoutMs);
  if (error instanceof Error && error.name === "AbortError") return "aborted";
  // undici reports network errors as TypeError("fetch failed") with the socket error as cause.
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

