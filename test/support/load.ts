// Load through the proxy while a release changes: autocannon (a well-kept HTTP benchmarking
// tool) sends requests on a few keep-alive connections until stopped, and counts what failed.
import autocannon from "autocannon";

export interface LoadResult {
  requests: number;
  /** Connection errors and timeouts: requests that got no answer. */
  errors: number;
  /** Answers with a 5xx status. */
  serverErrors: number;
  /** Any non-2xx answer (5xx included). */
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
}

export interface RunningLoad {
  /** Stops sending and returns the counts. */
  stop(): Promise<LoadResult>;
}

/** Starts sending GET requests to `url` (loopback only) until stop(); bounded at `maxSeconds`. */
export function startLoad(url: string, opts: { connections?: number; maxSeconds?: number; ratePerSecond?: number } = {}): RunningLoad {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`load goes to loopback only (got ${url})`);
  let resolve!: (r: LoadResult) => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<LoadResult>((res, rej) => ((resolve = res), (reject = rej)));
  const instance = autocannon(
    // A steady rate (not as fast as it goes): the driver's own watch shares these two cores.
    { url, connections: opts.connections ?? 4, duration: opts.maxSeconds ?? 300, timeout: 10, overallRate: opts.ratePerSecond ?? 100 },
    (err, r) => {
      if (err) return reject(err);
      resolve({
        requests: r.requests.total,
        errors: r.errors + r.timeouts,
        serverErrors: r["5xx"],
        non2xx: r.non2xx,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
      });
    },
  );
  return {
    stop() {
      instance.stop();
      return done;
    },
  };
}

export const describeLoad = (r: LoadResult) =>
  `${r.requests} requests, ${r.errors} connection errors, ${r.serverErrors} 5xx, ${r.non2xx} non-2xx, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`;
