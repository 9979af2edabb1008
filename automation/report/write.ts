// Writes a run's summary where people and machines look: a Markdown and a JSON file per
// run, and the Markdown appended to the GitHub Actions job summary when running there.
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunSummary } from "./summary.js";
import { renderMarkdown, type RenderOptions } from "./markdown.js";
import { redact, secretsFromEnv } from "./redact.js";

export interface WriteReportsOptions extends RenderOptions {
  /** The reports directory (created when missing). */
  dir: string;
  /** Where $GITHUB_STEP_SUMMARY and the secret variables are read. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface WrittenReports {
  markdownPath: string;
  jsonPath: string;
  /** The job summary file appended to, when $GITHUB_STEP_SUMMARY is set. */
  stepSummaryPath?: string;
}

/** "2026-01-01T10-00-00Z": the run's start, sortable and safe in every file system. */
export function reportStamp(startedAt: string): string {
  const date = new Date(startedAt);
  const iso = Number.isNaN(date.getTime()) ? new Date().toISOString() : date.toISOString();
  return iso.replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

/**
 * Writes `<dir>/<stamp>-<command>.md` and `.json` (secrets masked in both: the ones given
 * and those in the environment's secret variables) and appends the Markdown to
 * $GITHUB_STEP_SUMMARY when set.
 */
export async function writeReports(summary: RunSummary, options: WriteReportsOptions): Promise<WrittenReports> {
  const env = options.env ?? process.env;
  const secrets = [...(options.secrets ?? []), ...secretsFromEnv(env)];
  const markdown = renderMarkdown(summary, { ...options, secrets });
  const json = `${JSON.stringify(redact(summary, secrets), null, 2)}\n`;

  await mkdir(options.dir, { recursive: true });
  const base = join(options.dir, `${reportStamp(summary.startedAt)}-${summary.command}`);
  const written: WrittenReports = { markdownPath: `${base}.md`, jsonPath: `${base}.json` };
  await writeFile(written.markdownPath, markdown);
  await writeFile(written.jsonPath, json);

  const stepSummary = env.GITHUB_STEP_SUMMARY;
  if (stepSummary) {
    await appendFile(stepSummary, `${markdown}\n`);
    written.stepSummaryPath = stepSummary;
  }
  return written;
}
