// The kinds of health checks, each against something real: endpoint expectations (status, JSON
// body, latency budget) against a local HTTP app, the Prometheus checker against a local
// Prometheus-compatible query API, the exec checker's command against a fake host and through a
// real /bin/sh; and how their results count in the policy, the tolerance line and the verdict.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allOf, asChecker, checkersFor, checksPerRoundOf } from "../../automation/monitor/checkers/index.js";
import { execChecker } from "../../automation/monitor/checkers/exec.js";
import { prometheusChecker, prometheusQueryUrl, queryValue } from "../../automation/monitor/checkers/prometheus.js";
import { parseHostProbeOutput } from "../../automation/monitor/host-prober.js";
import { runMonitor } from "../../automation/monitor/monitor.js";
import { toleranceOf } from "../../automation/monitor/policy.js";
import { httpProber } from "../../automation/monitor/probers.js";
import { checksOfRound, policyFor } from "../../automation/monitor/watch.js";
import { parseStackConfig } from "../../components/config/parse.js";
import * as hc from "../../components/host-commands/index.js";
import { fakeClock } from "../support/fake-clock.js";
import { FakeExec } from "../support/fake-host.js";

// ---- a local app and a local Prometheus-compatible query API ----

let server: Server;
let baseUrl: string;
/** The PromQL queries the fake Prometheus received, decoded, in order. */
const queries: string[] = [];

/** Answers of the fake Prometheus by query text (as the HTTP API documents them). */
const promAnswers: Record<string, { status?: number; body: string }> = {
  error_rate: { body: JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: { job: "app" }, value: [1_700_000_000, "0.01"] }] } }) },
  high_error_rate: { body: JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [1_700_000_000, "0.2"] }] } }) },
  no_data: { body: JSON.stringify({ status: "success", data: { resultType: "vector", result: [] } }) },
  two_series: {
    body: JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: { a: "1" }, value: [1, "1"] }, { metric: { a: "2" }, value: [1, "2"] }] } }),
  },
  scalar_one: { body: JSON.stringify({ status: "success", data: { resultType: "scalar", result: [1_700_000_000, "1"] } }) },
  bad_query: { status: 400, body: JSON.stringify({ status: "error", errorType: "bad_data", error: 'parse error at char 5: unexpected "}"' }) },
  not_json: { status: 502, body: "<html>bad gateway</html>" },
  nan: { body: JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [1, "NaN"] }] } }) },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/prom/api/v1/query" && req.method === "GET") {
      const query = url.searchParams.get("query") ?? "";
      queries.push(query);
      const answer = promAnswers[query.split(" ")[0]!] ?? promAnswers.no_data!;
      res.writeHead(answer.status ?? 200, { "content-type": "application/json" });
      return void res.end(answer.body);
    }
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    if (url.pathname === "/health") return json(200, { status: "ok", checks: [{ name: "db", state: "up" }], version: 3, ready: true });
    if (url.pathname === "/degraded") return json(200, { status: "degraded", checks: [{ name: "db", state: "down" }] });
    if (url.pathname === "/created") return json(201, { status: "ok" });
    if (url.pathname === "/html") return void res.end("<html>ok</html>");
    if (url.pathname === "/huge") {
      // 2 MiB of JSON-looking text: past the 1 MiB the checks read.
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(`{"status":"ok","pad":"${"x".repeat(2 * 1024 * 1024)}"}`);
    }
    if (url.pathname === "/proto") return json(200, '{"__proto__": {"status": "ok"}}');
    if (url.pathname === "/slowish") return void setTimeout(() => json(200, { status: "ok" }), 300);
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const probeOne = async (endpoint: Parameters<typeof httpProber>[0]["endpoints"][number]) =>
  (await httpProber({ baseUrl, endpoints: [endpoint], timeoutMs: 2_000 }).probe(0))[0]!;

describe("endpoint expectations over HTTP (real local server)", () => {
  it("status: any 2xx by default; an exact status when expected", async () => {
    expect(await probeOne("/created")).toMatchObject({ ok: true, status: 201 });
    expect(await probeOne({ path: "/created", expect: { status: 200 } })).toMatchObject({ ok: false, status: 201, error: "HTTP 201, expected 200" });
    expect(await probeOne({ path: "/nothing", expect: { status: 404 } })).toMatchObject({ ok: true, status: 404 });
  });

  it("JSON body: equals, oneOf, exists, nested paths with indexes", async () => {
    const health = (json: NonNullable<NonNullable<Parameters<typeof probeOne>[0] & object>["expect"]>["json"]) =>
      probeOne({ path: "/health", expect: { json: json! } });
    expect(await health([{ path: "status", equals: "ok" }])).toMatchObject({ ok: true });
    expect(await health([{ path: "checks.0.state", oneOf: ["up", "degraded"] }, { path: "version", equals: 3 }, { path: "ready", equals: true }])).toMatchObject({ ok: true });
    expect(await health([{ path: "missing", exists: false }])).toMatchObject({ ok: true });
    expect(await health([{ path: "version", equals: "3" }])).toMatchObject({ ok: false, error: 'JSON version is 3, expected "3"' });
    expect(await health([{ path: "checks.1.state", equals: "up" }])).toMatchObject({ ok: false, error: "JSON checks.1.state is missing" });
    expect(await health([{ path: "status", exists: false }])).toMatchObject({ ok: false, error: "JSON status is present" });
    expect(await probeOne({ path: "/degraded", expect: { json: [{ path: "status", equals: "ok" }] } })).toMatchObject({
      ok: false,
      status: 200,
      error: 'JSON status is "degraded", expected "ok"',
    });
  });

  it("a body that is not JSON fails a JSON rule; paths never reach the prototype", async () => {
    expect(await probeOne({ path: "/html", expect: { json: [{ path: "status", equals: "ok" }] } })).toMatchObject({ ok: false, error: "the body is not JSON" });
    expect(await probeOne({ path: "/health", expect: { json: [{ path: "status.constructor", exists: true }] } })).toMatchObject({ ok: false, error: "JSON status.constructor is missing" });
    // JSON.parse makes "__proto__" an own key: it is read as data, nothing more.
    expect(await probeOne({ path: "/proto", expect: { json: [{ path: "__proto__.status", equals: "ok" }] } })).toMatchObject({ ok: true });
    expect(await probeOne({ path: "/health", expect: { json: [{ path: "toString", exists: true }] } })).toMatchObject({ ok: false });
  });

  it("a body over 1 MiB is not read to its end and fails a JSON rule; without a rule the status decides", async () => {
    expect(await probeOne({ path: "/huge", expect: { json: [{ path: "status", equals: "ok" }] } })).toMatchObject({ ok: false, error: "the body is over 1048576 bytes" });
    expect(await probeOne("/huge")).toMatchObject({ ok: true, status: 200 });
  });

  it("latency budget: an answer slower than maxLatencyMs is a failed check saying by how much", async () => {
    const slow = await probeOne({ path: "/slowish", maxLatencyMs: 100 });
    expect(slow.ok).toBe(false);
    expect(slow.status).toBe(200);
    expect(slow.latencyMs).toBeGreaterThanOrEqual(250);
    expect(slow.error).toBe(`latency ${slow.latencyMs} ms over the budget of 100 ms`);
    expect(await probeOne({ path: "/slowish", maxLatencyMs: 1_500 })).toMatchObject({ ok: true });
    // The status speaks first: a fast 500 is a 500.
    expect(await probeOne({ path: "/nothing", maxLatencyMs: 1_000 })).toMatchObject({ ok: false, error: "HTTP 404" });
  });

  it("the host-side probe applies the expected status and the latency budget to curl's answer", () => {
    const samples = parseHostProbeOutput(
      { code: 0, stdout: "0 0 201 0.010\n1 0 200 0.900\n2 0 200 0.050\n", stderr: "" },
      { round: 0, endpoints: [{ path: "/a", expect: { status: 201 } }, { path: "/b", maxLatencyMs: 500 }, { path: "/c", maxLatencyMs: 500 }], timeoutMs: 2_000, startedAt: 0 },
    );
    expect(samples.map((s) => [s.endpoint, s.ok, s.error])).toEqual([
      ["/a", true, undefined],
      ["/b", false, "latency 900 ms over the budget of 500 ms"],
      ["/c", true, undefined],
    ]);
  });
});

// ---- Prometheus ----

const prom = (query: string, op: "<" | ">=" | "==" = "<", value = 0.05) =>
  prometheusChecker({ name: "metrics", url: `${baseUrl}/prom`, query, op, value, timeoutMs: 2_000 });

describe("prometheus checker (a local Prometheus-compatible query API)", () => {
  it("sends GET <url>/api/v1/query with the query encoded, and compares the one value", async () => {
    const query = 'error_rate sum(rate(http_requests_total{code=~"5.."}[1m])) / 2 + 1';
    const [pass] = await prom(query).probe(2);
    expect(queries.at(-1)).toBe(query);
    expect(pass).toMatchObject({ round: 2, endpoint: "metrics", ok: true, status: 200 });
    expect(prometheusQueryUrl("http://p:9090/", "up == 1")).toBe("http://p:9090/api/v1/query?query=up+%3D%3D+1");
  });

  it("fails a value on the wrong side of the threshold, saying both", async () => {
    expect((await prom("high_error_rate").probe(0))[0]).toMatchObject({ ok: false, error: "value 0.2, expected < 0.05" });
    expect((await prom("high_error_rate", ">=", 0.2).probe(0))[0]).toMatchObject({ ok: true });
    expect((await prom("scalar_one", "==", 1).probe(0))[0]).toMatchObject({ ok: true });
  });

  it("no data, several series, NaN, a query error and a non-JSON answer are failed checks", async () => {
    const error = async (q: string) => (await prom(q).probe(0))[0]!;
    expect(await error("no_data")).toMatchObject({ ok: false, error: "no data (the query returned no series)" });
    expect(await error("two_series")).toMatchObject({ ok: false, error: "2 series; the query must return one" });
    expect((await error("nan")).error).toMatch(/^no numeric value in the result/);
    expect(await error("bad_query")).toMatchObject({ ok: false, status: 400, error: 'HTTP 400: query failed: parse error at char 5: unexpected "}"' });
    expect(await error("not_json")).toMatchObject({ ok: false, status: 502, error: "HTTP 502, not JSON" });
  });

  it("an unreachable Prometheus is a failed check, not a crash", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const [down] = await prometheusChecker({ name: "m", url: `http://127.0.0.1:${port}`, query: "up", op: "<", value: 1, timeoutMs: 1_000 }).probe(0);
    expect(down).toMatchObject({ ok: false });
    expect(down!.error).toMatch(/ECONNREFUSED/);
  });

  it("queryValue reads only the API's success shapes", () => {
    expect(queryValue({ status: "success", data: { resultType: "matrix", result: [] } })).toEqual({ error: 'unsupported result type "matrix" (expected vector or scalar)' });
    expect(queryValue("nope")).toEqual({ error: "not a Prometheus API answer" });
    expect(queryValue({ status: "success", data: { resultType: "vector", result: [{ value: [1, "-3.5"] }] } })).toEqual({ value: -3.5 });
  });
});

// ---- exec in a service container ----

const layout: hc.HostLayout = { appDir: "/opt/awareness", composeProject: "awareness", composeCommand: "docker compose" };

describe("exec checker: a command in a service container over SSH", () => {
  it("builds timeout + compose exec -T as data, every value quoted", () => {
    expect(hc.execInService(layout, { service: "db", command: ["pg_isready", "-U", "app user"], timeoutSeconds: 5 })).toBe(
      "timeout 5 docker compose -p awareness -f /opt/awareness/docker-compose.yml exec -T db pg_isready -U 'app user'",
    );
    expect(hc.execInService({ ...layout, composeCommand: "docker-compose" }, { service: "redis", command: ["redis-cli", "ping"], timeoutSeconds: 3 })).toBe(
      "timeout 3 docker-compose -p awareness -f /opt/awareness/docker-compose.yml exec -T redis redis-cli ping",
    );
    expect(() => hc.execInService(layout, { service: "db", command: [], timeoutSeconds: 5 })).toThrow(/needs a command/);
  });

  it("exit 0 passes; another exit fails with what the command said; 124 is the timeout; an SSH failure fails the check", async () => {
    const exec = new FakeExec("deploy@fake:22");
    const checker = execChecker({ name: "db ping", layout, service: "db", command: ["pg_isready"], timeoutSeconds: 5, exec: (c) => exec.run(c) });
    exec.respond("exec -T db pg_isready", { code: 0, stdout: "/var/run/postgresql:5432 - accepting connections\n" });
    expect(await checker.probe(1)).toMatchObject([{ round: 1, endpoint: "db ping", ok: true }]);
    expect(exec.commands).toEqual(["timeout 5 docker compose -p awareness -f /opt/awareness/docker-compose.yml exec -T db pg_isready"]);
    exec.respond("pg_isready", { code: 2, stdout: "/var/run/postgresql:5432 - no response\n" });
    expect(await checker.probe(2)).toMatchObject([{ ok: false, error: "exit code 2: /var/run/postgresql:5432 - no response" }]);
    exec.respond("pg_isready", { code: 1, stderr: 'service "db" is not running\nmore' });
    expect(await checker.probe(3)).toMatchObject([{ ok: false, error: 'exit code 1: service "db" is not running' }]);
    exec.respond("pg_isready", { code: 124 });
    expect(await checker.probe(4)).toMatchObject([{ ok: false, error: "timeout after 5 s" }]);
    const down = execChecker({ name: "x", layout, service: "db", command: ["true"], timeoutSeconds: 1, exec: () => Promise.reject(new Error("connect ECONNREFUSED")) });
    expect(await down.probe(0)).toMatchObject([{ ok: false, error: "ssh: connect ECONNREFUSED" }]);
  });

  it("the quoted command reaches a real /bin/sh as exactly the argv given (docker faked on PATH)", () => {
    const dir = mkdtempSync(join(tmpdir(), "exec-check-"));
    try {
      // The fake docker prints each argument on a line of its own, and exits as told.
      writeFileSync(join(dir, "docker"), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\nexit "${FAKE_EXIT:-0}"\n');
      chmodSync(join(dir, "docker"), 0o755);
      const command = ["sh", "-c", "echo $(id) `id`; rm -rf /", "a'b\"c", "-U", "", "  spaced  ", "$HOME", "*"];
      const built = hc.execInService(layout, { service: "db", command, timeoutSeconds: 5 });
      const run = (env: Record<string, string>) =>
        spawnSync("/bin/sh", ["-c", built], { encoding: "utf8", env: { PATH: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: "/root", ...env } });
      const r = run({});
      expect(r.status).toBe(0);
      expect(r.stdout.split("\n").slice(0, -1)).toEqual(["compose", "-p", "awareness", "-f", "/opt/awareness/docker-compose.yml", "exec", "-T", "db", ...command]);
      expect(run({ FAKE_EXIT: "3" }).status).toBe(3);
      // A command past its time is stopped by timeout(1) with 124, which the checker reads as a timeout.
      writeFileSync(join(dir, "docker"), "#!/bin/sh\nexec sleep 5\n");
      const slow = spawnSync("/bin/sh", ["-c", hc.execInService(layout, { service: "db", command: ["x"], timeoutSeconds: 1 })], {
        encoding: "utf8",
        env: { PATH: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}` },
      });
      expect(slow.status).toBe(hc.execTimedOutCode);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- the checks together: counted in the policy, the tolerance line and the verdict ----

const digest = `sha256:${"c".repeat(64)}`;
function configWith(health: Record<string, unknown>) {
  return parseStackConfig({
    "awareness:hosts": JSON.stringify([{ host: "server.example.com" }]),
    "awareness:sshPrivateKey": "key",
    "awareness:services": JSON.stringify({ backend: {}, db: { image: "postgres:16" } }),
    "awareness:release": JSON.stringify({ id: "v1", images: { backend: `ghcr.io/acme/b@${digest}` } }),
    "awareness:monitor": JSON.stringify({ durationSeconds: 300, intervalSeconds: 30 }),
    "awareness:health": JSON.stringify(health),
  });
}

describe("every checker result is one check", () => {
  // A function: the local server's URL is known only once it listens.
  const healthConfig = () => ({
    baseUrl,
    endpoints: ["/health", { path: "/health", expect: { json: { path: "status", equals: "ok" } }, maxLatencyMs: 1_500 }],
    checks: [
      { kind: "exec", name: "db-ping", service: "db", command: ["pg_isready"] },
      { kind: "prometheus", name: "error-rate", url: `${baseUrl}/prom`, query: "error_rate", op: "<", value: 0.05 },
    ],
  });

  it("the policy plans endpoints + checks per round, and precheck's tolerance line counts them", () => {
    const config = configWith(healthConfig());
    expect(checksPerRoundOf(config.health)).toBe(4);
    const policy = policyFor(config);
    expect(policy.checksPerRound).toBe(4);
    expect(toleranceOf(policy).text).toBe("fails after 3 bad rounds in a row or 3 failed checks of 40");
    expect(checksOfRound(config.health)).toBe("2 endpoints, 1 exec and 1 prometheus checks");
    expect(checksOfRound(configWith({ endpoints: ["/a"] }).health)).toBe("1 endpoint");
  });

  it("a round of the configured checkers yields one sample per check, each judged by its kind", async () => {
    const config = configWith(healthConfig());
    const exec = new FakeExec("deploy@fake:22");
    exec.respond("pg_isready", { code: 2, stderr: "no response" });
    const samples = await checkersFor(config, () => exec).probe(0);
    expect(samples.map((s) => [s.endpoint, s.ok])).toEqual([
      ["/health", true],
      ["/health", true],
      ["db-ping", false],
      ["error-rate", true],
    ]);
    expect(exec.commands).toEqual(["timeout 10 docker compose -p awareness -f /opt/awareness/docker-compose.yml exec -T db pg_isready"]);
  });

  it("failed exec checks count in the verdict like failed endpoint probes: the early rate verdict fires on them", async () => {
    const config = configWith({ ...healthConfig(), checks: [healthConfig().checks[0]] });
    let lastRound = -1;
    const clock = fakeClock();
    // The db fails in rounds 2 and 5 only (never twice in a row): 2 failed checks of 30 at 95 %.
    const flaky = {
      checks: 1,
      probe: async (r: number) => {
        lastRound = r;
        return [{ round: r, endpoint: "db-ping", startedAt: clock.now(), ok: r !== 1 && r !== 4, latencyMs: 1, ...(r === 1 || r === 4 ? { error: "exit code 2" } : {}) }];
      },
    };
    const endpoints = asChecker({ probe: async (r) => [{ round: r, endpoint: "/health", startedAt: clock.now(), ok: true, latencyMs: 1 }, { round: r, endpoint: "/x", startedAt: clock.now(), ok: true, latencyMs: 1 }] }, 2);
    const policy = policyFor(config);
    expect(policy.checksPerRound).toBe(3);
    const report = await runMonitor({ policy, prober: allOf([endpoints, flaky]), clock });
    expect(report.verdict).toMatchObject({ state: "failed", reason: "success-rate", failedChecks: 2, rounds: 5 });
    // Decided at the second failure (round 5 of 10), not at the end of the window.
    expect(lastRound).toBe(4);
  });
});
