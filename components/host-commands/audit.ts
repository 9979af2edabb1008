// The audit trail on the host: `<appDir>/audit.log`, one JSON object per line, append-only.
// Each run appends ONE line with ONE `>>` write under the deploy lock's flock (the short
// critical section every lock step takes), so concurrent runs never interleave or tear lines.
// Entries are validated here (every value capped, one line) before they reach the shell.
import { z } from "zod";
import type { HostLayout } from "./layout.js";
import { enterLockSection } from "./lock.js";
import { sh } from "./shell.js";

export const auditLogName = "audit.log";
export const auditLogPath = (layout: HostLayout) => `${layout.appDir}/${auditLogName}`;
/** A line stays well under PIPE_BUF (4096): one write(2), never split. */
const maxLineChars = 3800;
/** At most this many entries are read back at once. */
export const maxAuditLimit = 1000;

const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !/[\u0000-\u001f\u007f\u2028\u2029]/.test(v), "must be one line of text without control characters");
const utcTime = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, "must be a UTC time");

export const auditEntrySchema = z
  .object({
    schema: z.literal(1),
    /** Who started the run: the CI actor and run, or user@host. */
    who: text(200).min(1),
    /** The CI run's address, when it ran in CI. */
    runUrl: text(500).url().optional(),
    command: text(40).min(1),
    stack: text(100).min(1),
    release: text(200).optional(),
    /** Why: the rollback's reason (manual or the failed verdict), a restore's set. */
    reason: text(1000).optional(),
    outcome: text(40).min(1),
    exitCode: z.number().int().min(0).max(255),
    startedAt: utcTime,
    finishedAt: utcTime,
  })
  .strict();

export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** The entry as its one line in audit.log (validated; throws naming the field). */
export function auditLine(entry: AuditEntry): string {
  const parsed = auditEntrySchema.safeParse(entry);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`audit entry: ${issue.path.join(".") || "entry"} ${issue.message}`);
  }
  const line = JSON.stringify(parsed.data);
  if (line.length > maxLineChars) throw new Error(`audit entry: ${line.length} characters, at most ${maxLineChars}`);
  return line;
}

/** Appends one entry (one line, one write) under the lock's flock; prints "appended". */
export function appendAuditEntry(layout: HostLayout, entry: AuditEntry): string {
  const file = auditLogPath(layout);
  return [
    ...enterLockSection(layout, "", "exclusive", sh`mkdir -p ${layout.appDir} || exit 1`),
    sh`printf '%s\\n' ${auditLine(entry)} >> ${file} || exit 1`,
    `echo appended`,
  ].join("\n");
}

/** The newest `limit` lines of audit.log (nothing when there is none yet). */
export function readAuditLog(layout: HostLayout, limit: number): string {
  if (!Number.isInteger(limit) || limit < 1 || limit > maxAuditLimit) throw new Error(`the audit limit is a whole number from 1 to ${maxAuditLimit}`);
  const file = auditLogPath(layout);
  return sh`[ -f ${file} ] || exit 0; tail -n ${limit} ${file}`;
}

export interface AuditLog {
  /** Newest first. */
  entries: AuditEntry[];
  /** Lines that are not entries (a hand edit, a torn disk): reported, never fatal. */
  malformed: { line: number; text: string; why: string }[];
}

/** Parses readAuditLog's output; line numbers count from the oldest line read. */
export function parseAuditLog(stdout: string): AuditLog {
  const entries: AuditEntry[] = [];
  const malformed: AuditLog["malformed"] = [];
  stdout.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    let why: string;
    try {
      const parsed = auditEntrySchema.safeParse(JSON.parse(raw));
      if (parsed.success) return void entries.push(parsed.data);
      why = `${parsed.error.issues[0]!.path.join(".")} ${parsed.error.issues[0]!.message}`;
    } catch {
      why = "not JSON";
    }
    malformed.push({ line: i + 1, text: raw.slice(0, 120), why });
  });
  return { entries: entries.reverse(), malformed };
}

