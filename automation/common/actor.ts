// Who started a run: the GitHub Actions actor and run (with its address) in CI, else the local
// user@host. For the audit trail and the engine's update messages.
import os from "node:os";

export interface Actor {
  /** "alice (GitHub Actions run 123)" or "alice@laptop". One line. */
  who: string;
  /** The CI run's address, when it is known. */
  runUrl?: string;
}

/** One line, at most `max` characters: env values are not trusted to be tidy. */
const tidy = (value: string, max: number) => value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").trim().slice(0, max);

export function runActor(env: NodeJS.ProcessEnv = process.env): Actor {
  const actor = tidy(env.GITHUB_ACTOR ?? "", 100);
  if (env.GITHUB_ACTIONS === "true" && actor) {
    const runId = /^\d{1,20}$/.test(env.GITHUB_RUN_ID ?? "") ? env.GITHUB_RUN_ID! : undefined;
    const repo = /^[\w.-]+\/[\w.-]+$/.test(env.GITHUB_REPOSITORY ?? "") ? env.GITHUB_REPOSITORY : undefined;
    const server = /^https:\/\/[\w.-]+(:\d+)?$/.test(env.GITHUB_SERVER_URL ?? "") ? env.GITHUB_SERVER_URL : "https://github.com";
    const attempt = /^\d{1,5}$/.test(env.GITHUB_RUN_ATTEMPT ?? "") && env.GITHUB_RUN_ATTEMPT !== "1" ? ` attempt ${env.GITHUB_RUN_ATTEMPT}` : "";
    return {
      who: `${actor} (GitHub Actions${runId ? ` run ${runId}${attempt}` : ""})`,
      ...(runId && repo ? { runUrl: `${server}/${repo}/actions/runs/${runId}` } : {}),
    };
  }
  let user = "unknown";
  try {
    user = os.userInfo().username;
  } catch {
    user = env.USER ?? env.LOGNAME ?? "unknown";
  }
  return { who: `${tidy(user, 60) || "unknown"}@${tidy(os.hostname(), 100) || "unknown-host"}` };
}
