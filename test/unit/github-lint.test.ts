// actionlint (with shellcheck over every run: script) and zizmor (--offline) over the
// committed workflows: zero findings. The linters are provisioned by
// automation/toolchain/linters.sh (idempotent; a cold build takes about 20 s); when a linter
// cannot be had this test fails, it never skips.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { LINT_WAIVERS, WORKFLOWS_DIR } from "../../components/github/workflows/render.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const binDir = join(repoRoot, ".tools/bin");
const workflowsDir = join(repoRoot, WORKFLOWS_DIR);
const workflowFiles = () => readdirSync(workflowsDir).filter((f) => f.endsWith(".yml")).sort();

const run = (command: string, args: string[]) =>
  spawnSync(command, args, { cwd: repoRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 300_000 });

describe("workflow linters", () => {
  beforeAll(() => {
    const provisioned = run("bash", ["automation/toolchain/linters.sh"]);
    if (provisioned.status !== 0) {
      throw new Error(`automation/toolchain/linters.sh failed (exit ${provisioned.status}):\n${provisioned.stdout}\n${provisioned.stderr}`);
    }
    for (const tool of ["actionlint", "zizmor", "shellcheck"]) {
      if (!existsSync(join(binDir, tool))) throw new Error(`${tool} is missing from .tools/bin after linters.sh`);
    }
  }, 600_000);

  it("lints all seven workflows", () => {
    expect(workflowFiles()).toEqual(["ci-cd.yml", "deploy.yml", "deployment-status.yml", "pause-decision.yml", "restore.yml", "rollback.yml", "unlock.yml"]);
  });

  it("actionlint 1.7.12 with shellcheck reports nothing", () => {
    const version = run(join(binDir, "actionlint"), ["-version"]);
    expect(version.stdout.split("\n")[0]).toBe("v1.7.12");
    const files = workflowFiles().map((f) => join(WORKFLOWS_DIR, f));
    const result = run(join(binDir, "actionlint"), ["-shellcheck", join(binDir, "shellcheck"), "-format", "{{json .}}", ...files]);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout || "[]")).toEqual([]);
    expect(result.status).toBe(0);
  });

  it("actionlint does find a problem when there is one (the linter really runs)", () => {
    const broken = "on: push\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.event.head_commit.message }} $UNQUOTED\n";
    const result = spawnSync(join(binDir, "actionlint"), ["-shellcheck", join(binDir, "shellcheck"), "-"], {
      input: broken,
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toContain("shellcheck");
  });

  it("zizmor --offline reports no findings", () => {
    const result = run(join(binDir, "zizmor"), ["--offline", "--format", "json", WORKFLOWS_DIR]);
    expect(result.stderr).not.toMatch(/error|failed/i);
    expect(JSON.parse(result.stdout)).toEqual([]);
    expect(result.status).toBe(0);
  });

  it("zizmor does find a problem when there is one (the linter really runs)", () => {
    const dir = mkdtempSync(join(tmpdir(), "zizmor-probe-"));
    try {
      mkdirSync(join(dir, ".github/workflows"), { recursive: true });
      writeFileSync(
        join(dir, ".github/workflows/bad.yml"),
        "on: pull_request\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    permissions: {}\n    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
      );
      const result = run(join(binDir, "zizmor"), ["--offline", "--format", "json", join(dir, ".github/workflows")]);
      const rules = (JSON.parse(result.stdout) as { ident: string }[]).map((f) => f.ident);
      expect(rules).toContain("template-injection");
      expect(result.status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the only zizmor ignore comments are the documented waivers, each with its reason above it", () => {
    const ignores = workflowFiles().flatMap((file) =>
      readFileSync(join(workflowsDir, file), "utf8")
        .split("\n")
        .map((line, index, lines) => ({ file, line, previous: lines[index - 1] ?? "" }))
        .filter(({ line }) => line.includes("zizmor: ignore")),
    );
    // A waiver covers every line its key (and value) is on: ci-cd calls deploy.yml once per environment.
    expect([...new Set(ignores.map(({ file, line }) => `${file}: ${/ignore\[([\w-]+)\]/.exec(line)?.[1]}`))].sort()).toEqual(
      LINT_WAIVERS.map((w) => `${w.file}: ${w.rule}`).sort(),
    );
    expect(ignores.length).toBe(3);
    for (const { file, previous } of ignores) {
      const waiver = LINT_WAIVERS.find((w) => w.file === file)!;
      expect(previous.trim()).toBe(`# ${waiver.reason}`);
    }
  });
});
