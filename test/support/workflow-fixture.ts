// A throwaway git repository holding fixture workflows, for the runner harness's unit tests.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runJob } from "../runner/job.js";
import type { JobRecord, RunJobOptions } from "../runner/types.js";

export interface FixtureRepo {
  dir: string;
  sha: string;
}

export function fixtureRepo(files: Record<string, string>): FixtureRepo {
  const dir = mkdtempSync(join(tmpdir(), "runner-fixture-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const git = (...args: string[]): string =>
    execFileSync("git", ["-C", dir, "-c", "user.name=fixture", "-c", "user.email=fixture@localhost", ...args], { encoding: "utf8" }).trim();
  git("init", "--quiet", "--initial-branch=main");
  git("add", "-A");
  git("commit", "--quiet", "-m", "fixture");
  return { dir, sha: git("rev-parse", "HEAD") };
}

/** Runs `job` of `.github/workflows/<workflow>` in the fixture with a push event by default. */
export function runFixtureJob(repo: FixtureRepo, workflow: string, job: string, extra: Partial<RunJobOptions> = {}): Promise<JobRecord> {
  return runJob({
    repo: repo.dir,
    sha: repo.sha,
    workflow: `.github/workflows/${workflow}`,
    job,
    repository: "octo/fixture",
    event: { name: "push", ref: "refs/heads/main" },
    runnerRoot: mkdtempSync(join(tmpdir(), "runner-root-")),
    ...extra,
  });
}

export function stepOutcomes(record: JobRecord): Record<string, string> {
  return Object.fromEntries(record.steps.map((s) => [s.id, `${s.outcome}/${s.conclusion}`]));
}
