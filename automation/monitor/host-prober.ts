// The host-side prober (probe mode "ssh"): one SSH command runs a curl per endpoint on the
// host itself, for apps not reachable from the driver. Status and latency expectations apply.
import { shellQuote } from "../../components/host-commands/shell.js";
import { endpointOf, latencyFailure, statusFailure, type EndpointSpec } from "./expectations.js";
import { withDeadline } from "./checkers/checker.js";
import { endpointUrl, timeoutMessage, type HttpProberArgs, type Prober } from "./probers.js";
import type { ProbeSample } from "./verdict.js";

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
export function hostProbeCommand(baseUrl: string, endpoints: readonly EndpointSpec[], timeoutMs: number): string {
  const maxTime = shellQuote((timeoutMs / 1000).toString());
  const probes = endpoints.map((endpoint, index) => {
    const curl = `curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time ${maxTime} ${shellQuote(endpointUrl(baseUrl, endpointOf(endpoint).path))}`;
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
  args: { round: number; endpoints: readonly EndpointSpec[]; timeoutMs: number; startedAt: number },
): ProbeSample[] {
  const lines = new Map<number, string[]>();
  for (const line of output.stdout.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const index = Number(fields[0]);
    if (fields.length >= 2 && Number.isInteger(index)) lines.set(index, fields.slice(1));
  }
  return args.endpoints.map((spec, index) => {
    const endpoint = endpointOf(spec);
    const base = { round: args.round, endpoint: endpoint.path, startedAt: args.startedAt };
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
    const error =
      exit === 28
        ? timeoutMessage(args.timeoutMs)
        : exit === 127
          ? "curl is not installed on the host"
          : exit !== 0
            ? (curlExitMessages[exit] ?? `curl exit code ${exit}`)
            : sample.status === undefined
              ? "no HTTP status"
              : (statusFailure(endpoint, sample.status) ?? latencyFailure(endpoint, latencyMs));
    if (error === undefined) sample.ok = true;
    else sample.error = error;
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
      try {
        // curl bounds each probe, but a hung SSH session would not be: bound the whole call too.
        const output = await withDeadline(args.exec(command), deadlineMs);
        return parseHostProbeOutput(output, { round, endpoints: args.endpoints, timeoutMs: args.timeoutMs, startedAt });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return args.endpoints.map((endpoint) => ({
          round,
          endpoint: endpointOf(endpoint).path,
          startedAt,
          ok: false,
          latencyMs: Date.now() - startedAt,
          error: `ssh: ${message}`,
        }));
      }
    },
  };
}
