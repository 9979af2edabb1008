// `status` for a terminal: the live and verified releases, the host's record, recent history.
import { describeLock, type AuditLog, type ColorStates, type DeploymentStatus, type LockInfo, type PausedRecord } from "../../components/host-commands/index.js";

/** A verified release: its id and the update that deployed it. */
export interface VerifiedRef {
  id: string;
  update: number;
}

export interface StatusReport {
  stack: string;
  current?: unknown;
  lastVerified?: VerifiedRef | undefined;
  verified: VerifiedRef[];
  lastFailed?: string | undefined;
  unverified?: string | undefined;
  host?: DeploymentStatus | null;
  hostError?: string;
  /** The host answered, but its deployment.json is unreadable (why, on one line). */
  hostRecordError?: string;
  lock?: LockInfo | null;
  /** blue-green: the live color and each color's containers (running of total) on the host. */
  blueGreen?: ColorStates;
  /** Every further host of a multi-host stack: its own record (or why it could not be read). */
  otherHosts?: { name: string; record?: DeploymentStatus | null; error?: string }[];
  /** With `--audit`: the newest entries of the host's audit.log and its unreadable lines. */
  audit?: AuditLog;
  history: { update: number; kind: string; result: string; message: string; startTime: string; release?: string | undefined }[];
}


function hostRecord(r: StatusReport): string {
  if (r.hostRecordError) return `RECORD UNREADABLE (the next deploy or rollback rewrites it): ${r.hostRecordError}`;
  return `current ${r.host?.current?.id ?? "none"}, verified ${r.host?.verified?.id ?? "none"}, failed ${r.host?.failed?.id ?? "none"}`;
}

export function renderStatus(r: StatusReport): string {
  const live = r.current as { id?: string; deployedAt?: string } | undefined;
  const lines = [
    `stack ${r.stack}`,
    `  live release:   ${live?.id ?? "none"}${live?.deployedAt ? ` (deployed ${live.deployedAt})` : ""}`,
    `  last verified:  ${r.lastVerified ? `${r.lastVerified.id} (update ${r.lastVerified.update})` : "none"}`,
    `  last failed:    ${r.lastFailed ?? "none"}`,
    `  unverified:     ${r.unverified ? `${r.unverified} (its watch was cancelled)` : "none"}`,
    `  host:           ${r.hostError ? `unreachable: ${r.hostError}` : `${hostRecord(r)}, lock ${r.lock ? `held by ${describeLock(r.lock)}` : "free"}`}`,
    ...(r.blueGreen ? [colorLine(r.blueGreen)] : []),
    ...(r.host?.paused ? pausedLines(r.host.paused) : []),
    ...(r.otherHosts ?? []).map(
      (h) =>
        `  host ${h.name}:${" ".repeat(Math.max(1, 10 - h.name.length))}${h.error ? `unreachable: ${h.error}` : `current ${h.record?.current?.id ?? "none"}, verified ${h.record?.verified?.id ?? "none"}, failed ${h.record?.failed?.id ?? "none"}`}`,
    ),
    "  history:",
    ...r.history.map((h) => `    ${h.startTime} ${h.result.padEnd(9)} ${h.release ?? "-"}  ${h.message}`),
    ...(r.audit ? renderAudit(r.audit) : []),
  ];
  return `${lines.join("\n")}\n`;
}

/** blue-green: which color serves, and whether the other one is still warm (an instant rollback) or stopped. */
function colorLine(b: ColorStates): string {
  const idle = b.live === "blue" ? "green" : b.live === "green" ? "blue" : undefined;
  const of = (c: "blue" | "green") => `${b.colors[c].running}/${b.colors[c].total} containers running`;
  if (!b.live || !idle) return "  blue-green:     no color is live yet";
  const warm = b.colors[idle].running > 0 ? "warm: a rollback to it is a proxy flip" : "stopped";
  return `  blue-green:     live ${b.live} (${of(b.live)}); idle ${idle} ${warm} (${of(idle)})`;
}

/** The audit trail, newest first: when, who, what, the outcome, and why. */
function renderAudit(audit: AuditLog): string[] {
  return [
    `  audit (newest first, ${audit.entries.length} entr${audit.entries.length === 1 ? "y" : "ies"}):`,
    ...audit.entries.map(
      (e) =>
        `    ${e.finishedAt} ${e.outcome.padEnd(17)} ${e.command}${e.release ? ` ${e.release}` : ""} by ${e.who}` +
        `${e.reason ? ` (why: ${e.reason})` : ""}${e.runUrl ? ` ${e.runUrl}` : ""}`,
    ),
    ...audit.malformed.map((m) => `    ! line ${m.line} of those read is not an entry (${m.why}): ${m.text}`),
  ];
}

/** A release held live after its failed verdict: until when, and the commands that decide. */
function pausedLines(p: PausedRecord): string[] {
  return [
    `  PAUSED:         ${p.id} since ${p.pausedAt}, until ${p.deadline} (then ${p.onTimeout}): ${p.reason}`,
    `    promote:      ${p.promote}`,
    `    abort:        ${p.abort}`,
  ];
}
