// The run summary as Markdown: for $GITHUB_STEP_SUMMARY, the report file, and the body of
// a failure issue. Pure: a summary in, text out.
import { formatDuration, oneLine, table } from "./format.js";
import { renderMonitor, type MonitorRenderOptions } from "./monitor-markdown.js";
import { outcomes, pausedHeadline, type Tone } from "./outcomes.js";
import type { PauseSummary, RunSummary, StageTiming, UpSummary } from "./summary.js";
import { redact, redactText } from "./redact.js";

export interface RenderOptions extends MonitorRenderOptions {
  /** Secret values to mask wherever they appear (see redact.ts). */
  secrets?: readonly string[];
  /** "user@host" for the commands in the next steps. Default: a placeholder. */
  sshTarget?: string;
  /** The app's directory on the host. Default: /opt/awareness (the seed's). */
  appDir?: string;
}

export { formatDuration, table };

const toneIcon: Record<Tone, string> = { ok: "✅", warn: "⚠️", fail: "❌" };

export function headline(summary: RunSummary): string {
  const { tone, headline: outcomeText } = outcomes[summary.outcome];
  // A paused deploy's issue is filed before it has an outcome.
  const text = summary.outcome === "running" && summary.pause ? pausedHeadline : outcomeText;
  const release = summary.release ? ` ${summary.release.id}` : "";
  return `${toneIcon[tone]} ${summary.command}${release} on ${summary.stack}: ${text}`;
}

export function renderMarkdown(input: RunSummary, options: RenderOptions = {}): string {
  const secrets = options.secrets ?? [];
  const summary = redact(input, secrets);
  const out: string[] = [`## ${headline(summary)}`, ""];

  const facts = [
    `**Command** \`${summary.command}\``,
    `**Stack** \`${summary.stack}\``,
    `**Outcome** \`${summary.outcome}\``,
    `**Exit code** ${summary.exitCode}`,
  ];
  if (summary.finishedAt) facts.push(`**Took** ${formatDuration(Date.parse(summary.finishedAt) - Date.parse(summary.startedAt))}`);
  out.push(facts.join(" · "), "", `Started ${summary.startedAt}${summary.finishedAt ? `, finished ${summary.finishedAt}` : ""}.`, "");

  if (summary.messages.length > 0) out.push(...summary.messages.map((m) => `> ${oneLine(m)}`), "");

  if (summary.release) {
    const r = summary.release;
    out.push("### Release", "", `\`${r.id}\`${r.gitSha ? ` at commit \`${r.gitSha}\`` : ""}`, "");
    const images = Object.entries(r.images);
    if (images.length > 0) out.push(table(["Service", "Image"], images.map(([svc, ref]) => [svc, `\`${ref}\``])), "");
    const envKeys = Object.keys(r.env ?? {});
    // Env values are not shown: only the keys, so a value that should have been secret stays out.
    if (envKeys.length > 0) out.push(`Env keys: ${envKeys.map((k) => `\`${k}\``).join(", ")}`, "");
  }

  if (summary.prechecks.length > 0) {
    out.push("### Prechecks", "");
    out.push(
      table(
        ["Check", "Result", "Detail"],
        summary.prechecks.map((p) => [p.name, p.skipped ? "⏭️ skipped" : p.ok ? "✅ pass" : "❌ fail", p.detail]),
      ),
      "",
    );
  }

  if (summary.preview) {
    const { ops, plan, blocked } = summary.preview;
    out.push("### Preview", "");
    const counted = Object.entries(ops).filter(([, n]) => n > 0);
    out.push(counted.length > 0 ? table(["Operation", "Resources"], counted.map(([op, n]) => [op, String(n)])) : "No changes.", "");
    if (blocked.length > 0) out.push("**Blocked by the replace policy:**", "", ...blocked.map((b) => `- ${oneLine(b)}`), "");
    if (summary.preview.heldToPlan) out.push("The update was held to this preview's plan (nothing else could be applied).", "");
    if (summary.preview.planNote) out.push(`⚠️ ${oneLine(summary.preview.planNote)}`, "");
    if (plan.length > 0) {
      out.push("<details><summary>Plan</summary>", "", "```", ...plan, "```", "", "</details>", "");
    }
  }

  if (summary.rollout?.length) out.push("### Rollout", "", ...renderRollout(summary.rollout), "");
  if (summary.up) out.push("### Update", "", ...renderUp(summary.up), "");

  const r = summary.restore;
  if (r) out.push("### Restore", "", `Backup set \`${r.set}\` (release \`${r.release}\`) replaced \`${r.from}\`${r.backup ? `, whose files are now the set \`${r.backup}\` (restore it to undo this)` : ""}.${r.volumes?.length ? ` Volumes put back: ${r.volumes.map((v) => `\`${v}\``).join(", ")}.` : ""}`, "");

  if (summary.monitor) out.push("### Health monitor", "", ...renderMonitor(summary.monitor, options), "");

  if (summary.pause) out.push("### Pause", "", ...renderPause(summary.pause), "");

  if (summary.rollback) {
    const rb = summary.rollback;
    out.push("### Rollback", "", `From \`${rb.from}\` to \`${rb.to}\`. Reason: ${oneLine(rb.reason)}`, "", ...(rb.up ? renderUp(rb.up) : ["The rollback's update did not run."]), "");
    if (rb.monitor) out.push("#### Health monitor after the rollback", "", ...renderMonitor(rb.monitor, options, "Rollback watch"), "");
  }

  const steps = nextSteps(summary, options);
  if (steps.length > 0) out.push("### Next steps", "", ...steps.map((s, i) => `${i + 1}. ${s}`), "");

  if (summary.stages?.length) out.push("### Stages", "", renderStages(summary), "");

  return redactText(out.join("\n"), secrets);
}

const stageResult: Record<StageTiming["result"], string> = { done: "done", ended: "ended the run", failed: "❌ failed" };

/**
 * The per-stage breakdown: where the run's time went, in order, with each stage's share; an
 * update's own phases (engine start, pulls, the switch's phases) under the stage that ran it.
 */
/** A fleet's batches before the deploy's own update: the hosts of each, its update, its gate's verdict. */
function renderRollout(batches: NonNullable<RunSummary["rollout"]>): string[] {
  const rows = batches.map((b, i) => [String(i + 1), b.hosts.map((h) => `\`${h}\``).join(", "), String(b.update ?? "-"), `${b.verdict}${b.detail ? `: ${oneLine(b.detail)}` : ""}${b.decision ? `; paused, ${oneLine(b.decision)}` : ""}`]);
  return [table(["Batch", "Hosts", "Update", "Gate"], rows), "", "The last batch is the update below; the whole fleet is then watched by the health monitor."];
}

function renderStages(summary: RunSummary): string {
  const stages = summary.stages ?? [];
  const total = stages.reduce((sum, s) => sum + s.ms, 0);
  const share = (ms: number) => (total > 0 ? `${Math.round((100 * ms) / total)} %` : "-");
  const phasesOf = (stage: string) =>
    (stage === "up" ? summary.up : stage.startsWith("rollback") ? (summary.rollback?.up ?? summary.up) : undefined)?.phases ?? [];
  return table(
    ["Stage", "Took", "Share", "Result"],
    [
      ...stages.flatMap((s) => [
        [s.stage, formatDuration(s.ms), share(s.ms), stageResult[s.result]],
        ...phasesOf(s.stage).map((p) => [`↳ ${p.phase}`, formatDuration(p.ms), share(p.ms), ""]),
      ]),
      ["**all stages**", formatDuration(total), "100 %", ""],
    ],
  );
}

function renderPause(p: PauseSummary): string[] {
  const held = `\`${p.release}\` was held live after its failed verdict (${oneLine(p.reason)}), paused at ${p.pausedAt} until ${p.deadline} (then the timeout decides ${p.onTimeout}).`;
  const d = p.decision;
  if (d) return [held, "", `Decision: **${d.action}** ${d.byTimeout ? "by the pause timeout" : `by ${oneLine(d.by)}`} at ${d.at}: ${oneLine(d.reason)}.`];
  return [held, "", "Decide with one of:", "", "```", p.promote, p.abort, "```"];
}

function renderUp(up: UpSummary): string[] {
  const lines = [`Result: **${up.result}** in ${formatDuration(up.durationMs)}${up.update !== undefined ? ` (update ${up.update})` : ""}.`];
  const changes = Object.entries(up.changes ?? {}).filter(([, n]) => n > 0);
  if (changes.length > 0) lines.push("", `Changes: ${changes.map(([op, n]) => `${op} ${n}`).join(", ")}.`);
  if (up.error) lines.push("", "```", up.error.trim(), "```");
  return lines;
}

/** What the operator does next, by outcome (the seed's troubleshooting guide). */
export function nextSteps(summary: RunSummary, options: RenderOptions = {}): string[] {
  const ssh = options.sshTarget ?? "<user>@<host>";
  const appDir = options.appDir ?? "/opt/awareness";
  const logs = `Check the application logs: \`ssh ${ssh} "cd ${appDir} && docker compose ps -a && docker compose logs --tail 200"\` (one container: \`docker logs <container>\`).`;
  const healthChecks = [
    logs,
    "Verify the database connectivity and the Redis service status from the backend container.",
    "Review the nginx configuration and that the health endpoints answer on the host.",
  ];
  const rollbackChecks = [
    `Ensure backups exist: \`ssh ${ssh} "ls -la ${appDir}/backups/*/"\` (one set per switch, each with a manifest.json naming its release).`,
    `Check the Docker service: \`ssh ${ssh} "systemctl status docker"\`, and that the previous images are still on the host (\`docker images\`).`,
    `If the stack state is unusable, restore the last verified release from the host's backup sets with the \`restore\` command (\`--release\` picks another); document any manual intervention in the deployment issue.`,
  ];
  switch (summary.outcome) {
    case "deployed-verified":
      return ["Nothing to do. Review the monitoring above if some rounds failed."];
    case "promoted":
      return ["The release failed its health check and was promoted by the decision above: watch it closely, and roll back (`rollback`) if users suffer.", logs];
    case "running": // a paused deploy's issue, filed while it waits
      return summary.pause ? ["Decide before the deadline: promote keeps the release (verified), abort rolls back to the last verified release.", ...healthChecks] : [];
    case "blocked":
      return [
        "Check the CI/CD workflow status of the commit.",
        "Review the precheck results and the preview above: the failed rows say what to fix.",
        "Ensure no other deployment is running, and that the git tree is clean.",
      ];
    case "lock-held":
      return ["Wait for the other deployment to finish, or run again with `--wait-lock` to queue behind it."];
    case "invalid-config":
    case "usage":
      return ["Fix the command line or the config key named above, then run again: nothing was changed."];
    case "rolled-back":
      return [
        "The release is not live: find why it failed its health check before deploying it again.",
        ...healthChecks,
      ];
    case "up-failed":
      return ["The update did not complete: read its error above.", ...healthChecks];
    case "failed-no-rollback":
    case "rollback-failed":
    case "restore-failed":
      return ["**The app may be down: act now.**", ...healthChecks, ...rollbackChecks];
    case "cancelled":
      return [
        "The run was cancelled: the messages above say which stage it was in and what the host runs now.",
        "Run `status` to see the live and the last verified release; deploy or roll back again when ready.",
      ];
    case "host-unreachable": // nothing was seen after the host went away: find out first
      return [`**What the host runs is not known: check it now.** Make sure it answers (\`ssh ${ssh} true\`), then \`status\` shows what it runs; the next \`deploy\` or \`rollback\` reconciles any drift (a host lock left behind clears once its run is gone, or after its lease).`, ...healthChecks];
    case "error":
      return ["Read the messages above; run again once the cause is fixed.", logs];
    default:
      return [];
  }
}

/** A stable title per stack and release, so repeated failures of one release add comments to one issue. */
function failureIssueTitle(summary: RunSummary): string {
  return `Deployment failed: ${summary.release?.id ?? "unknown release"} on ${summary.stack}`;
}

/** Title, body and labels for the failure issue, or undefined when the outcome is not a failure. */
export function failureIssueFor(
  summary: RunSummary,
  options: RenderOptions = {},
): { title: string; body: string; labels: string[] } | undefined {
  // A paused deploy files its issue at once, before it has an outcome.
  const paused = summary.outcome === "running" && summary.pause !== undefined;
  if (!outcomes[summary.outcome].failure && !paused) return undefined;
  return {
    title: redactText(failureIssueTitle(summary), options.secrets ?? []),
    body: renderMarkdown(summary, options),
    labels: ["deployment-failure"],
  };
}
