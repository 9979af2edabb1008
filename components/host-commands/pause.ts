// A paused release on the host: deployment.json's "paused" record (set by the paused deploy,
// read by `status` and by promote/abort), and the decision file promote/abort leave in the app
// dir for the paused deploy to pick up (it holds the deploy lock, so the deciders do not take it).
import { z } from "zod";
import { parseJsonData } from "../config/parse.js";
import { pauseDecisions, releaseSchema } from "../config/schema.js";
import { managedFiles, type HostLayout } from "./layout.js";
import { oneLine, sh } from "./shell.js";
import { endPauseOf, readRecordLines, recordOf, utcTime, writeRecordLine, type PausedRecord } from "./status.js";

export const pauseDecisionFileName = ".pause-decision.json";
/** Exit code of a pause command whose release is not the one the host runs or holds paused. */
export const notPausedExitCode = 4;

export const pauseDecisionSchema = z
  .strictObject({
    decision: z.enum(pauseDecisions),
    /** The paused release the decision is about: a decision for another release is dropped. */
    release: releaseSchema.shape.id,
    by: z.string().min(1).max(200),
    reason: z.string().min(1).max(500),
    decidedAt: utcTime,
  })
  .refine((d) => !/[\r\n\0]/.test(`${d.by}${d.reason}`), "one line of text");

export type PauseDecisionFile = z.output<typeof pauseDecisionSchema>;

const notPaused = (what: string) => `${sh`echo ${what}`} >&2; exit ${notPausedExitCode}`;

/**
 * Marks `record.id` paused in deployment.json, only while it is the current release (else exit
 * 4); a decision file a previous pause left behind is removed first, so only a decision taken
 * during this pause counts.
 */
export function markReleasePaused(layout: HostLayout, record: PausedRecord): string {
  const line = JSON.stringify({ ...record, reason: oneLine("the pause reason", record.reason).slice(0, 300) });
  return [
    sh`cd ${layout.appDir} || exit 1`,
    ...readRecordLines(),
    `case "$rec_current" in ${recordOf(record.id)}) ;; *) ${notPaused(`release ${record.id} is not the current release on this host; not paused`)} ;; esac`,
    sh`rm -f ${pauseDecisionFileName}`,
    `now=$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
    sh`rec_paused=${line}`,
    `${writeRecordLine(`${managedFiles[2]}.tmp`)} || exit 1`,
    `echo paused`,
  ].join("\n");
}

/** Ends the pause of `releaseId` without a verdict (a cancelled run): the mark and any decision go. */
export function clearReleasePause(layout: HostLayout, releaseId: string): string {
  return [
    sh`cd ${layout.appDir} || exit 1`,
    sh`rm -f ${pauseDecisionFileName}`,
    `[ -f ${managedFiles[2]} ] || exit 0`,
    ...readRecordLines(),
    `now=$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
    endPauseOf(releaseId),
    `${writeRecordLine(`${managedFiles[2]}.tmp`)} || exit 1`,
    `echo cleared`,
  ].join("\n");
}

/**
 * Leaves a decision for the paused deploy: refused (exit 4) unless deployment.json holds
 * `decision.release` paused; written atomically (a reader never sees half a file).
 */
export function writePauseDecision(layout: HostLayout, decision: PauseDecisionFile): string {
  const parsed = pauseDecisionSchema.safeParse(decision);
  if (!parsed.success) throw new Error(`pause decision: ${parsed.error.issues.map((i) => `${i.path.join(".") || "decision"} ${i.message}`).join("; ")}`);
  const tmp = `${pauseDecisionFileName}.tmp`;
  return [
    sh`cd ${layout.appDir} || exit 1`,
    ...readRecordLines(),
    `case "$rec_paused" in ${recordOf(decision.release)}) ;; *) ${notPaused(`release ${decision.release} is not paused on this host`)} ;; esac`,
    sh`printf '%s\\n' ${JSON.stringify(parsed.data)} > ${tmp} && mv -f ${tmp} ${pauseDecisionFileName} || exit 1`,
    `echo decided`,
  ].join("\n");
}

/** Prints the decision file and removes it (nothing when there is none). */
export function takePauseDecision(layout: HostLayout): string {
  const file = `${layout.appDir}/${pauseDecisionFileName}`;
  return sh`[ -f ${file} ] || exit 0; cat ${file} && rm -f ${file}`;
}

/** What takePauseDecision printed: the decision, or undefined when there is none yet. */
export function parsePauseDecision(stdout: string, host?: string): PauseDecisionFile | undefined {
  const text = stdout.trim();
  if (text === "") return undefined;
  return parseJsonData(pauseDecisionSchema, text, `the pause decision on ${host ?? "the host"}`, "a valid decision");
}
