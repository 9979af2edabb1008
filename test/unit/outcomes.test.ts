// The outcome table is the one source of exit codes, headlines and failure issues: every
// outcome maps, the codes agree with the documented exit codes, and the README's table is
// exactly the one derived from the outcomes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../automation/common/process.js";
import { ExitCode } from "../../automation/report/exit-codes.js";
import { failureIssueFor, headline } from "../../automation/report/markdown.js";
import { exitCodeTable, outcomes, type Outcome } from "../../automation/report/outcomes.js";
import { conclude, newSummary } from "../../automation/report/summary.js";

const all = Object.keys(outcomes) as Outcome[];

describe("the outcome table", () => {
  it("maps every outcome to a documented exit code, a headline and a failure flag", () => {
    const codes = new Set<number>(Object.values(ExitCode));
    for (const o of all) {
      expect(codes.has(outcomes[o].exitCode), o).toBe(true);
      expect(outcomes[o].headline, o).toMatch(/\w/);
      expect(typeof outcomes[o].failure).toBe("boolean");
    }
    // Every exit code but "unexpected" is reached by some real outcome.
    for (const code of codes) expect(all.filter((o) => o !== "running").some((o) => outcomes[o].exitCode === code), String(code)).toBe(true);
  });

  it("conclude takes the exit code and the failure issue from the outcome, never by hand", () => {
    for (const o of all) {
      const s = newSummary("deploy", "production");
      conclude(s, o, "why");
      expect(s.exitCode).toBe(outcomes[o].exitCode);
      expect(headline(s)).toContain(outcomes[o].headline);
      expect(failureIssueFor(s) !== undefined, o).toBe(outcomes[o].failure);
    }
  });

  it("a usage error, a bad config, a held lock or a cancel never opens a failure issue", () => {
    for (const o of ["usage", "invalid-config", "lock-held", "cancelled", "blocked"] as const) {
      const s = newSummary("rollback", "production");
      conclude(s, o);
      expect(failureIssueFor(s), o).toBeUndefined();
    }
  });

  it("the README's exit-code table is the one derived from the outcomes", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    expect(readme).toContain(exitCodeTable());
  });
});
