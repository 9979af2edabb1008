// The one module of the driver that runs shell commands on a host. The commands
// themselves are built as data by components/host-commands; this only carries them over
// SSH (one connection per driver run) and brings back exit code, stdout and stderr.
import { createHash } from "node:crypto";
import { Client, type ConnectConfig } from "ssh2";

export interface HostConnection {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  privateKeyPassword?: string;
  /** Pinned host key in authorized_keys format ("ssh-ed25519 AAAA…"); unset = not verified. */
  hostKey?: string;
  /** Bound on TCP connect + SSH handshake (the official plugin has none for the handshake). */
  connectTimeoutMs?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What the driver needs from a host; tests may swap in a recorder. */
export interface HostExec {
  readonly address: string;
  run(command: string, opts?: { timeoutMs?: number; stdin?: string }): Promise<ExecResult>;
  close(): void;
}

export class HostUnreachableError extends Error {
  override name = "HostUnreachableError";
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${address} over SSH: ${reason}`);
  }
}

export class HostCommandTimeoutError extends Error {
  override name = "HostCommandTimeoutError";
}

const defaultCommandTimeoutMs = 120_000;

export class SshHost implements HostExec {
  readonly address: string;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;

  constructor(private readonly conn: HostConnection) {
    this.address = `${conn.user}@${conn.host}:${conn.port}`;
  }

  private connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) return this.connecting;
    const pinned = this.conn.hostKey ? parseAuthorizedKey(this.conn.hostKey) : undefined;
    let hostKeyMismatch: Buffer | undefined;
    const config: ConnectConfig = {
      host: this.conn.host,
      port: this.conn.port,
      username: this.conn.user,
      privateKey: this.conn.privateKey,
      passphrase: this.conn.privateKeyPassword,
      readyTimeout: this.conn.connectTimeoutMs ?? 15_000,
      keepaliveInterval: 10_000,
      hostVerifier: pinned
        ? (key: Buffer) => {
            hostKeyMismatch = key.equals(pinned) ? undefined : key;
            return !hostKeyMismatch;
          }
        : undefined,
    };
    this.connecting = new Promise<Client>((resolve, reject) => {
      const client = new Client();
      client
        .once("ready", () => {
          this.client = client;
          resolve(client);
        })
        .once("error", (err: Error & { code?: string; level?: string }) => {
          this.connecting = undefined;
          const cause = hostKeyMismatch
            ? `host key mismatch: it presents ${fingerprintOf(hostKeyMismatch)}, the stack pins ${fingerprintOf(pinned!)}. ` +
              "Nothing was sent. If the server was really re-keyed, check the new key on the server and run `trust-host --replace`"
            : err.code
              ? `${err.code} (${err.message})`
              : err.message;
          reject(new HostUnreachableError(this.address, cause));
        })
        .on("close", () => {
          this.client = undefined;
          this.connecting = undefined;
        });
      try {
        client.connect(config);
      } catch (err) {
        this.connecting = undefined;
        reject(new HostUnreachableError(this.address, (err as Error).message));
      }
    });
    return this.connecting;
  }

  async run(command: string, opts: { timeoutMs?: number; stdin?: string } = {}): Promise<ExecResult> {
    const client = await this.connect();
    const timeoutMs = opts.timeoutMs ?? defaultCommandTimeoutMs;
    return new Promise<ExecResult>((resolve, reject) => {
      client.exec(command, (err, channel) => {
        if (err) return reject(new HostUnreachableError(this.address, err.message));
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        const timer = setTimeout(() => {
          channel.close();
          reject(
            new HostCommandTimeoutError(
              `command on ${this.address} did not finish within ${Math.round(timeoutMs / 1000)} s: ${command.slice(0, 120)}`,
            ),
          );
        }, timeoutMs);
        channel.on("data", (d: Buffer) => stdout.push(d));
        channel.stderr.on("data", (d: Buffer) => stderr.push(d));
        channel.on("close", (code: number | null, signal?: string) => {
          clearTimeout(timer);
          resolve({
            code: code ?? (signal ? 128 : 255),
            stdout: Buffer.concat(stdout).toString("utf8"),
            stderr: Buffer.concat(stderr).toString("utf8"),
          });
        });
        if (opts.stdin !== undefined) channel.end(opts.stdin);
        else channel.end();
      });
    });
  }

  close(): void {
    this.client?.end();
    this.client = undefined;
  }
}

/** "ssh-ed25519 AAAA… comment" -> the raw key blob ssh2 hands to hostVerifier. */
function parseAuthorizedKey(line: string): Buffer {
  const parts = line.trim().split(/\s+/);
  const blob = parts[1];
  if (!parts[0]?.startsWith("ssh-") && !parts[0]?.startsWith("ecdsa-")) {
    throw new Error(`hostKey is not in authorized_keys format ("ssh-ed25519 AAAA…"): ${line.slice(0, 40)}`);
  }
  if (!blob) throw new Error("hostKey has no key data");
  return Buffer.from(blob, "base64");
}

/** The host key a server presents, read during the SSH handshake (no login needed). */
export async function scanHostKey(host: string, port: number, timeoutMs = 15_000): Promise<{ line: string; fingerprint: string }> {
  const address = `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let seen: Buffer | undefined;
    const done = () => {
      client.end();
      if (!seen) return reject(new HostUnreachableError(address, "no host key was presented"));
      const type = seen.subarray(4, 4 + seen.readUInt32BE(0)).toString("ascii");
      resolve({ line: `${type} ${seen.toString("base64")}`, fingerprint: fingerprintOf(seen) });
    };
    client.once("error", (err: Error & { code?: string }) => (seen ? done() : reject(new HostUnreachableError(address, err.code ?? err.message))));
    // Refusing the key ends the handshake right after the server showed it: nothing is sent.
    client.connect({ host, port, username: "trust-host", readyTimeout: timeoutMs, hostVerifier: (key: Buffer) => ((seen = key), false) });
  });
}

/** OpenSSH's fingerprint of a raw host key: "SHA256:<base64 without padding>". */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}
