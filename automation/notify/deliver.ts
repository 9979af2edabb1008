// One HTTP delivery with a bound: a few attempts, each under a time limit, with a growing pause
// between them. Server errors (5xx, 429), timeouts and refused connections are retried; other
// 4xx are not (the request itself is wrong: a retry cannot fix it).

export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** A 2xx answer that still means failure (NerdGraph answers 200 with `errors`). */
  check?: ((status: number, body: string) => string | undefined) | undefined;
}

export interface DeliveryOptions {
  attempts: number;
  timeoutMs: number;
  /** The pause before the 2nd attempt; doubled before each further one. */
  backoffMs: number;
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

export interface Delivery {
  ok: boolean;
  attempts: number;
  /** Why the last attempt failed. */
  error?: string | undefined;
}

export const defaultDelivery: Omit<DeliveryOptions, "timeoutMs"> = { attempts: 3, backoffMs: 1000 };

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function deliver(req: HttpRequest, opts: DeliveryOptions): Promise<Delivery> {
  const sleep = opts.sleep ?? realSleep;
  let error = "not attempted";
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    if (attempt > 1) await sleep(opts.backoffMs * 2 ** (attempt - 2));
    const result = await attemptOnce(req, opts.timeoutMs);
    if (result.ok) return { ok: true, attempts: attempt };
    error = result.error;
    if (!result.retry) return { ok: false, attempts: attempt, error };
  }
  return { ok: false, attempts: opts.attempts, error };
}

async function attemptOnce(req: HttpRequest, timeoutMs: number): Promise<{ ok: true } | { ok: false; retry: boolean; error: string }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(req.url, { method: "POST", headers: req.headers, body: req.body, signal: timeout, redirect: "error" });
    const text = (await response.text()).slice(0, 2000);
    if (response.ok) {
      const problem = req.check?.(response.status, text);
      return problem ? { ok: false, retry: false, error: problem } : { ok: true };
    }
    const retry = response.status >= 500 || response.status === 429;
    return { ok: false, retry, error: `HTTP ${response.status}${text ? `: ${oneLine(text)}` : ""}` };
  } catch (err) {
    if (timeout.aborted) return { ok: false, retry: true, error: `no answer within ${timeoutMs} ms` };
    // undici reports network errors as TypeError("fetch failed") with the socket error as cause.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined;
    return { ok: false, retry: true, error: cause ?? (err instanceof Error ? err.message : String(err)) };
  }
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim().slice(0, 200);
