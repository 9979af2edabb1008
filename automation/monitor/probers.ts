// Probers take one round of samples: every endpoint, in parallel, each bounded by a timeout.
// httpProber probes from the driver; hostProber asks the host to probe itself over SSH.
import { shellQuote } from "../../components/host-commands/shell.js";
import type { ProbeSample } from "./verdict.js";

export interface Prober {
  /** Probes every endpoint once; never rejects for a failed probe (that is a failed sample). */
  probe(round: number, signal?: AbortSignal): Promise<ProbeSample[]>;
}

export interface HttpProberArgs {
  /** e.g. "http://127.0.0.1:18080" (a path prefix is kept). */
  baseUrl: string;
  /** URL paths, e.g. ["/api/health", "/api/docs", "/api/auth/status"]. */
  endpoints: readonly string[];
  timeoutMs: number;
}

/** Joins a base URL and an endpoint path with exactly one slash between them. */
export function endpointUrl(baseUrl: string, endpoint: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/${endpoint.replace(/^\/+/, "")}`;
}

function timeoutMessage(timeoutMs: number): string {
  return `timeout after ${timeoutMs} ms`;
}

/** Probes over HTTP from the driver with Node's fetch; a 2xx response passes (a redirect does not). */
export function httpProber(args: HttpProberArgs): Prober {
  return {
    probe: (round, signal) =>
      Promise.all(args.endpoints.map((endpoint) => probeHttp(round, endpoint, args, signal))),
  };
}

async function probeHttp(
  round: number,
  endpoint: string,
  args: HttpProberArgs,
  signal: AbortSignal | undefined,
): Promise<ProbeSample> {
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
    await response.arrayBuffer();
    const ok = response.status >= 200 && response.status < 300;
    const sample: ProbeSample = { round, endpoint, startedAt, ok, status: response.status, latencyMs: latencyMs() };
    if (!ok) sample.error = `HTTP ${response.status}`;
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

/** Runs one shell command on the host (the driver's one SSH module). */
export type HostExec = (command: string) => Promise<{ code: number; stdout: string; stderr: string }>;

export interface HostProberArgs extends HttpProberArgs {
  exec: HostExec;
}

/**
 * The host-side probe: one curl per endpoint, all in parallel, each printing one line
 * "<index> <curl exit code> <http code> <seconds>" (short lines from `echo` are written
 * whole, so parallel lines never mix). Exit codes are used instead of curl's message
 * variables, which old curls lack.
 */
export function hostProbeCommand(baseUrl: string, endpoints: readonly string[], timeoutMs: number): string {
  const maxTime = shellQuote((timeoutMs / 1000).toString());
  const probes = endpoints.map((endpoint, index) => {
    const curl = `curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time ${maxTime} ${shellQuote(endpointUrl(baseUrl, endpoint))}`;
    return `{ out=$(${curl} 2>/dev/null); echo "${index} $? $out"; } &`;
  });
  return [...probes, "wait"].join(" ");
}

/** curl's exit codes a probe meets (curl(1), EXIT CODES). */
const curlExitMessages: Record<number, string> = {
  3: "malformed URL",
  6: "could not resolve host",
  7: "connection failed (refused or unreachable)",
  35: "TLS handshake failed",
  52: "empty reply from server",
  56: "connection reset while receiving",
  60: "TLS certificate not trusted",
};

/** Parses the output of `hostProbeCommand` into one sample per endpoint. */
export function parseHostProbeOutput(
  output: { code: number; stdout: string; stderr: string },
  args: { round: number; endpoints: readonly string[]; timeoutMs: number; startedAt: number },
): ProbeSample[] {
  const lines = new Map<number, string[]>();
  for (const line of output.stdout.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const index = Number(fields[0]);
    if (fields.length >= 2 && Number.isInteger(index)) lines.set(index, fields.slice(1));
  }
  return args.endpoints.map((endpoint, index) => {
    const base = { round: args.round, endpoint, startedAt: args.startedAt };
    const fields = lines.get(index);
    if (!fields) {
      const why = output.stderr.trim().split("\n")[0] || `exit code ${output.code}`;
      return { ...base, ok: false, latencyMs: 0, error: `no result from the host probe (${why})` };
    }
    const [exitText, codeText, secondsText] = fields;
    const exit = Number(exitText);
    const status = Number(codeText);
    const latencyMs = Math.round(Number(secondsText ?? "0") * 1000) || 0;
    const sample: ProbeSample = { ...base, ok: false, latencyMs };
    if (Number.isInteger(status) && status > 0) sample.status = status;
    if (exit === 28) sample.error = timeoutMessage(args.timeoutMs);
    else if (exit === 127) sample.error = "curl is not installed on the host";
    else if (exit !== 0) sample.error = curlExitMessages[exit] ?? `curl exit code ${exit}`;
    else if (sample.status === undefined) sample.error = "no HTTP status";
    else if (sample.status < 200 || sample.status >= 300) sample.error = `HTTP ${sample.status}`;
    else sample.ok = true;
    return sample;
  });
}

/** Time the SSH round trip may add to curl's own timeout before the round counts as failed. */
export const hostProbeSshGraceMs = 10_000;

/** Probes from the host itself over SSH, for apps not reachable from the driver. */
export function hostProber(args: HostProberArgs): Prober {
  const command = hostProbeCommand(args.baseUrl, args.endpoints, args.timeoutMs);
  const deadlineMs = args.timeoutMs + hostProbeSshGraceMs;
  return {
    async probe(round) {
      const startedAt = Date.now();
      let timer: NodeJS.Timeout | undefined;
      // curl bounds each probe, but a hung SSH session would not be: bound the whole call too.
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
      });
      try {
        const output = await Promise.race([args.exec(command), deadline]);
        return parseHostProbeOutput(output, { round, endpoints: args.endpoints, timeoutMs: args.timeoutMs, startedAt });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return args.endpoints.map((endpoint) => ({
          round,
          endpoint,
          startedAt,
          ok: false,
          latencyMs: Date.now() - startedAt,
          error: `ssh: ${message}`,
        }));
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
