import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { realClock, runMonitor } from "../../automation/monitor/monitor.js";
import { hostProbeCommand, hostProber, hostProbeSshGraceMs, parseHostProbeOutput, type HostExec } from "../../automation/monitor/host-prober.js";
import { endpointUrl, httpProber } from "../../automation/monitor/probers.js";

// A real local app: /ok answers 200, /boom 500, /slow answers after 2 s (beyond every timeout here),
// /stall sends its headers and part of its body, then nothing more.
let server: Server;
let baseUrl: string;
const slowTimers = new Set<NodeJS.Timeout>();
let flipCount = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/app/ok") return void res.end("ok");
    if (req.url === "/app/flip") {
      // Healthy for the first two requests, then broken: a release that goes bad after start.
      flipCount += 1;
      res.statusCode = flipCount <= 2 ? 200 : 503;
      return void res.end();
    }
    if (req.url === "/app/moved") {
      res.writeHead(302, { location: "/app/ok" });
      return void res.end();
    }
    if (req.url === "/app/boom") {
      res.statusCode = 500;
      return void res.end("boom");
    }
    if (req.url === "/app/stall") {
      res.writeHead(200, { "content-length": "1000" });
      return void res.write("part of the body");
    }
    if (req.url === "/app/slow") {
      const timer = setTimeout(() => res.end("late"), 2_000);
      slowTimers.add(timer);
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/app/`;
});

afterAll(async () => {
  for (const timer of slowTimers) clearTimeout(timer);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Runs the command in a local shell: the same text the SSH module would send to the host. */
const localShell: HostExec = (command) =>
  new Promise((resolve) => {
    execFile("sh", ["-c", command], (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });

describe("httpProber (real local server)", () => {
  it("passes a 200, fails a 500 with its status, in one round", async () => {
    const prober = httpProber({ baseUrl, endpoints: ["/ok", "/boom"], timeoutMs: 1_000 });
    const [ok, boom] = await prober.probe(4);
    expect(ok).toMatchObject({ round: 4, endpoint: "/ok", ok: true, status: 200 });
    expect(ok?.error).toBeUndefined();
    expect(boom).toMatchObject({ round: 4, endpoint: "/boom", ok: false, status: 500, error: "HTTP 500" });
    expect(ok?.startedAt).toBeGreaterThan(Date.now() - 5_000);
  });

  it("fails a redirect instead of following it (a health check sent to a login page is not healthy)", async () => {
    const [moved] = await httpProber({ baseUrl, endpoints: ["/moved"], timeoutMs: 1_000 }).probe(0);
    expect(moved).toMatchObject({ ok: false, status: 302, error: "HTTP 302" });
    const [movedOnHost] = await hostProber({ exec: localShell, baseUrl, endpoints: ["/moved"], timeoutMs: 1_000 }).probe(0);
    expect(movedOnHost).toMatchObject({ ok: false, status: 302, error: "HTTP 302" });
  });

  it("fails a probe slower than the timeout, and probes endpoints in parallel", async () => {
    const prober = httpProber({ baseUrl, endpoints: ["/slow", "/slow", "/ok"], timeoutMs: 250 });
    const started = performance.now();
    const [slow1, slow2, ok] = await prober.probe(0);
    const elapsed = performance.now() - started;
    expect(slow1).toMatchObject({ ok: false, error: "timeout after 250 ms" });
    expect(slow1?.status).toBeUndefined();
    expect(slow1?.latencyMs).toBeGreaterThanOrEqual(240);
    expect(slow2).toMatchObject({ ok: false, error: "timeout after 250 ms" });
    expect(ok).toMatchObject({ ok: true });
    // Two slow probes in sequence would take at least 500 ms.
    expect(elapsed).toBeLessThan(480);
  });

  it("fails with the socket error when the connection is refused", async () => {
    const port = await closedPort();
    const prober = httpProber({ baseUrl: `http://127.0.0.1:${port}`, endpoints: ["/api/health"], timeoutMs: 1_000 });
    const [sample] = await prober.probe(1);
    expect(sample).toMatchObject({ ok: false, endpoint: "/api/health" });
    expect(sample?.error).toContain("ECONNREFUSED");
  });

  it("reports an abort from the caller as 'aborted', not as a timeout", async () => {
    const controller = new AbortController();
    const prober = httpProber({ baseUrl, endpoints: ["/slow"], timeoutMs: 1_500 });
    const pending = prober.probe(0, controller.signal);
    setTimeout(() => controller.abort(), 50);
    const [sample] = await pending;
    expect(sample).toMatchObject({ ok: false, error: "aborted" });
  });

  it("joins base URLs and paths with exactly one slash", () => {
    expect(endpointUrl("http://h:1/", "/api/health")).toBe("http://h:1/api/health");
    expect(endpointUrl("http://h:1/app", "api/health")).toBe("http://h:1/app/api/health");
  });
});

describe("an app that accepts TCP and never answers, or stops mid-answer", () => {
  let silent: ReturnType<typeof createTcpServer>;
  let silentUrl: string;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    silent = createTcpServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("each probe gives up at its timeout, from the driver and from the host, and the round ends with it", async () => {
    const started = performance.now();
    const [fromDriver, midBody, fromHost] = await Promise.all([
      httpProber({ baseUrl: silentUrl, endpoints: ["/api/health"], timeoutMs: 300 }).probe(0),
      httpProber({ baseUrl, endpoints: ["/stall"], timeoutMs: 300 }).probe(0),
      hostProber({ exec: localShell, baseUrl: silentUrl, endpoints: ["/api/health"], timeoutMs: 300 }).probe(0),
    ]);
    for (const [sample] of [fromDriver, midBody, fromHost]) {
      expect(sample).toMatchObject({ ok: false, error: "timeout after 300 ms" });
      expect(sample!.latencyMs).toBeGreaterThanOrEqual(280);
    }
    expect(performance.now() - started).toBeLessThan(1_500);
  });
});

describe("hostProber", () => {
  it("builds one command: a curl per endpoint in parallel, every URL single-quoted when needed", () => {
    expect(hostProbeCommand("http://127.0.0.1:18080", ["/api/health", "/x'y"], 5_000)).toBe(
      `{ out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 http://127.0.0.1:18080/api/health 2>/dev/null); echo "0 $? $out"; } & ` +
        `{ out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 'http://127.0.0.1:18080/x'\\''y' 2>/dev/null); echo "1 $? $out"; } & ` +
        `wait`,
    );
  });

  it("parses lines in any order; timeouts, refusals, non-2xx and missing lines are failures", () => {
    const samples = parseHostProbeOutput(
      { code: 0, stdout: "2 0 503 0.010\n0 0 200 0.004512\n1 28 000 1.500\n3 7 000 0.000\n", stderr: "" },
      { round: 3, endpoints: ["/a", "/b", "/c", "/d", "/e"], timeoutMs: 1_500, startedAt: 1_000 },
    );
    expect(samples).toEqual([
      { round: 3, endpoint: "/a", startedAt: 1_000, ok: true, status: 200, latencyMs: 5 },
      { round: 3, endpoint: "/b", startedAt: 1_000, ok: false, latencyMs: 1_500, error: "timeout after 1500 ms" },
      { round: 3, endpoint: "/c", startedAt: 1_000, ok: false, status: 503, latencyMs: 10, error: "HTTP 503" },
      { round: 3, endpoint: "/d", startedAt: 1_000, ok: false, latencyMs: 0, error: "connection failed (refused or unreachable)" },
      { round: 3, endpoint: "/e", startedAt: 1_000, ok: false, latencyMs: 0, error: "no result from the host probe (exit code 0)" },
    ]);
  });

  it("says when curl is missing on the host", () => {
    const [sample] = parseHostProbeOutput(
      { code: 0, stdout: "0 127 \n", stderr: "sh: 1: curl: not found\n" },
      { round: 0, endpoints: ["/a"], timeoutMs: 1_000, startedAt: 0 },
    );
    expect(sample).toMatchObject({ ok: false, error: "curl is not installed on the host" });
  });

  it("probes a real server through a real shell and curl (200, 500, slow, refused)", async () => {
    const prober = hostProber({ exec: localShell, baseUrl, endpoints: ["/ok", "/boom", "/slow"], timeoutMs: 300 });
    const [ok, boom, slow] = await prober.probe(7);
    expect(ok).toMatchObject({ round: 7, endpoint: "/ok", ok: true, status: 200 });
    expect(boom).toMatchObject({ endpoint: "/boom", ok: false, status: 500, error: "HTTP 500" });
    expect(slow).toMatchObject({ endpoint: "/slow", ok: false, error: "timeout after 300 ms" });

    const port = await closedPort();
    const refused = hostProber({ exec: localShell, baseUrl: `http://127.0.0.1:${port}`, endpoints: ["/api/health"], timeoutMs: 300 });
    expect((await refused.probe(0))[0]).toMatchObject({ ok: false, error: "connection failed (refused or unreachable)" });
  });

  it("fails the round when the SSH call hangs past curl's timeout plus the grace", async () => {
    vi.useFakeTimers();
    try {
      const prober = hostProber({ exec: () => new Promise(() => {}), baseUrl: "http://h", endpoints: ["/a"], timeoutMs: 1_000 });
      const pending = prober.probe(0);
      await vi.advanceTimersByTimeAsync(1_000 + hostProbeSshGraceMs);
      expect((await pending)[0]).toMatchObject({ ok: false, error: "ssh: no answer within 11000 ms" });
    } finally {
      vi.useRealTimers();
    }
  });

  it("turns an SSH failure into a failed sample per endpoint", async () => {
    const prober = hostProber({
      exec: () => Promise.reject(new Error("connect ETIMEDOUT 10.0.0.5:22")),
      baseUrl: "http://127.0.0.1:18080",
      endpoints: ["/a", "/b"],
      timeoutMs: 1_000,
    });
    const samples = await prober.probe(2);
    expect(samples.map((s) => [s.endpoint, s.ok, s.error])).toEqual([
      ["/a", false, "ssh: connect ETIMEDOUT 10.0.0.5:22"],
      ["/b", false, "ssh: connect ETIMEDOUT 10.0.0.5:22"],
    ]);
  });
});

describe("runMonitor with the real clock and the HTTP prober", () => {
  const quick = { durationMs: 600, intervalMs: 150, consecutiveFailures: 3, successRate: 0.95, probeTimeoutMs: 100 };

  it("passes a healthy app after the duration, rounds on the interval", async () => {
    const started = Date.now();
    const report = await runMonitor({ policy: quick, prober: httpProber({ baseUrl, endpoints: ["/ok"], timeoutMs: 1_000 }) });
    expect(report.verdict).toMatchObject({ state: "passed", failedRounds: 0 });
    expect(report.finishedAt - started).toBeGreaterThanOrEqual(590);
    // 4 rounds on an idle machine; a slot is skipped only if a round overran it, never run early.
    expect(report.rounds.length).toBeLessThanOrEqual(4);
    for (const r of report.rounds) expect(r.startedAt - report.startedAt).toBeGreaterThanOrEqual(r.round * 150 - 5);
  });

  it("fails an app that goes bad on the third failed round in a row, before the duration", async () => {
    flipCount = 0;
    const report = await runMonitor({
      // A loose rate (50 %) so that the streak rule is the one that speaks.
      policy: { ...quick, durationMs: 5_000, successRate: 0.5 },
      prober: httpProber({ baseUrl, endpoints: ["/flip"], timeoutMs: 1_000 }),
    });
    expect(report.verdict).toMatchObject({ state: "failed", reason: "consecutive-failures", rounds: 5, failedRounds: 3 });
    expect(report.rounds[4]?.failures).toEqual(["/flip: HTTP 503"]);
    expect(report.decidedAt - report.startedAt).toBeLessThan(2_000);
  });

  it("stops promptly when aborted during the wait between rounds", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const report = await runMonitor({
      policy: { ...quick, durationMs: 60_000, intervalMs: 10_000 },
      prober: httpProber({ baseUrl, endpoints: ["/ok"], timeoutMs: 1_000 }),
      clock: realClock,
      signal: controller.signal,
    });
    expect(report.verdict).toMatchObject({ state: "failed", reason: "aborted", rounds: 1 });
    expect(report.finishedAt - report.startedAt).toBeLessThan(1_000);
  });
});
