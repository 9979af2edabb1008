// Secrets on the real engine and the real sandbox host: no secret config value ever reaches a
// command line (a recording `pulumi` on PATH sees every argv the driver and the engine door
// use), and a container that prints its secret as it dies has that secret masked in the
// summary, the report files, the job summary and the failure issue.
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { GitHubRest } from "../../automation/github/rest.js";
import type { RunSummary } from "../../automation/report/summary.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { publishReports } from "../../automation/stages/publish.js";
import { locateCli } from "../../automation/toolchain/cli.js";
import { driverStack, type DriverStack } from "../support/driver.js";
import { startFakeGitHub } from "../support/fake-github.js";
import { clearCorner, target, testCorner } from "./components-support.js";

const corner = testCorner("secrets", { backend: 18480, frontend: 18481 });
const stackName = `test-secrets-${process.pid}`;
const sessionSecret = `secret-${process.pid}-${Date.now()}-never-shown`;
const quiet = { info: () => {}, warn: () => {} };
const savedPath = process.env.PATH;
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;
let argvLog: string;
let failed: RunSummary;

beforeAll(async () => {
  clearCorner(corner);
  const real = (await locateCli()).command;
  ds = await driverStack(stackName, quiet);
  // A `pulumi` first on PATH that records its arguments and runs the real one.
  const bin = join(ds.dir, "recording-bin");
  mkdirSync(bin);
  argvLog = join(ds.dir, "argv.log");
  writeFileSync(join(bin, "pulumi"), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${real}' "$@"\n`);
  chmodSync(join(bin, "pulumi"), 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  await applySandboxStackConfig(await ds.engine(), target, "v1", { ...corner, secretEnv: { SESSION_SECRET: sessionSecret } });
  const v1 = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
  expect(v1.outcome, v1.messages.join(" ")).toBe("deployed-verified");
  // v5's backend dies at start, printing its SESSION_SECRET; the switch reports its last log lines.
  failed = await deploy({ ...base, releaseId: "v5", images: target.releases.v5 });
});

afterAll(async () => {
  process.env.PATH = savedPath;
  clearCorner(corner);
  await ds?.cleanup();
});

describe("secrets never leave in clear text", () => {
  it("no secret config value is ever on a command line: they go to the CLI on stdin", () => {
    const argv = readFileSync(argvLog, "utf8");
    // The recording CLI was the one used, for the secrets too.
    expect(argv).toMatch(/config set --secret --non-interactive --stack \S+ awareness:secretEnv/);
    expect(argv).toMatch(/config set --secret --non-interactive --stack \S+ awareness:sshPrivateKey/);
    expect(argv).not.toContain(sessionSecret);
    const keyLines = readFileSync(target.ssh.privateKeyPath, "utf8").split("\n").filter((l) => l.trim().length >= 16);
    expect(keyLines.length).toBeGreaterThan(0);
    for (const line of keyLines) expect(argv).not.toContain(line);
  });

  it("a container printing its secret as it dies: masked in the summary, the reports, the job summary and the failure issue", async () => {
    expect(failed.outcome, failed.messages.join(" ")).toBe("up-failed");
    // The secret was really in what the host said (its mask stands where it stood), and it left masked.
    expect(JSON.stringify(failed)).toContain("SESSION_SECRET=***");
    expect(JSON.stringify(failed)).not.toContain(sessionSecret);

    const github = await startFakeGitHub();
    const stepSummary = join(ds.dir, "step-summary.md");
    process.env.GITHUB_STEP_SUMMARY = stepSummary;
    try {
      const reportDir = join(ds.dir, "reports");
      const gh = new GitHubRest({ baseUrl: github.url, token: github.token });
      await publishReports(failed, { reportDir, repo: { owner: "acme", repo: "awareness" }, github: gh, log: quiet });
      const files = readdirSync(reportDir).map((f) => readFileSync(join(reportDir, f), "utf8"));
      expect(files.length).toBe(2);
      expect(github.issues).toHaveLength(1);
      for (const text of [...files, readFileSync(stepSummary, "utf8"), github.issues[0]!.body]) {
        expect(text).toContain("SESSION_SECRET=***");
        expect(text).not.toContain(sessionSecret);
      }
    } finally {
      delete process.env.GITHUB_STEP_SUMMARY;
      await github.close();
    }
  });
});
