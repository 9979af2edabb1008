// strategy blue-green without a host: its config rules, the compose file's color port, the
// observers' live-color commands against a real /bin/sh, and the switch run for real in a temp
// dir with a stand-in docker (which color starts, the proxy's files, the warm flip back, a failed
// start that leaves the live color serving, the idle color stopped once verified).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { colorPortVariable, renderComposeFile, renderReleaseRecordPrefix, sha256Hex } from "../../components/compose/render.js";
import { parseStackConfig } from "../../components/config/parse.js";
import type { BlueGreenConfig, ServiceConfig } from "../../components/config/schema.js";
import * as hc from "../../components/host-commands/index.js";
import { hostLayoutOf } from "../../components/host-commands/layout.js";
import { proxyConfig } from "../../components/host-commands/blue-green.js";
import { renderStatus } from "../../automation/report/status-text.js";
import { configProblems, rawStackConfig, testSshKey } from "../support/stack-config.js";

const digest = `sha256:${"c".repeat(64)}`;
const bg: BlueGreenConfig = {
  proxyImage: "caddy:2.11.9-alpine",
  drainSeconds: 10,
  routes: [
    { service: "backend", listenPort: 8000, portEnv: "PORT", bluePort: 8101, greenPort: 8201 },
    { service: "frontend", listenPort: 8080, portEnv: "PORT", bluePort: 8102, greenPort: 8202 },
  ],
};

function raw(extra: Record<string, unknown>, services?: Record<string, unknown>): Record<string, string> {
  const cfg: Record<string, unknown> = {
    hosts: [{ host: "server.example.com" }],
    sshPrivateKey: testSshKey,
    services: services ?? { backend: { environment: { PORT: "8000" } }, frontend: { image: "web:1" } },
    release: { id: "r1", images: { backend: `ghcr.io/acme/backend@${digest}` } },
    ...extra,
  };
  return rawStackConfig(cfg);
}
const problems = configProblems;

describe("config: what blue-green needs, checked before any remote command", () => {
  it("recreate stays the default; blue-green with routes parses, and the host layout knows the live color's project", () => {
    expect(parseStackConfig(raw({})).strategy).toBe("recreate");
    const cfg = parseStackConfig(raw({ strategy: "blue-green", blueGreen: { routes: bg.routes.map(({ portEnv: _p, ...r }) => r) } }));
    expect(cfg.blueGreen).toMatchObject({ proxyImage: "caddy:2.11.9-alpine", drainSeconds: 10, routes: [{ portEnv: "PORT" }, { portEnv: "PORT" }] });
    const layout = hostLayoutOf(cfg, cfg.hosts[0]!);
    expect(layout.live).toEqual({
      project: `"awareness-$(cat /opt/awareness/.live-color 2>/dev/null || echo blue)"`,
      composeFile: `"/opt/awareness/$(cat /opt/awareness/.live-color 2>/dev/null || echo blue)/docker-compose.yml"`,
    });
    expect(hostLayoutOf(parseStackConfig(raw({})), cfg.hosts[0]!).live).toBeUndefined();
  });

  it("refuses what cannot run as two colors: no routes, a stateful service, a bridge network, an unknown service, a port used twice", () => {
    expect(problems(raw({ strategy: "blue-green" }))).toMatch(/blueGreen.*needs awareness:blueGreen/s);
    expect(problems(raw({ blueGreen: { routes: [bg.routes[0]] } }))).toMatch(/read only with strategy "blue-green"/);
    expect(problems(raw({ strategy: "blue-green", blueGreen: { routes: [] } }))).toMatch(/at least one route/);
    const withDb = { backend: {}, db: { image: "postgres:16", volumes: ["db-data:/var/lib/postgresql/data"] } };
    expect(problems(raw({ strategy: "blue-green", blueGreen: { routes: [bg.routes[0]] } }, withDb))).toMatch(/services\.db\.volumes: blue-green runs two copies.*"db" has volumes.*strategy "recreate"/s);
    expect(problems(raw({ strategy: "blue-green", blueGreen: { routes: [bg.routes[0]] } }, { backend: { networkMode: "bridge" } }))).toMatch(/networkMode host/);
    expect(problems(raw({ strategy: "blue-green", blueGreen: { routes: [{ ...bg.routes[0], service: "api" }] } }))).toMatch(/no service "api"/);
    expect(problems(raw({ strategy: "blue-green", blueGreen: { routes: [bg.routes[0], { ...bg.routes[1], greenPort: 8101 }] } }))).toMatch(
      /routes\[1\]\.greenPort: port 8101 is already routes\[0\]\.bluePort/s,
    );
  });
});

describe("the compose file: one variable for the color's port, the same bytes for recreate", () => {
  const service: ServiceConfig = { environment: { PORT: "8000", PRICE: "5$" }, networkMode: "host", restart: "unless-stopped", volumes: [], snapshotVolumes: false, dependsOn: [], releaseEnv: true, waitHealthy: true };
  const services = { backend: service };
  const images = { backend: `r@${digest}` };
  it("the routed port env is the compose variable each color's .env sets; every other $ stays literal", () => {
    const file = renderComposeFile({ services, images, colorPorts: { backend: "PORT" } });
    expect(file).toContain(`PORT: "\${${colorPortVariable("backend")}}"`);
    expect(file).toContain(`PRICE: "5$$"`);
    expect(colorPortVariable("web-app")).toBe("AWARENESS_PORT_WEB_APP");
    expect(renderComposeFile({ services, images })).toContain(`PORT: "8000"`);
  });

  it("the proxy reads each route's port per request from live/, so a flip needs no reload", () => {
    const cfg = JSON.parse(proxyConfig(bg)) as { admin: { listen: string }; apps: { http: { servers: Record<string, { listen: string[]; routes: { handle: { upstreams: { dial: string }[] }[] }[] }> } } };
    const servers = Object.values(cfg.apps.http.servers);
    expect(servers.map((s) => [s.listen, s.routes[0]!.handle[0]!.upstreams[0]!.dial])).toEqual([
      [[":8000"], "127.0.0.1:{file./etc/awareness-proxy/live/route0}"],
      [[":8080"], "127.0.0.1:{file./etc/awareness-proxy/live/route1}"],
    ]);
    expect(cfg.admin.listen).toBe("unix//etc/awareness-proxy/admin.sock");
    // A refused connection (a color that opens its port a moment late) is retried for 5 s, not answered 502.
    expect(JSON.parse(proxyConfig(bg)).apps.http.servers["route0-backend"].routes[0].handle[0].load_balancing).toEqual({ try_duration: "5s", try_interval: "100ms" });
  });
});

describe("the blue-green switch, run for real with a stand-in docker", () => {
  /** A temp app dir; `docker` logs its calls and keeps which compose projects run. */
  function host(config: BlueGreenConfig = bg) {
    const dir = mkdtempSync(join(tmpdir(), "bg-switch-"));
    const layout: hc.HostLayout = { appDir: join(dir, "app"), composeProject: "shop", composeCommand: "docker compose", blueGreen: config };
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const state = join(dir, "running");
    writeFileSync(state, "");
    writeFileSync(
      join(bin, "docker"),
      [
        "#!/bin/sh",
        `echo "$*" >> ${dir}/docker.log`,
        `proj=$(printf '%s\\n' "$@" | sed -n 's/^label=com.docker.compose.project=//p' | head -n 1)`,
        `case "$*" in`,
        `  "compose -p "*" up -d --remove-orphans") ! grep -q BROKEN "$5" || { echo "container backend exited (1)" >&2; exit 1; }; echo "$3" >> ${state} ;;`,
        `  "compose -p "*" up -d") grep -qx "$3" ${state} || echo "$3" >> ${state} ;;`,
        `  "compose -p "*" down"*|"compose -p "*" stop") grep -vx "$3" ${state} > ${state}.n; mv ${state}.n ${state} ;;`,
        `  "ps -q "*"status=running"*) if grep -qx "$proj" ${state}; then echo c1; echo c2; fi ;;`,
        `  "ps -q "*"health=unhealthy"*) ;;`,
        `  "ps -aq "*) if grep -qx "$proj" ${state}; then if [ "$proj" = shop ]; then echo r1; else echo c1; echo c2; fi; fi ;;`,
        `  "rm -f r1") grep -vx shop ${state} > ${state}.n; mv ${state}.n ${state} ;;`,
        `  "ps -a -q "*) grep -qx "$proj" ${state} && echo c1 ;;`,
        `  "ps -q "*) grep -qx "$proj" ${state} && echo p1 ;;`,
        `  "inspect -f"*) echo "running none 0 0" ;;`,
        `  *" config --services") echo backend; echo frontend ;;`,
        `esac`,
        `exit 0`,
      ].join("\n"),
      { mode: 0o755 },
    );
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const run = (script: string, input = "") => {
      const r = spawnSync("/bin/sh", ["-c", script], { input, encoding: "utf8", env });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr.split("\n").filter((l) => !l.startsWith(hc.switchPhaseMarker)).join("\n"), phases: r.stderr.split("\n").filter((l) => l.startsWith(hc.switchPhaseMarker)).map((l) => l.split(" ")[1]) };
    };
    const services = [{ name: "backend", image: `r@${digest}`, waitHealthy: true }, { name: "frontend", image: `w@${digest}`, waitHealthy: false }];
    const deploy = (id: string, broken = false) => {
      const compose = `services: {backend: {environment: {PORT: "\${AWARENESS_PORT_BACKEND}"}}} # ${id}${broken ? " BROKEN" : ""}\n`;
      const script = hc.switchRelease({ layout, releaseId: id, services, retainBackups: 3, startTimeoutSeconds: 5, stableChecks: 1 });
      const prefix = renderReleaseRecordPrefix({ id, gitSha: null, images: { backend: services[0]!.image }, composeSha256: sha256Hex(compose), composeCommand: "docker compose" });
      const stdin = hc.switchReleaseStdin({ script, compose, env: `APP='${id}'\n`, currentRecordPrefix: prefix });
      return run(hc.switchReleaseCommand({ layout, releaseId: id, images: { backend: services[0]!.image } }), stdin);
    };
    const file = (f: string) => readFileSync(join(layout.appDir, f), "utf8");
    const running = () => readFileSync(state, "utf8").trim().split("\n").filter(Boolean).sort();
    const log = () => readFileSync(join(dir, "docker.log"), "utf8");
    const clearLog = () => writeFileSync(join(dir, "docker.log"), "");
    const setRunning = (projects: string[]) => writeFileSync(state, projects.map((p) => `${p}\n`).join(""));
    return { layout, deploy, file, running, log, clearLog, run, setRunning };
  }

  it("first switch: blue starts with its ports in its own .env, the proxy starts pointed at blue; the next one goes to green and blue keeps running", () => {
    const h = host();
    const first = h.deploy("v1");
    expect(first.code, first.stderr).toBe(0);
    expect(first.phases).toEqual(["begin", "images", "backup", "start", "wait", "flip", "record"]);
    expect(h.file(".live-color")).toBe("blue\n");
    expect(h.file("blue/.env")).toBe("APP='v1'\nAWARENESS_PORT_BACKEND=8101\nAWARENESS_PORT_FRONTEND=8102\n");
    expect(h.file("docker-compose.yml")).toContain("# v1");
    expect(readlinkSync(join(h.layout.appDir, "proxy/live"))).toBe("blue");
    expect([h.file("proxy/blue/route0"), h.file("proxy/green/route1")]).toEqual(["8101\n", "8202\n"]);
    expect(JSON.parse(h.file("proxy/caddy.json"))).toEqual(JSON.parse(proxyConfig(bg)));
    expect(h.running()).toEqual(["shop-blue", "shop-proxy"]);
    expect(h.log()).toContain(`compose -p shop-blue -f ${h.layout.appDir}/blue/docker-compose.yml up -d --remove-orphans`);

    const second = h.deploy("v2");
    expect(second.code, second.stderr).toBe(0);
    expect(h.file(".live-color")).toBe("green\n");
    expect(h.file("green/.env")).toBe("APP='v2'\nAWARENESS_PORT_BACKEND=8201\nAWARENESS_PORT_FRONTEND=8202\n");
    expect(readlinkSync(join(h.layout.appDir, "proxy/live"))).toBe("green");
    expect(h.running(), "the old color stays warm").toEqual(["shop-blue", "shop-green", "shop-proxy"]);
    expect(hc.parseDeploymentStatus(h.run(hc.readDeploymentStatus(h.layout)).stdout)).toMatchObject({ current: { id: "v2" }, previous: { id: "v1" } });
  });

  it("re-applying the release the idle color still runs (an automatic rollback) starts nothing: it only flips back", () => {
    const h = host();
    expect(h.deploy("v1").code).toBe(0);
    expect(h.deploy("v2").code).toBe(0);
    h.clearLog();
    const back = h.deploy("v1");
    expect(back.code, back.stderr).toBe(0);
    expect(h.file(".live-color")).toBe("blue\n");
    expect(readlinkSync(join(h.layout.appDir, "proxy/live"))).toBe("blue");
    expect(h.log()).not.toMatch(/shop-blue .* up -d/);
    // The proxy runs this config already: no compose up, no reload; the flip is the rename.
    expect(h.log()).not.toMatch(/shop-proxy .* up -d|caddy reload/);
    expect(hc.parseDeploymentStatus(h.run(hc.readDeploymentStatus(h.layout)).stdout)).toMatchObject({ current: { id: "v1" }, previous: { id: "v2" } });
  });

  it("a release that does not start in the idle color: that color is taken down, the live one keeps serving, the record and files stay", () => {
    const h = host();
    expect(h.deploy("v1").code).toBe(0);
    const r = h.deploy("v9", true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^compose up failed for release v9 \(color green; the live release keeps serving\): container backend exited \(1\)/);
    expect(h.file(".live-color")).toBe("blue\n");
    expect(readlinkSync(join(h.layout.appDir, "proxy/live"))).toBe("blue");
    expect(h.running()).toEqual(["shop-blue", "shop-proxy"]);
    expect(h.file("docker-compose.yml")).toContain("# v1");
    expect(hc.parseDeploymentStatus(h.run(hc.readDeploymentStatus(h.layout)).stdout)).toMatchObject({ current: { id: "v1" } });
  });

  it("once the live release is verified, the idle color stops; observers' compose commands reach the live color", () => {
    const h = host();
    expect(h.deploy("v1").code).toBe(0);
    expect(h.deploy("v2").code).toBe(0);
    const v = h.run(hc.markReleaseVerified(h.layout, "v2"));
    expect(v.code, v.stderr).toBe(0);
    expect(h.running()).toEqual(["shop-green", "shop-proxy"]);
    expect(h.log()).toContain(`compose -p shop-blue -f ${h.layout.appDir}/blue/docker-compose.yml stop`);
    // An observer's command, with the layout the config gives (the live color read on the host).
    const observed = hostLayoutOf({ appDir: h.layout.appDir, composeProject: "shop", composeCommand: "docker compose", strategy: "blue-green", blueGreen: bg }, { host: "h", port: 22, user: "u" });
    expect(h.run(`echo ${hc.composeCli(observed, "ps")}`).stdout.trim()).toBe(`docker compose -p shop-green -f ${h.layout.appDir}/green/docker-compose.yml ps`);
    expect(h.run(`echo ${hc.projectFilters(observed)}`).stdout.trim()).toBe("--filter label=com.docker.compose.project=shop-green --filter label=com.docker.compose.oneoff=False");
  });

  it("a restore is a color switch too: the set's release found warm in the idle color is flipped back to, recorded current", () => {
    const h = host();
    expect(h.deploy("v1").code).toBe(0);
    expect(h.deploy("v2").code).toBe(0);
    const [set] = hc.parseBackupSets(h.run(hc.listBackupSets(h.layout)).stdout, h.layout);
    expect(set?.releaseId).toBe("v1");
    h.clearLog();
    const r = h.run(hc.restoreBackupSet({ layout: h.layout, set: set!.name, retainSets: 3, startTimeoutSeconds: 5, stableChecks: 1 }));
    expect(r.code, r.stderr).toBe(0);
    expect(hc.parseRestoreOutput(r.stdout)).toMatchObject({ release: "v1" });
    expect(h.file(".live-color")).toBe("blue\n");
    expect(readlinkSync(join(h.layout.appDir, "proxy/live"))).toBe("blue");
    expect(h.log()).not.toMatch(/shop-blue .* up -d/);
    expect(h.file("docker-compose.yml")).toContain("# v1");
    expect(hc.parseDeploymentStatus(h.run(hc.readDeploymentStatus(h.layout)).stdout)).toMatchObject({ current: { id: "v1" }, previous: { id: "v2" } });
  });

  it("a host still running a recreate release: its containers stop just before the proxy takes the public ports; changed routes reload the proxy", () => {
    const h = host();
    h.setRunning(["shop"]);
    const r = h.deploy("v1");
    expect(r.code, r.stderr).toBe(0);
    expect(h.running()).toEqual(["shop-blue", "shop-proxy"]);
    const log = h.log();
    expect(log.indexOf("rm -f r1")).toBeGreaterThan(log.indexOf("shop-blue"));
    expect(log.indexOf("rm -f r1")).toBeLessThan(log.indexOf("shop-proxy"));
    // The same host with a route's ports changed: the proxy's config changes, so it is reloaded.
    const moved = { ...bg, routes: [{ ...bg.routes[0]!, listenPort: 9000 }, bg.routes[1]!] };
    const h2 = { ...h, layout: { ...h.layout, blueGreen: moved } };
    h.clearLog();
    const script = hc.switchRelease({ layout: h2.layout, releaseId: "v2", services: [{ name: "backend", image: `r@${digest}`, waitHealthy: true }, { name: "frontend", image: `w@${digest}`, waitHealthy: false }], retainBackups: 3, startTimeoutSeconds: 5, stableChecks: 1 });
    const compose = "services: {} # v2\n";
    const prefix = renderReleaseRecordPrefix({ id: "v2", gitSha: null, images: { backend: `r@${digest}` }, composeSha256: sha256Hex(compose), composeCommand: "docker compose" });
    const moved2 = h.run(hc.switchReleaseCommand({ layout: h2.layout, releaseId: "v2", images: { backend: `r@${digest}` } }), hc.switchReleaseStdin({ script, compose, env: "", currentRecordPrefix: prefix }));
    expect(moved2.code, moved2.stderr).toBe(0);
    expect(h.log()).toContain("caddy reload");
    expect(JSON.parse(h.file("proxy/caddy.json"))).toEqual(JSON.parse(proxyConfig(moved)));
  });

  it("status reads the live color and each color's containers: the idle one warm until the live release is verified", () => {
    const h = host();
    expect(h.deploy("v1").code).toBe(0);
    expect(h.deploy("v2").code).toBe(0);
    const before = hc.parseColorStates(h.run(hc.readColorStates(h.layout)).stdout);
    expect(before).toEqual({ live: "green", colors: { blue: { running: 2, total: 2 }, green: { running: 2, total: 2 } } });
    expect(renderStatus({ stack: "s", verified: [], history: [], blueGreen: before })).toContain(
      "blue-green:     live green (2/2 containers running); idle blue warm: a rollback to it is a proxy flip (2/2 containers running)",
    );
    expect(h.run(hc.markReleaseVerified(h.layout, "v2")).code).toBe(0);
    const after = hc.parseColorStates(h.run(hc.readColorStates(h.layout)).stdout);
    expect(renderStatus({ stack: "s", verified: [], history: [], blueGreen: after })).toContain("idle blue stopped");
    expect(hc.parseColorStates("live none\nblue 0 0\ngreen 0 0\n").live).toBeNull();
  });

  it("destroy takes both colors and the proxy down and keeps the files", () => {
    const h = host();
    expect(h.deploy("v1").code).toBe(0);
    expect(h.deploy("v2").code).toBe(0);
    const t = h.run(hc.teardown(h.layout));
    expect(t.code, t.stderr).toBe(0);
    expect(h.running()).toEqual([]);
    expect(h.file("docker-compose.yml")).toContain("# v2");
  });
});
