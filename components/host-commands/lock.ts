// The host deploy lock: a directory created atomically (mkdir), holding who/when/what.
// A lock older than the stale limit is broken (and says so); release only by its holder.
import { paths, type HostLayout } from "./layout.js";
import { oneLine, sh } from "./shell.js";

export const lockBusyExitCode = 3;

export interface LockRequest {
  /** Who deploys, e.g. "github-actions run 42 (alice)". One line. */
  holder: string;
  releaseId: string;
  /** A lock older than this is considered abandoned and is broken. */
  staleAfterSeconds: number;
}

/** Prints "acquired" (exit 0) or "locked holder=… release=… time=… age=…" (exit 3). */
export function acquireLock(layout: HostLayout, req: LockRequest): string {
  const lock = paths(layout).lockDir;
  return [
    sh`lock=${lock}; holder=${oneLine("lock holder", req.holder)}; release=${req.releaseId}`,
    sh`mkdir -p ${layout.appDir} || exit 1`,
    `if ! mkdir "$lock" 2>/dev/null; then`,
    `  since=$(sed -n 's/^time=//p' "$lock/info" 2>/dev/null); now=$(date +%s)`,
    `  info=$(tr '\\n' ' ' < "$lock/info" 2>/dev/null)`,
    sh`  if [ -n "$since" ] && [ $((now - since)) -ge ${req.staleAfterSeconds} ]; then`,
    `    echo "breaking a stale lock ($info age=$((now - since)))" >&2; rm -rf "$lock"`,
    sh`    mkdir "$lock" 2>/dev/null || { echo "locked (taken while breaking a stale lock)"; exit ${lockBusyExitCode}; }`,
    `  else`,
    sh`    echo "locked $info age=$(( now - \${since:-$now} ))"; exit ${lockBusyExitCode}`,
    `  fi`,
    `fi`,
    `printf 'holder=%s\\nrelease=%s\\ntime=%s\\n' "$holder" "$release" "$(date +%s)" > "$lock/info.tmp" && mv -f "$lock/info.tmp" "$lock/info" || { rm -rf "$lock"; exit 1; }`,
    `echo acquired`,
  ].join("\n");
}

/** Removes the lock if `holder` holds it (or `force`); exit 3 when someone else holds it. */
export function releaseLock(layout: HostLayout, holder: string, force = false): string {
  const lock = paths(layout).lockDir;
  return [
    sh`lock=${lock}; holder=${oneLine("lock holder", holder)}`,
    `[ -d "$lock" ] || { echo "not locked"; exit 0; }`,
    `current=$(sed -n 's/^holder=//p' "$lock/info" 2>/dev/null)`,
    force
      ? `rm -rf "$lock" && echo "released (forced; was held by $current)"`
      : sh`if [ "$current" = "$holder" ]; then rm -rf "$lock" && echo released; else echo "not released: held by $current" >&2; exit ${lockBusyExitCode}; fi`,
  ].join("\n");
}

/** Prints "unlocked" or the lock's holder/release/time lines plus age=seconds. */
export function inspectLock(layout: HostLayout): string {
  return sh`lock=${paths(layout).lockDir}; if [ -d "$lock" ]; then cat "$lock/info" 2>/dev/null; since=$(sed -n 's/^time=//p' "$lock/info" 2>/dev/null); echo "age=$(( $(date +%s) - \${since:-0} ))"; else echo unlocked; fi`;
}

export interface LockInfo {
  holder: string;
  release: string;
  time: number;
  ageSeconds: number;
}

export function parseLockInfo(stdout: string): LockInfo | null {
  if (stdout.trim() === "unlocked" || stdout.trim() === "") return null;
  const fields = Object.fromEntries(
    stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return {
    holder: fields.holder ?? "",
    release: fields.release ?? "",
    time: Number(fields.time ?? 0),
    ageSeconds: Number(fields.age ?? 0),
  };
}
