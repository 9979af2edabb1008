// The per-stage breakdown of every run: each stage in order with its duration and how it ended
// (done, ended the run, failed), in the summary (the JSON report) and as a Markdown table.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../automation/report/markdown.js";
import type { RunDeps } from "../../automation/stages/deps.js";
import { newContext, runStages, stage, stop, type RunContext } from "../../automation/stages/run.js";

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const context = () => newContext<RunContext>("deploy", { stackName: "sandbox", deps: {} as RunDeps, log: quiet }, {});

describe("the per-stage breakdown", () => {
  it("records every stage the run went through, in order, with its duration and how it ended", async () => {
    const s = await runStages(context(), [
      stage("lock", async () => {}),
      stage("prechecks", async () => {
        await sleep(120);
      }),
      stage("preview", async () => stop("blocked", "the policy refused a replace")),
      stage("up", async () => {
        throw new Error("never reached");
      }),
    ]);
    expect(s.outcome).toBe("blocked");
    expect(s.stages!.map(({ stage: name, result }) => [name, result])).toEqual([
      ["lock", "done"],
      ["prechecks", "done"],
      ["preview", "ended"],
    ]);
    expect(s.stages![1]!.ms).toBeGreaterThanOrEqual(110);
    expect(s.stages![0]!.ms).toBeLessThan(s.stages![1]!.ms);
  });

  it("marks the stage that threw as failed, and the run's report shows the breakdown as a table with shares", async () => {
    const s = await runStages(context(), [
      stage("lock", async () => {
        await sleep(30);
      }),
      stage("up", async () => {
        await sleep(90);
        throw new Error("the engine failed");
      }),
    ]);
    expect(s.outcome).toBe("error");
    expect(s.stages!.map((t) => t.result)).toEqual(["done", "failed"]);
    const md = renderMarkdown(s);
    const section = md.slice(md.indexOf("### Stages"));
    expect(section).toMatch(/\| lock \| \d+ ms \| \d+ % \| done \|/);
    expect(section).toMatch(/\| up \| \d+ ms \| \d+ % \| ❌ failed \|/);
    expect(section).toMatch(/\| \*\*all stages\*\* \| \d+ ms \| 100 % \|/);
    const shares = [...section.matchAll(/\| (?:lock|up) \| \d+ ms \| (\d+) %/g)].map((m) => Number(m[1]));
    expect(shares[1]).toBeGreaterThan(shares[0]!);
    expect(shares[0]! + shares[1]!).toBeGreaterThanOrEqual(99);
  });
});
