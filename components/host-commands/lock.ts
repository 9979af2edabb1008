// The host deploy lock: a directory (.deploy-lock) holding its info file, taken on a lease.
//
// Every operation (acquire, which breaks a stale lock; renew; release; inspect) is ONE shell
// command whose critical section holds `flock` on a sidecar file (.deploy-lock.flock), so two
// contenders never both see the lock free, and breaking a stale lock and taking it is one step.
// Inside it the info (holder, release, time acquired, heartbeat, a random nonce per
// acquisition) is written to a temp file and renamed into the lock dir: a lock is never seen
// without its info. A lock dir without info (left by an older version, or a crash between the
// two steps) is stale; so is a lock whose heartbeat is `leaseSeconds` old. Only the holder with
// the same nonce renews or releases.
import { paths, type HostLayout } from "./layout.js";
import { oneLine, sh } from "./shell.js";

export const lockBusyExitCode = 3;
/** How long an operation waits for another one's critical section (milliseconds of work). */
const flockWaitSeconds = 10;

/** Whose acquisition it is: the nonce is new at each acquisition. */
export interface LockOwner {
  /** Who deploys, e.g. "alice@runner-3 pid 42 github-run 7". One line. */
  holder: string;
  /** Random, letters and digits: tells this acquisition from any other by the same holder. */
  nonce: string;
}

export interface LockRequest extends LockOwner {
  releaseId: string;
  /** A lock whose last heartbeat is this old is abandoned and is broken. */
  leaseSeconds: number;
}

function nonceOf(value: string): string {
  if (!/^[A-Za-z0-9]{1,64}$/.test(value)) throw new Error("a lock nonce is 1 to 64 letters and digits");
  return value;
}

/**
 * The start of every lock command (and of the audit append, a write under the same flock):
 * the variables, then the critical section. `exec 9>>` opens the sidecar for the whole
 * command; the lock on it goes when the shell exits.
 */
export function enterLockSection(layout: HostLayout, vars: string, mode: "exclusive" | "shared", missingAppDir: string): string[] {
  const lock = paths(layout).lockDir;
  return [
    sh`lock=${lock}` + (vars ? `; ${vars}` : ""),
    missingAppDir,
    `command -v flock >/dev/null 2>&1 || { echo "flock is not installed on $(uname -n): the deploy lock needs it (util-linux or busybox)" >&2; exit 1; }`,
    `exec 9>>"$lock.flock" && flock ${mode === "shared" ? "-s " : ""}-w ${flockWaitSeconds} 9 || { echo "could not lock $lock.flock on $(uname -n) within ${flockWaitSeconds} s" >&2; exit 1; }`,
  ];
}

/** Reads the info file into h (holder), r (release), t (time), b (heartbeat; time if none), n (nonce). */
const readInfo = [
  `h= r= t= b= n=`,
  `[ -f "$lock/info" ] && while IFS= read -r line; do case $line in holder=*) h=\${line#holder=};; release=*) r=\${line#release=};; time=*) t=\${line#time=};; heartbeat=*) b=\${line#heartbeat=};; nonce=*) n=\${line#nonce=};; esac; done < "$lock/info"`,
  `case $t in *[!0-9]*) t= ;; esac; case $b in ''|*[!0-9]*) b=$t ;; esac`,
];

/** Prints the lock's fields, then age= (since acquisition) and heartbeat_age= (since the last heartbeat). */
const printInfo = [
  `if [ -f "$lock/info" ]; then printf 'holder=%s\\nrelease=%s\\ntime=%s\\nheartbeat=%s\\nnonce=%s\\n' "$h" "$r" "$t" "$b" "$n"; else echo noinfo=1; fi`,
  `echo "age=\${t:+$((now - t))}"; echo "heartbeat_age=\${b:+$((now - b))}"`,
];

/** Writes the info with heartbeat=$now, atomically (temp file, then rename into the lock dir). */
const writeInfo = (holder: string, release: string, time: string, nonce: string) =>
  `printf 'holder=%s\\nrelease=%s\\ntime=%s\\nheartbeat=%s\\nnonce=%s\\n' "${holder}" "${release}" "${time}" "$now" "${nonce}" > "$lock.info.tmp" && mv -f "$lock.info.tmp" "$lock/info"`;

/**
 * Takes the lock: prints "acquired" (exit 0; on stderr "breaking a stale lock (…)" if it broke
 * one), or "locked" and the holder's fields as inspectLock prints them (exit 3).
 */
export function acquireLock(layout: HostLayout, req: LockRequest): string {
  if (!Number.isInteger(req.leaseSeconds) || req.leaseSeconds < 1) throw new Error("the lock lease is a whole number of seconds, at least 1");
  const vars = sh`holder=${oneLine("lock holder", req.holder)}; release=${oneLine("release id", req.releaseId)}; nonce=${nonceOf(req.nonce)}; lease=${req.leaseSeconds}`;
  return [
    ...enterLockSection(layout, vars, "exclusive", sh`mkdir -p ${layout.appDir} || exit 1`),
    `now=$(date +%s)`,
    ...readInfo,
    `if [ -d "$lock" ]; then`,
    `  if [ -f "$lock/info" ] && [ -n "$b" ] && [ $((now - b)) -lt "$lease" ]; then`,
    `    echo locked`,
    ...printInfo.map((l) => `    ${l}`),
    sh`    exit ${lockBusyExitCode}`,
    `  fi`,
    `  if [ -f "$lock/info" ]; then`,
    `    echo "breaking a stale lock (holder=$h release=$r age=\${t:+$((now - t))} heartbeat_age=\${b:+$((now - b))})" >&2`,
    `  else`,
    `    echo "breaking a stale lock (no info file: left by an older version or a crash)" >&2`,
    `  fi`,
    `  rm -rf "$lock" || exit 1`,
    `fi`,
    `mkdir "$lock" && ${writeInfo("$holder", "$release", "$now", "$nonce")} || { rm -rf "$lock" "$lock.info.tmp"; exit 1; }`,
    `echo acquired`,
  ].join("\n");
}

/**
 * The holder's heartbeat: prints "renewed" (exit 0); "not locked" (exit 3) when the lock is
 * gone; "locked" and the fields of whoever holds it now (exit 3) when another holds it.
 */
export function renewLock(layout: HostLayout, owner: LockOwner): string {
  const vars = sh`holder=${oneLine("lock holder", owner.holder)}; nonce=${nonceOf(owner.nonce)}`;
  return [
    ...enterLockSection(layout, vars, "exclusive", sh`[ -d ${layout.appDir} ] || { echo "not locked"; exit ${lockBusyExitCode}; }`),
    sh`[ -d "$lock" ] || { echo "not locked"; exit ${lockBusyExitCode}; }`,
    `now=$(date +%s)`,
    ...readInfo,
    `if [ "$h" != "$holder" ] || [ "$n" != "$nonce" ]; then`,
    `  echo locked`,
    ...printInfo.map((l) => `  ${l}`),
    sh`  exit ${lockBusyExitCode}`,
    `fi`,
    `${writeInfo("$h", "$r", "$t", "$n")} || exit 1`,
    `echo renewed`,
  ].join("\n");
}

/**
 * Removes the lock if `owner` (holder and nonce) holds it, or whoever holds it with "force";
 * "not locked" when there is none; exit 3 when someone else holds it.
 */
export function releaseLock(layout: HostLayout, owner: LockOwner | "force"): string {
  const vars =
    owner === "force" ? "" : sh`holder=${oneLine("lock holder", owner.holder)}; nonce=${owner.nonce === "" ? "" : nonceOf(owner.nonce)}`;
  return [
    ...enterLockSection(layout, vars, "exclusive", sh`[ -d ${layout.appDir} ] || { echo "not locked"; exit 0; }`),
    `[ -d "$lock" ] || { echo "not locked"; exit 0; }`,
    ...readInfo,
    owner === "force"
      ? `rm -rf "$lock" && echo "released (forced; was held by \${h:-nobody named: no info file})"`
      : sh`if [ "$h" = "$holder" ] && [ "$n" = "$nonce" ]; then rm -rf "$lock" && echo released; else echo "not released: held by \${h:-nobody named (no info file)}" >&2; exit ${lockBusyExitCode}; fi`,
  ].join("\n");
}

/** Prints "unlocked", or the lock's fields plus age= and heartbeat_age= (seconds). */
export function inspectLock(layout: HostLayout): string {
  return [
    ...enterLockSection(layout, "", "shared", sh`[ -d ${layout.appDir} ] || { echo unlocked; exit 0; }`),
    `[ -d "$lock" ] || { echo unlocked; exit 0; }`,
    `now=$(date +%s)`,
    ...readInfo,
    ...printInfo,
  ].join("\n");
}

export interface LockInfo extends LockOwner {
  release: string;
  /** When it was acquired (epoch seconds; null if unknown). */
  time: number | null;
  /** Its last heartbeat (epoch seconds; the acquisition time for a lock of an older version). */
  heartbeat: number | null;
  /** Seconds since it was acquired. */
  ageSeconds: number | null;
  /** Seconds since its last heartbeat. */
  heartbeatAgeSeconds: number | null;
  /** A lock dir without its info file: stale, broken by the next acquire. */
  noInfo?: true;
}

const numberOrNull = (v: string | undefined) => (v === undefined || v === "" || !/^-?\d+$/.test(v) ? null : Number(v));

/** Parses inspectLock's output (or a busy acquire's / renew's after its first line). */
export function parseLockInfo(stdout: string): LockInfo | null {
  const lines = stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0 || lines[0] === "unlocked" || lines[0] === "not locked") return null;
  const fields = Object.fromEntries(lines.filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  return {
    holder: fields.holder ?? "",
    nonce: fields.nonce ?? "",
    release: fields.release ?? "",
    time: numberOrNull(fields.time),
    heartbeat: numberOrNull(fields.heartbeat),
    ageSeconds: numberOrNull(fields.age),
    heartbeatAgeSeconds: numberOrNull(fields.heartbeat_age),
    ...(fields.noinfo === "1" ? { noInfo: true as const } : {}),
  };
}

/** "alice@ci pid 7 (release v1, taken 120 s ago, last heartbeat 10 s ago)": for messages. */
export function describeLock(info: LockInfo): string {
  if (info.noInfo) return "nobody named (a lock directory without its info file, left by an older version: stale)";
  const taken = info.ageSeconds === null ? "taken at an unknown time" : `taken ${info.ageSeconds} s ago`;
  const beat = info.heartbeatAgeSeconds === null ? "no heartbeat" : `last heartbeat ${info.heartbeatAgeSeconds} s ago`;
  return `${info.holder} (release ${info.release}, ${taken}, ${beat})`;
}
