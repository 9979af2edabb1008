// Throwaway sshd instances for the command-plugin e2e tests, as in COMMAND-PROVIDER-FACTS.md:
// one on 127.0.0.1 accepting only PROBE_* env vars, one on 127.0.0.2 also accepting
// PULUMI_COMMAND_*, a closed port (connection refused) and a TCP listener that never speaks
// SSH. Keys are generated per fixture with ssh-keygen in a temp dir; sshd runs as root with
// `-D -f CONFIG -E LOG` and is stopped by the PID we started.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SshEndpoint {
  host: string;
  port: number;
}

export interface SshdFixture {
  dir: string;
  /** Accepts only PROBE_* env vars (PULUMI_COMMAND_* are refused). */
  probeOnly: SshEndpoint;
  /** Accepts PROBE_* and PULUMI_COMMAND_*. */
  withCommandEnv: SshEndpoint;
  /** Nothing listens there: connection refused. */
  refused: SshEndpoint;
  /** Accepts TCP but never sends a byte. */
  silent: SshEndpoint;
  /** Drops SYNs (a listener whose accept queue is full): connect times out. */
  blackhole: SshEndpoint;
  /** Authorized client key (OpenSSH private key text) and its file. */
  clientKey: string;
  clientKeyPath: string;
  /** Authorized client key encrypted with `encryptedKeyPassphrase`. */
  encryptedClientKey: string;
  encryptedKeyPassphrase: string;
  /** A valid key that is NOT in authorized_keys. */
  unauthorizedKey: string;
  /** The sshd host key's public line (authorized_keys format), for `connection.hostKey`. */
  hostKeyLine: string;
  /** Another host key's public line: pinning it must fail with "host key mismatch". */
  wrongHostKeyLine: string;
  /** The sshd log files (for diagnosing failures). */
  logs: string[];
  stop(): Promise<void>;
}

function keygen(path: string, passphrase = ""): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "awareness-e2e", "-f", path]);
}

/** A port free on `host` right now (bound and released). */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the endpoint answers with an SSH banner. */
async function waitForBanner(endpoint: SshEndpoint, child: ChildProcess, log: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`sshd exited with ${child.exitCode}: ${readFileSync(log, "utf8").slice(-2000)}`);
    }
    const banner = await new Promise<string>((resolve) => {
      const socket = net.connect(endpoint.port, endpoint.host);
      let data = "";
      socket.setTimeout(500, () => socket.destroy());
      socket.on("data", (chunk) => {
        data += chunk.toString("latin1");
        if (data.includes("\n")) socket.destroy();
      });
      socket.on("error", () => undefined);
      socket.on("close", () => resolve(data));
    });
    if (banner.startsWith("SSH-2.0")) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd on ${endpoint.host}:${endpoint.port} did not answer within ${timeoutMs} ms; log ${log}`);
}

/**
 * A TCP endpoint where connect() times out, like a host that drops SYNs: a listener with an
 * accept backlog of 0 that never accepts (perl, since Node always accepts), whose queue is
 * then filled by our own connections, so the kernel drops further SYNs.
 */
async function startBlackhole(host: string): Promise<{ endpoint: SshEndpoint; child: ChildProcess; fillers: net.Socket[] }> {
  // perl-base is an essential Debian package, so this needs nothing installed.
  const script =
    "use Socket; socket(S, PF_INET, SOCK_STREAM, 0) or die $!;" +
    "bind(S, pack_sockaddr_in(0, inet_aton($ARGV[0]))) or die $!; listen(S, 0) or die $!;" +
    "my ($port) = unpack_sockaddr_in(getsockname(S)); $| = 1; print \"$port\\n\";" +
    "my @rest = <STDIN>;"; // lives until its stdin closes (or it is killed)
  const child = spawn("perl", ["-e", script, host], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout!.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  const endpoint = { host, port };
  const fillers: net.Socket[] = [];
  const connects = async (timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, host);
      fillers.push(socket);
      socket.on("error", () => resolve(false));
      socket.once("connect", () => resolve(true));
      setTimeout(() => resolve(false), timeoutMs);
    });
  for (let i = 0; i < 8 && (await connects(300)); i++) {
    // keep filling the queue until a connect no longer completes
  }
  return { endpoint, child, fillers };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, "SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

export async function startSshd(): Promise<SshdFixture> {
  const dir = mkdtempSync(join(tmpdir(), "awareness-sshd-"));
  mkdirSync("/run/sshd", { recursive: true });
  keygen(join(dir, "host_key"));
  keygen(join(dir, "other_host_key"));
  keygen(join(dir, "client_key"));
  keygen(join(dir, "unauthorized_key"));
  const encryptedKeyPassphrase = "e2e-key-passphrase";
  keygen(join(dir, "encrypted_client_key"), encryptedKeyPassphrase);
  writeFileSync(
    join(dir, "authorized_keys"),
    readFileSync(join(dir, "client_key.pub"), "utf8") + readFileSync(join(dir, "encrypted_client_key.pub"), "utf8"),
  );

  const children: ChildProcess[] = [];
  const servers: net.Server[] = [];
  const logs: string[] = [];
  const startOne = async (host: string, acceptEnv: string): Promise<SshEndpoint> => {
    const port = await freePort(host);
    const name = `sshd-${host}`;
    const config = join(dir, `${name}.conf`);
    const log = join(dir, `${name}.log`);
    logs.push(log);
    writeFileSync(
      config,
      [
        `Port ${port}`,
        `ListenAddress ${host}`,
        `HostKey ${join(dir, "host_key")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        `PidFile ${join(dir, `${name}.pid`)}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        `AcceptEnv ${acceptEnv}`,
        // The tests dial many resources at once; the default (10:30:100) drops some at random.
        "MaxStartups 200",
        "",
      ].join("\n"),
    );
    const child = spawn("/usr/sbin/sshd", ["-D", "-f", config, "-E", log], { stdio: "ignore" });
    children.push(child);
    const endpoint = { host, port };
    await waitForBanner(endpoint, child, log);
    return endpoint;
  };

  try {
    const probeOnly = await startOne("127.0.0.1", "PROBE_*");
    const withCommandEnv = await startOne("127.0.0.2", "PROBE_* PULUMI_COMMAND_*");
    const refused = { host: "127.0.0.3", port: await freePort("127.0.0.3") };
    const silentServer = net.createServer((socket) => {
      socket.on("error", () => undefined); // never writes; the client gives up
    });
    servers.push(silentServer);
    const silentPort = await freePort("127.0.0.5");
    await new Promise<void>((resolve) => silentServer.listen(silentPort, "127.0.0.5", resolve));
    const blackhole = await startBlackhole("127.0.0.4");
    children.push(blackhole.child);
    const hostKeyLine = readFileSync(join(dir, "host_key.pub"), "utf8").trim();
    return {
      dir,
      probeOnly,
      withCommandEnv,
      refused,
      silent: { host: "127.0.0.5", port: silentPort },
      blackhole: blackhole.endpoint,
      clientKey: readFileSync(join(dir, "client_key"), "utf8"),
      clientKeyPath: join(dir, "client_key"),
      encryptedClientKey: readFileSync(join(dir, "encrypted_client_key"), "utf8"),
      encryptedKeyPassphrase,
      unauthorizedKey: readFileSync(join(dir, "unauthorized_key"), "utf8"),
      hostKeyLine,
      wrongHostKeyLine: readFileSync(join(dir, "other_host_key.pub"), "utf8").trim(),
      logs,
      async stop() {
        for (const socket of blackhole.fillers) socket.destroy();
        for (const child of children) await stopChild(child);
        for (const server of servers) {
          server.close();
          // Connections the plugin left open would keep the server alive.
          (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const child of children) await stopChild(child);
    for (const server of servers) server.close();
    throw err;
  }
}

/** An ssh-agent on its own socket holding `keyPath`; stopped by the PID we started. */
export async function startSshAgent(keyPath: string): Promise<{ socket: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "awareness-agent-"));
  const socket = join(dir, "agent.sock");
  const child = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
  const deadline = Date.now() + 5000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("ssh-agent did not create its socket");
    await new Promise((r) => setTimeout(r, 50));
  }
  execFileSync("ssh-add", ["-q", keyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore" });
  return {
    socket,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
