// The engine's update locks in a self-managed backend. A killed CLI leaves its lock behind, on a
// file backend (`<dir>/.pulumi/locks/…`) as on S3 (the same keys, as objects in the bucket).
// A stale lock of a dead local run is cleared with `pulumi cancel`; others are left alone.
import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { processAlive } from "../common/process.js";
import { projectName } from "./backend.js";

/** What clearing a stale lock needs of a stack. */
export interface StaleLockTarget {
  backendUrl: string;
  stackName: string;
  cancel(): Promise<void>;
}

/** What the CLI writes into a lock (`<id>.json`). */
export interface EngineLockFile {
  pid: number;
  username: string;
  hostname: string;
  timestamp: string;
}

/** Reads the backend's objects under a key prefix (`.pulumi/locks/…/`): their contents, by key. */
export interface LockStore {
  read(prefix: string): Promise<string[]>;
}

/**
 * When the holder of the stack's update lock was a process on this machine that no longer
 * exists, the lock is stale: it is cleared with `pulumi cancel` so the next deploy can converge.
 * Locks of live processes and of other machines are left alone (the deploy then reports the
 * engine lock as held). Pulumi Cloud keeps no such locks (it ends a dead update itself).
 */
export async function clearStaleEngineLock(engine: StaleLockTarget, store = lockStoreFor(engine.backendUrl)): Promise<string | undefined> {
  for (const lock of await engineLocks(engine, store)) {
    if (lock.hostname !== os.hostname() || processAlive(lock.pid)) return undefined;
    await engine.cancel();
    return `cleared a stale engine lock of stack ${engine.stackName} left by pid ${lock.pid} (${lock.username}@${lock.hostname}, ${lock.timestamp}), which no longer runs`;
  }
  return undefined;
}

/** The update locks the backend holds for this stack (none for backends without lock files). */
export async function engineLocks(
  engine: Pick<StaleLockTarget, "backendUrl" | "stackName">,
  store = lockStoreFor(engine.backendUrl),
): Promise<EngineLockFile[]> {
  if (!store) return [];
  const bodies = await store.read(`.pulumi/locks/organization/${projectName}/${engine.stackName}/`).catch(() => []);
  return bodies.flatMap((body) => {
    try {
      return [JSON.parse(body) as EngineLockFile];
    } catch {
      return [];
    }
  });
}

/** The lock store of a file or S3 backend; none for Pulumi Cloud and the other blob stores. */
export function lockStoreFor(backendUrl: string): LockStore | undefined {
  if (backendUrl.startsWith("file://")) return fileLockStore(fileURLToPath(backendUrl));
  if (backendUrl.startsWith("s3://")) return s3LockStore(s3Location(backendUrl));
  return undefined;
}

function fileLockStore(dir: string): LockStore {
  return {
    async read(prefix) {
      const lockDir = join(dir, prefix);
      const files = (await readdir(lockDir).catch(() => [])).filter((f) => f.endsWith(".json"));
      return Promise.all(files.map((f) => readFile(join(lockDir, f), "utf8").catch(() => "")));
    },
  };
}

/** Where an `s3://` backend URL points, read as the CLI reads it (gocloud.dev's s3blob URL). */
export interface S3Location {
  bucket: string;
  /** The key prefix the backend lives under (`s3://bucket/some/prefix`): "" or ending in "/". */
  prefix: string;
  region?: string | undefined;
  endpoint?: string | undefined;
  forcePathStyle: boolean;
}

export function s3Location(backendUrl: string): S3Location {
  const url = new URL(backendUrl);
  const q = url.searchParams;
  const path = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, "");
  return {
    bucket: url.hostname,
    prefix: path ? `${path}/` : "",
    region: q.get("region") ?? undefined,
    endpoint: q.get("endpoint") ?? undefined,
    forcePathStyle: q.get("use_path_style") === "true" || q.get("s3ForcePathStyle") === "true",
  };
}

/** Credentials come from the usual AWS chain (env, profile, role), as for the CLI itself. */
function s3LockStore(at: S3Location): LockStore {
  return {
    async read(prefix) {
      const client = new S3Client({
        forcePathStyle: at.forcePathStyle,
        ...(at.region ? { region: at.region } : {}),
        ...(at.endpoint ? { endpoint: at.endpoint } : {}),
      });
      try {
        const listed = await client.send(new ListObjectsV2Command({ Bucket: at.bucket, Prefix: `${at.prefix}${prefix}` }));
        const keys = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith(".json"));
        return await Promise.all(
          keys.map(async (Key) => (await (await client.send(new GetObjectCommand({ Bucket: at.bucket, Key }))).Body?.transformToString()) ?? ""),
        );
      } finally {
        client.destroy();
      }
    },
  };
}
