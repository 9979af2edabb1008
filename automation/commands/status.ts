// status = open (never creates) -> the live and verified releases, history, the host's record
// and lock. A host that does not answer is reported, not fatal.
import type { UpdateSummary } from "@pulumi/pulumi/automation/index.js";
import { firstLine } from "../common/errors.js";
import type { StatusReport } from "../report/status-text.js";
import type { RunSummary } from "../report/summary.js";
import { stackHosts } from "../stages/hosts.js";
import { connectHost, openStack, readConfig } from "../stages/open.js";
import { InvalidDataError, parseStackConfig, rawFromAutomationConfig } from "../../components/config/parse.js";
import { oneLineMessage } from "../../components/host-commands/index.js";
import { lastFailedTag, releaseOf, unverifiedTag, updateKey, verifiedReleases } from "../stages/releases.js";
import { newContext, runStages, type RunContext, type RunOptions, stage } from "../stages/run.js";

interface StatusContext extends RunContext {
  readonly historySize: number;
  /** With `--audit`: how many entries of the host's audit.log to read. */
  readonly auditLimit?: number | undefined;
  report?: StatusReport;
}

function historyRow(u: UpdateSummary): StatusReport["history"][number] {
  let release: string | undefined;
  try {
    release = releaseOf(u)?.id;
  } catch {
    release = "(unreadable)";
  }
  return { update: updateKey(u), kind: u.kind, result: u.result, message: u.message, startTime: new Date(u.startTime).toISOString(), release };
}

const readStatus = stage<StatusContext>("status", async (ctx) => {
  const engine = ctx.engine!;
  const tags = await engine.tags();
  const verified = await verifiedReleases(engine);
  const report: StatusReport = {
    stack: ctx.stackName,
    current: (await engine.outputs()).release?.value,
    lastVerified: verified[0],
    verified,
    lastFailed: tags[lastFailedTag],
    unverified: tags[unverifiedTag],
    history: (await engine.history()).slice(0, ctx.historySize).map(historyRow),
  };
  try {
    ctx.config = parseStackConfig(rawFromAutomationConfig(await readConfig(ctx)));
    connectHost(ctx);
    report.lock = await ctx.host!.lockInfo();
    const colors = await ctx.host!.colors();
    if (colors) report.blueGreen = colors;
    if (ctx.auditLimit) report.audit = await ctx.host!.auditLog(ctx.auditLimit);
    const others = stackHosts(ctx).slice(1);
    if (others.length) {
      report.otherHosts = await Promise.all(
        others.map((h) => h.door.status().then((record) => ({ name: h.name, record }), (err: unknown) => ({ name: h.name, error: firstLine(err) }))),
      );
    }
  } catch (err) {
    report.hostError = firstLine(err);
  }
  // The record apart: a garbage deployment.json is reported as such, and the lock still shown.
  if (ctx.host && !report.hostError) {
    await ctx.host.status().then(
      (record) => (report.host = record),
      (err: unknown) => (err instanceof InvalidDataError ? (report.hostRecordError = oneLineMessage(err)) : (report.hostError = firstLine(err))),
    );
  }
  ctx.report = report;
});

export async function status(
  req: RunOptions & { historySize?: number; auditLimit?: number | undefined },
): Promise<{ summary: RunSummary; report?: StatusReport | undefined }> {
  const ctx = newContext<StatusContext>("status", req, { historySize: req.historySize ?? 10, auditLimit: req.auditLimit });
  const summary = await runStages(ctx, [openStack, readStatus], req.onStage);
  return { summary, report: ctx.report };
}
