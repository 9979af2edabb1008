// A real S3 API on loopback for tests: moto's server (`moto[server]` from PyPI, pinned), in a
// virtual env the tests install themselves on first use, one bucket, and the Pulumi backend URL
// that points the engine (or the driver) at it.
//
//   const s3 = await startS3Backend({ port: 19790 });
//   // engine/driver env: { PULUMI_BACKEND_URL: s3.url, ...s3.env } (the driver's own process too:
//   // it reads the bucket's engine locks with the usual AWS credential chain)
//   await s3.keys(".pulumi/stacks/");   // what the backend wrote
//   await s3.stop();
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";

/** The moto release the tests run (exact pin: its S3 behaviour is what the tests were verified with). */
export const motoRequirement = "moto[server]==5.1.22";

/**
 * Where the virtual env lives: a per-user cache shared by every clone (the runner harness makes
 * fresh ones), named by the pin so a new pin installs beside the old one.
 */
export const motoVenv = join(
  process.env.XDG_CACHE_HOME || join(homedir(), ".cache"),
  "awareness-deploy",
  `moto-${motoRequirement.split("==")[1]}`,
);

/** Dummy credentials and region: moto accepts any; the engine's S3 client needs some. */
export const s3TestEnv: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: "awareness-test",
  AWS_SECRET_ACCESS_KEY: "awareness-test",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
};

export interface S3Backend {
  /** The Pulumi backend URL (`s3://BUCKET?endpoint=…&use_path_style=true&region=us-east-1`): PULUMI_BACKEND_URL. */
  url: string;
  bucket: string;
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** What the engine (and any S3 client) needs in its environment besides the URL: s3TestEnv. */
  env: Record<string, string>;
  /** A client of the server (path style, the dummy credentials), for what a test does to objects itself. */
  client: S3Client;
  /** The object keys in the bucket, under `prefix` when given, sorted. */
  keys(prefix?: string): Promise<string[]>;
  /** Stops the server (its data is in memory: gone with it). */
  stop(): Promise<void>;
}

/**
 * The venv's python with moto installed: installs `motoRequirement` on first use (a minute or
 * two, from PyPI), then nothing while the stamp matches. Installs into a temp dir renamed into
 * place, so two processes installing at once never see a half-made env.
 */
export function ensureMoto(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): string {
  const python = join(motoVenv, "bin", "python");
  const stamp = join(motoVenv, "requirement.txt");
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === motoRequirement) return python;
  const tmp = `${motoVenv}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(motoVenv), { recursive: true });
  log(`s3: installing ${motoRequirement} into ${motoVenv} (once)`);
  try {
    execFileSync("python3", ["-m", "venv", tmp], { stdio: ["ignore", "inherit", "inherit"] });
    execFileSync(join(tmp, "bin", "python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", motoRequirement], {
      stdio: ["ignore", "inherit", "inherit"],
    });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`installing ${motoRequirement} failed (needs python3 with venv and PyPI access): ${(err as Error).message}`);
  }
  writeFileSync(join(tmp, "requirement.txt"), `${motoRequirement}\n`);
  rmSync(motoVenv, { recursive: true, force: true });
  try {
    renameSync(tmp, motoVenv);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process put its env in place first
  }
  return python;
}

/** Starts moto on 127.0.0.1:`port`, waits until it answers, and creates the bucket. */
export async function startS3Backend(opts: { port: number; bucket?: string; readyTimeoutMs?: number }): Promise<S3Backend> {
  const python = ensureMoto();
  const bucket = opts.bucket ?? "awareness-state";
  const endpoint = `http://127.0.0.1:${opts.port}`;
  const child = spawn(python, ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(opts.port)], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...s3TestEnv },
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(killer);
  };
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: s3TestEnv.AWS_REGION!,
    credentials: { accessKeyId: s3TestEnv.AWS_ACCESS_KEY_ID!, secretAccessKey: s3TestEnv.AWS_SECRET_ACCESS_KEY! },
  });
  try {
    await untilAnswering(endpoint, exited, opts.readyTimeoutMs ?? 30_000, () => stderr);
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `s3://${bucket}?endpoint=${endpoint}&use_path_style=true&region=${s3TestEnv.AWS_REGION}`,
    bucket,
    endpoint,
    env: { ...s3TestEnv },
    client,
    async keys(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    async stop() {
      client.destroy();
      await stop();
    },
  };
}

/** Polls the endpoint until moto answers HTTP; fails at once, with its stderr, when it exits. */
async function untilAnswering(endpoint: string, exited: Promise<number | null>, timeoutMs: number, stderr: () => string): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`moto exited (${exitCode}) before answering on ${endpoint}: ${stderr()}`);
    try {
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`moto did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr()}`);
}
