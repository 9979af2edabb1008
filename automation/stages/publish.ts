// After every run: the Markdown and JSON summaries on disk (and in the GitHub job summary),
// and, when a deploy failed or rolled back, a GitHub issue carrying the summary.
import { firstLine } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { GitHubRest, type RepoRef } from "../github/rest.js";
import { failureIssueFor, headline } from "../report/markdown.js";
import { secretsFromEnv } from "../report/redact.js";
import type { RunSummary } from "../report/summary.js";
import { writeReports } from "../report/write.js";

export interface PublishOptions {
  reportDir?: string | undefined;
  /** Where to open the failure issue; none = no issue. */
  repo?: RepoRef | undefined;
  github?: GitHubRest | undefined;
  log: Logger;
}

export async function publishReports(summary: RunSummary, opts: PublishOptions): Promise<void> {
  opts.log.info(`\n${headline(summary)}`);
  for (const m of summary.messages) opts.log.info(`  ${m}`);
  const written = await writeReports(summary, { dir: opts.reportDir ?? ".reports" });
  opts.log.info(`  report: ${written.markdownPath}${written.stepSummaryPath ? " (and the job summary)" : ""}`);
  if (!opts.repo) return;
  const issue = failureIssueFor(summary, { secrets: secretsFromEnv() });
  if (!issue) return;
  try {
    const gh = opts.github ?? new GitHubRest();
    const opened = await gh.openFailureIssue({ ...opts.repo, ...issue });
    opts.log.info(`  failure issue: ${opened.url}`);
    summary.messages.push(`Failure issue: ${opened.url}`);
  } catch (err) {
    // The deploy's outcome stands; a forge outage must not change the exit code.
    opts.log.warn(`could not open the failure issue: ${firstLine(err)}`);
  }
}
