// The sandbox target, exercised the way a deployment uses it: SSH in with the generated key
// (host key pinned), check the session talks to the sandbox engine, pull each release from
// the registry by digest on the host, run it with compose v2 and v1, and probe it over HTTP.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = join(import.meta.dirname, "..", "..");
const sandboxScript = join(repoRoot, "test", "sandbox", "sandbox.sh");
const targetFile = join(repoRoot, ".sandbox", "target.json");

type Service = "backend" | "frontend";
type Release = "v1" | "v2" | "v3" | "v4" | "v5" | "v6" | "v7" | "v8";
const releases: Release[] = ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"];

interface Target {
  ssh: { host: string; port: number; user: string; privateKeyPath: string; hostPublicKey: string; knownHostsPath: string };
  dockerHost: string;
  dockerConfig: string;
  registry: string;
  appDir: string;
  composeCommands: string[];
  app: { baseUrl: string; ports: Record<Service, number> };
  releases: Record<Release, Record<Service, string>>;
  tags: Record<Release, Record<Service, string>>;
}

// A project name, folder and ports of this test's own, so it never touches a real deployment.
const project = "sandbox-e2e";
const testPorts: Record<Service, number> = { backend: 18180, frontend: 18181 };
const backendEndpoints = ["/api/health", "/api/docs", "/api/auth/status"] as const;

let target: Target;
let knownHostsDir: string;
let testAppDir: string;

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

// Runs CMD on the sandbox host with the system ssh client, trusting only the host key that
// target.json announces (written to a known_hosts file of the test's own).
function ssh(command: string, input?: string): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(
    "ssh",
    [
      "-i", target.ssh.privateKeyPath,
      "-p", String(target.ssh.port),
      "-o", `UserKnownHostsFile=${join(knownHostsDir, "known_hosts")}`,
      "-o", "StrictHostKeyChecking=yes",
      "-o", "BatchMode=yes",
      "-o", "IdentitiesOnly=yes",
      "-o", "LogLevel=ERROR",
      `${target.ssh.user}@${target.ssh.host}`,
      command,
    ],
    { input, encoding: "utf8", timeout: 120_000 },
  );
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function sshOk(command: string, input?: string): string {
  const result = ssh(command, input);
  if (result.status !== 0) {
    throw new Error(`ssh command failed (${result.status}): ${command}\n${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

function composeFile(release: Release, restart: "unless-stopped" | "no"): string {
  const service = (name: Service) =>
    [
      `  ${name}:`,
      `    image: ${target.releases[release][name]}`,
      "    network_mode: host",
      `    restart: "${restart}"`,
      "    environment:",
      `      PORT: "${testPorts[name]}"`,
    ].join("\n");
  return ["services:", service("backend"), service("frontend"), ""].join("\n");
}

// Uploads the compose file, forgets the local digest references so the pull really asks
// the registry, then pulls and starts the release with the given compose command.
function deploy(release: Release, compose: "docker compose" | "docker-compose", restart: "unless-stopped" | "no" = "unless-stopped"): void {
  const dir = shellQuote(testAppDir);
  sshOk(`mkdir -p ${dir} && cat > ${dir}/docker-compose.yml`, composeFile(release, restart));
  const refs = (["backend", "frontend"] as const).map((s) => shellQuote(target.releases[release][s])).join(" ");
  sshOk(`docker image rm ${refs} >/dev/null 2>&1 || true`);
  sshOk(`cd ${dir} && ${compose} -p ${project} pull -q && ${compose} -p ${project} up -d`);
}

function containerOf(service: Service): { configImage: string; state: string; exitCode: number; repoDigests: string[]; labels: Record<string, string> } {
  const id = sshOk(
    `docker ps -aq --filter label=com.docker.compose.project=${project} --filter label=com.docker.compose.service=${service}`,
  ).trim();
  expect(id, `one ${service} container`).toMatch(/^[0-9a-f]{12}$/);
  const [info] = JSON.parse(sshOk(`docker inspect ${id}`)) as [{
    Image: string;
    Config: { Image: string; Labels: Record<string, string> };
    State: { Status: string; ExitCode: number };
  }];
  const repoDigests = JSON.parse(sshOk(`docker image inspect -f '{{json .RepoDigests}}' ${info.Image}`)) as string[];
  return { configImage: info.Config.Image, state: info.State.Status, exitCode: info.State.ExitCode, repoDigests, labels: info.Config.Labels };
}

async function get(port: number, path: string, timeoutMs = 5_000): Promise<{ status: number; body: string; version: string | null }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text(), version: response.headers.get("x-app-version") };
}

async function waitForHttp(port: number, path: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await get(port, path, 8_000);
      return;
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`nothing answered on :${port}${path} within ${timeoutMs} ms: ${String(last)}`);
}

function expectPinnedByDigest(release: Release): void {
  for (const service of ["backend", "frontend"] as const) {
    const container = containerOf(service);
    expect(container.configImage).toBe(target.releases[release][service]);
    expect(container.repoDigests).toContain(target.releases[release][service]);
    expect(container.labels["org.opencontainers.image.version"]).toBe(release);
  }
}

function composeDown(): void {
  if (target === undefined) return;
  ssh(`docker ps -aq --filter label=com.docker.compose.project=${project} | xargs -r docker rm -f >/dev/null`);
}

beforeAll(() => {
  // Idempotent: a no-op (about 3 s) when the e2e global setup already brought it up.
  execFileSync("bash", [sandboxScript, "up"], { stdio: ["ignore", "inherit", "inherit"] });
  target = JSON.parse(readFileSync(targetFile, "utf8")) as Target;
  knownHostsDir = mkdtempSync(join(tmpdir(), "sandbox-e2e-"));
  writeFileSync(join(knownHostsDir, "known_hosts"), `[${target.ssh.host}]:${target.ssh.port} ${target.ssh.hostPublicKey}\n`);
  testAppDir = join(dirname(target.appDir), project);
  composeDown();
});

afterAll(() => {
  composeDown();
  if (testAppDir !== undefined) ssh(`rm -rf ${shellQuote(testAppDir)}`);
  if (knownHostsDir !== undefined) rmSync(knownHostsDir, { recursive: true, force: true });
});

describe("the sandbox target", () => {
  it("describes itself in target.json with absolute paths and digest-pinned releases", () => {
    expect(target.ssh.host).toBe("127.0.0.1");
    expect(target.ssh.user).toBe("root");
    expect(target.ssh.hostPublicKey).toMatch(/^ssh-ed25519 AAAA[0-9A-Za-z+/=]+$/);
    expect(target.composeCommands).toEqual(["docker compose", "docker-compose"]);
    expect(target.app.baseUrl).toBe(`http://127.0.0.1:${target.app.ports.backend}`);
    expect(target.registry).toMatch(/^127\.0\.0\.1:\d+$/);
    for (const release of releases) {
      for (const service of ["backend", "frontend"] as const) {
        expect(target.releases[release][service]).toMatch(
          new RegExp(`^${target.registry.replaceAll(".", "\\.")}/awareness-${service}@sha256:[0-9a-f]{64}$`),
        );
        expect(target.tags[release][service]).toBe(`${target.registry}/awareness-${service}:${release}`);
      }
    }
  });

  it("serves each release's tag from the registry at the digest target.json names", async () => {
    for (const release of releases) {
      for (const service of ["backend", "frontend"] as const) {
        const response = await fetch(`http://${target.registry}/v2/awareness-${service}/manifests/${release}`, {
          method: "HEAD",
          headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
        });
        expect(response.status).toBe(200);
        const digest = response.headers.get("docker-content-digest");
        expect(`${target.registry}/awareness-${service}@${digest}`).toBe(target.releases[release][service]);
      }
    }
  });

  it("lets ssh in with the generated key and pinned host key, on the sandbox engine with both compose tools", () => {
    const info = JSON.parse(sshOk("docker info --format '{{json .}}'")) as { DockerRootDir: string; Driver: string; Name: string };
    expect(info.DockerRootDir).toBe(join(repoRoot, ".sandbox", "docker"));
    expect(info.Driver).toBe("overlay2");
    const env = sshOk('printf "%s\\n%s\\n" "$DOCKER_HOST" "$DOCKER_CONFIG"').trim().split("\n");
    expect(env).toEqual([target.dockerHost, target.dockerConfig]);
    expect(sshOk("docker compose version --short").trim()).toBe("2.40.3");
    expect(sshOk("docker-compose version --short").trim()).toMatch(/^1\.\d+\.\d+$/);
  });

  it("copies files over the sftp subsystem (scp)", () => {
    const local = join(knownHostsDir, "upload.txt");
    writeFileSync(local, "sent over sftp\n");
    sshOk(`mkdir -p ${shellQuote(testAppDir)}`);
    const result = spawnSync(
      "scp",
      ["-s", "-i", target.ssh.privateKeyPath, "-P", String(target.ssh.port),
        "-o", `UserKnownHostsFile=${join(knownHostsDir, "known_hosts")}`, "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", local, `${target.ssh.user}@${target.ssh.host}:${testAppDir}/upload.txt`],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(sshOk(`cat ${shellQuote(`${testAppDir}/upload.txt`)}`)).toBe("sent over sftp\n");
  });

  it("refuses a host key other than the one target.json announces", () => {
    const otherDir = mkdtempSync(join(tmpdir(), "sandbox-e2e-wrong-"));
    try {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(otherDir, "other_host_key")]);
      const wrongKey = readFileSync(join(otherDir, "other_host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
      expect(wrongKey).not.toBe(target.ssh.hostPublicKey);
      writeFileSync(join(otherDir, "known_hosts"), `[${target.ssh.host}]:${target.ssh.port} ${wrongKey}\n`);
      const result = spawnSync(
        "ssh",
        ["-i", target.ssh.privateKeyPath, "-p", String(target.ssh.port), "-o", `UserKnownHostsFile=${join(otherDir, "known_hosts")}`,
          "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `root@${target.ssh.host}`, "true"],
        { encoding: "utf8", timeout: 30_000 },
      );
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED/);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it("v1 (docker compose v2): healthy, every endpoint 200", async () => {
    deploy("v1", "docker compose");
    await waitForHttp(testPorts.backend, "/api/health");
    await waitForHttp(testPorts.frontend, "/api/health");
    expectPinnedByDigest("v1");
    for (const path of [...backendEndpoints, "/api/version"]) {
      const response = await get(testPorts.backend, path);
      expect(response.status, path).toBe(200);
      expect(response.version, path).toBe("v1");
    }
    expect(JSON.parse((await get(testPorts.backend, "/api/version")).body)).toMatchObject({ version: "v1" });
    for (const path of ["/", "/api/health", "/api/version"]) {
      expect((await get(testPorts.frontend, path)).status, path).toBe(200);
    }
    expect(JSON.parse((await get(testPorts.frontend, "/api/version")).body)).toMatchObject({ version: "v1" });
    expect((await get(testPorts.backend, "/no/such/path")).status).toBe(404);
  });

  it("v2 (docker-compose v1): /api/auth/status answers 500, the rest 200", async () => {
    deploy("v2", "docker-compose");
    await waitForHttp(testPorts.backend, "/api/health");
    expectPinnedByDigest("v2");
    expect(containerOf("backend").labels["com.docker.compose.version"]).toMatch(/^1\./);
    const auth = await get(testPorts.backend, "/api/auth/status");
    expect(auth.status).toBe(500);
    expect(auth.version).toBe("v2");
    for (const path of ["/api/health", "/api/docs", "/api/version"]) {
      expect((await get(testPorts.backend, path)).status, path).toBe(200);
    }
    expect((await get(testPorts.frontend, "/api/health")).status).toBe(200);
  });

  it("v3 (docker compose v2): fails some probes but never 3 rounds in a row", async () => {
    deploy("v3", "docker compose");
    await waitForHttp(testPorts.backend, "/api/version");
    expectPinnedByDigest("v3");
    const rounds = 20;
    let failedProbes = 0;
    let failedInARow = 0;
    let longestFailedRun = 0;
    for (let round = 0; round < rounds; round++) {
      const statuses = await Promise.all(backendEndpoints.map(async (path) => (await get(testPorts.backend, path)).status));
      const failures = statuses.filter((status) => status !== 200).length;
      failedProbes += failures;
      failedInARow = failures > 0 ? failedInARow + 1 : 0;
      longestFailedRun = Math.max(longestFailedRun, failedInARow);
    }
    expect(failedProbes).toBeGreaterThan(0);
    expect(failedProbes).toBeLessThan(rounds * backendEndpoints.length * 0.5);
    expect(longestFailedRun).toBeLessThan(3);
  });

  it("v4 (docker-compose v1): answers only after a probe's 1 s timeout", async () => {
    deploy("v4", "docker-compose");
    await waitForHttp(testPorts.backend, "/api/version");
    expectPinnedByDigest("v4");
    await expect(get(testPorts.backend, "/api/health", 1_000)).rejects.toThrow(/timeout|aborted/i);
    const started = performance.now();
    const slow = await get(testPorts.backend, "/api/health", 10_000);
    const seconds = (performance.now() - started) / 1000;
    expect(slow.status).toBe(200);
    expect(seconds).toBeGreaterThan(1);
  });

  it("v5 (docker compose v2): the backend container exits at once with code 1", async () => {
    deploy("v5", "docker compose", "no");
    const deadline = Date.now() + 20_000;
    let backend = containerOf("backend");
    while (backend.state !== "exited" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      backend = containerOf("backend");
    }
    expect(backend.state).toBe("exited");
    expect(backend.exitCode).toBe(1);
    expect(backend.configImage).toBe(target.releases.v5.backend);
    await expect(get(testPorts.backend, "/api/health", 1_000)).rejects.toThrow();
  });

  it.each([
    ["v7", [200, 503, 200, 200, 200, 200]],
    ["v8", [200, 503, 200, 200, 503, 200]],
  ] as const)("%s (docker compose v2): fails exactly the /api/docs requests its count names; health requests never move that count", async (release, expected) => {
    deploy(release, "docker compose");
    await waitForHttp(testPorts.backend, "/api/version");
    expectPinnedByDigest(release);
    // Docker's healthcheck (every 5 s, /api/health only) has run at least once before the count is read.
    await expect.poll(() => sshOk(`docker inspect -f '{{.State.Health.Status}}' ${project}-backend-1`).trim(), { timeout: 20_000 }).toBe("healthy");
    const statuses: number[] = [];
    for (let i = 0; i < expected.length; i++) {
      expect((await get(testPorts.backend, "/api/health")).status).toBe(200);
      statuses.push((await get(testPorts.backend, "/api/docs")).status);
    }
    expect(statuses).toEqual(expected);
    expect(sshOk(`docker exec ${project}-backend-1 cat /tmp/docs-count`).trim()).toBe(String(expected.length));
  });
});

// A second, throwaway sandbox in a folder and on ports of its own, so breaking it on purpose
// never disturbs the shared one other e2e files deploy to.
describe("sandbox.sh lifecycle (a throwaway sandbox)", () => {
  let dir: string;
  let ports: { registry: number; ssh: number };

  function sandbox(args: string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
    const result = spawnSync("bash", [sandboxScript, ...args], {
      encoding: "utf8",
      timeout: 600_000,
      env: {
        ...process.env,
        SANDBOX_DIR: dir,
        SANDBOX_REGISTRY_PORT: String(ports.registry),
        SANDBOX_SSH_PORT: String(ports.ssh),
        ...env,
      },
    });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  function status(): { healthy: boolean; parts: Array<{ name: string; state: string; pid: number | null }>; exitCode: number } {
    const result = sandbox(["status", "--json"]);
    return { ...(JSON.parse(result.stdout) as { healthy: boolean; parts: [] }), exitCode: result.status };
  }

  function stateOf(part: string): string | undefined {
    return status().parts.find((p) => p.name === part)?.state;
  }

  function pidFile(relative: string): number {
    return Number(readFileSync(join(dir, relative), "utf8").trim());
  }

  function alive(pid: number): boolean {
    try {
      const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2];
      return state !== "Z";
    } catch {
      return false;
    }
  }

  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  function up(env: Record<string, string> = {}): string {
    const result = sandbox(["up"], env);
    expect(result.status, result.stderr).toBe(0);
    return result.stderr;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sbx-life-"));
    ports = { registry: await freePort(), ssh: await freePort() };
  });

  afterAll(() => {
    if (dir === undefined) return;
    sandbox(["down"]);
    const mounts = readFileSync("/proc/self/mounts", "utf8");
    if (!mounts.includes(` ${dir}/`)) rmSync(dir, { recursive: true, force: true });
  });

  it("comes up in its own folder and on the ports asked for, and reports healthy", () => {
    const stderr = up();
    expect(stderr).toMatch(/sandbox: starting dockerd \.\.\. ok, pid \d+ \(\d+\.\d s\)/);
    const described = JSON.parse(readFileSync(join(dir, "target.json"), "utf8")) as Target;
    expect(described.registry).toBe(`127.0.0.1:${ports.registry}`);
    expect(described.ssh.port).toBe(ports.ssh);
    expect(described.dockerHost).toBe(`unix://${dir}/docker.sock`);
    const result = status();
    expect(result).toMatchObject({ healthy: true, exitCode: 0 });
    expect(result.parts.map((p) => p.name)).toEqual(["dockerd", "registry", "sshd", "compose-v2", "target.json"]);
  });

  it("says a daemon died, and `up` starts it again", async () => {
    const registryPid = pidFile("registry/registry.pid");
    process.kill(registryPid, "SIGKILL");
    await expect.poll(() => alive(registryPid)).toBe(false);
    const result = status();
    expect(result.exitCode).toBe(1);
    expect(result.healthy).toBe(false);
    expect(result.parts.find((p) => p.name === "registry")).toMatchObject({ state: "dead", pid: registryPid });
    expect(up()).toMatch(/registry: died earlier/);
    expect(stateOf("registry")).toBe("running");
    expect(pidFile("registry/registry.pid")).not.toBe(registryPid);
  });

  it("never kills the process a stale pidfile names, and starts its own daemon instead", async () => {
    const sshdPid = pidFile("ssh/sshd.pid");
    process.kill(sshdPid, "SIGTERM");
    await expect.poll(() => alive(sshdPid)).toBe(false);
    const bystander = spawn("sleep", ["300"], { stdio: "ignore" });
    try {
      writeFileSync(join(dir, "ssh", "sshd.pid"), `${bystander.pid}\n`);
      expect(stateOf("sshd")).toBe("stale");
      expect(up()).toMatch(/not ours/);
      expect(alive(bystander.pid!)).toBe(true);
      expect(stateOf("sshd")).toBe("running");
      expect(pidFile("ssh/sshd.pid")).not.toBe(bystander.pid);
    } finally {
      bystander.kill();
    }
  });

  it("recovers from a dockerd crash: the orphaned container is stopped and comes back under the new dockerd", async () => {
    const described = JSON.parse(readFileSync(join(dir, "target.json"), "utf8")) as Target;
    const port = await freePort();
    const docker = (...args: string[]) =>
      execFileSync("docker", args, { encoding: "utf8", env: { ...process.env, DOCKER_HOST: described.dockerHost } });
    docker("run", "-d", "--name", "crash-survivor", "--network", "host", "--restart", "unless-stopped",
      "-e", `PORT=${port}`, described.releases.v1.backend);
    await waitForHttp(port, "/api/version");
    const dockerdPid = pidFile("dockerd.pid");
    process.kill(dockerdPid, "SIGKILL");
    await expect.poll(() => alive(dockerdPid)).toBe(false);
    expect(stateOf("dockerd")).toBe("dead");
    // The container outlives its daemon (its shim survives); `up` must clean that up.
    expect((await get(port, "/api/version")).status).toBe(200);
    expect(up()).toMatch(/stopping a container shim left by a dead dockerd/);
    await waitForHttp(port, "/api/version");
    expect(docker("inspect", "-f", "{{.State.Status}}", "crash-survivor").trim()).toBe("running");
    docker("rm", "-f", "crash-survivor");
  });

  it("refuses a forced port someone else holds, naming the port and the holder", async () => {
    expect(sandbox(["down"]).status).toBe(0);
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(ports.ssh, "127.0.0.1", resolve));
    try {
      const result = sandbox(["up"]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`port ${ports.ssh} (from SANDBOX_SSH_PORT) on 127.0.0.1 is in use by pid ${process.pid}`);
      expect(result.stderr).toMatch(/unset SANDBOX_SSH_PORT/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it("names a missing Debian package and how to install it", () => {
    // A PATH with every tool the script needs except docker-registry.
    const bin = join(dir, "fake-path");
    mkdirSync(bin, { recursive: true });
    for (const tool of ["bash", "dirname", "mkdir", "awk", "sort", "tr", "grep", "cat", "sed", "sha256sum", "cut", "dockerd", "containerd",
      "docker-compose", "ssh", "ssh-keygen", "curl", "jq", "ss", "findmnt", "flock", "docker", "dpkg-query"]) {
      const path = execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
      if (!existsSync(join(bin, tool))) symlinkSync(path, join(bin, tool));
    }
    const result = sandbox(["up"], { PATH: bin });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("missing Debian package(s): docker-registry");
    expect(result.stderr).toContain("apt-get install -y docker-registry");
  });

  it("adds a second host in a network namespace that pulls the same digests from its own registry address", async () => {
    const stderr = up({ SANDBOX_SECOND_HOST: "1" });
    expect(stderr).toMatch(/second host: checking an ssh session reaches its engine \.\.\. ok/);
    const t2 = JSON.parse(readFileSync(join(dir, "target-t2.json"), "utf8")) as Target;
    const main = JSON.parse(readFileSync(join(dir, "target.json"), "utf8")) as Target;
    expect(t2.ssh).toMatchObject({ port: 22, user: "root", privateKeyPath: main.ssh.privateKeyPath });
    expect(t2.ssh.host).not.toBe(main.ssh.host);
    expect(t2.releases.v1.backend.split("@")[1]).toBe(main.releases.v1.backend.split("@")[1]);
    expect(t2.releases.v1.backend.startsWith(`${t2.registry}/`)).toBe(true);
    // netns, dockerd, the registry on the veth, the registry on its own loopback (same storage), sshd.
    expect(status().parts.filter((p) => p.name.startsWith("t2-")).map((p) => [p.name, p.state])).toEqual([
      ["t2-netns", "present"],
      ["t2-dockerd", "running"],
      ["t2-registry", "running"],
      ["t2-registry-lo", "running"],
      ["t2-sshd", "running"],
    ]);
    const sshT2 = (command: string, input?: string) => {
      const result = spawnSync("ssh", ["-i", t2.ssh.privateKeyPath, "-o", `UserKnownHostsFile=${t2.ssh.knownHostsPath}`,
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", `root@${t2.ssh.host}`, command],
      { input, encoding: "utf8", timeout: 120_000 });
      expect(result.status, result.stderr).toBe(0);
      return result.stdout;
    };
    const compose = `services:\n  backend:\n    image: ${t2.releases.v1.backend}\n    network_mode: host\n` +
      `    environment:\n      PORT: "${t2.app.ports.backend}"\n`;
    sshT2(`cat > ${shellQuote(t2.appDir)}/docker-compose.yml && cd ${shellQuote(t2.appDir)} && ` +
      "docker compose -p t2-e2e pull -q && docker compose -p t2-e2e up -d", compose);
    expect(sshT2("docker info --format '{{.DockerRootDir}}'").trim()).toBe(join(dir, "t2", "docker"));
    const url = `${t2.app.baseUrl}/api/version`;
    await expect.poll(async () => (await fetch(url).catch(() => undefined))?.status, { timeout: 20_000 }).toBe(200);
    expect(await (await fetch(url)).json()).toMatchObject({ version: "v1" });
    // The release runs on the second host's engine, not on the first one.
    expect(sshT2("docker ps --format '{{.Names}}'").trim()).toBe("t2-e2e-backend-1");
    const onMain = execFileSync("docker", ["ps", "-q", "--filter", "label=com.docker.compose.project=t2-e2e"],
      { encoding: "utf8", env: { ...process.env, DOCKER_HOST: main.dockerHost } });
    expect(onMain.trim()).toBe("");
  });

  it("`down` stops everything it started and unmounts its folder; `down && up` works", () => {
    up();
    const pids = [pidFile("dockerd.pid"), pidFile("registry/registry.pid"), pidFile("ssh/sshd.pid")];
    const down = sandbox(["down"]);
    expect(down.status, down.stderr).toBe(0);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(` ${dir}/`);
    expect(existsSync(join(dir, "t2", "docker.sock"))).toBe(false);
    const after = status();
    expect(after.exitCode).toBe(1);
    expect(after.parts.filter((p) => p.pid !== null || p.state === "running")).toEqual([]);
    expect(sandbox(["down"]).status).toBe(0); // idempotent
    up();
    expect(status().healthy).toBe(true);
  });
});
