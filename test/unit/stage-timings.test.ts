// The per-stage breakdown of every run: each stage in order with its duration and how it ended
// (done, ended the run, failed), in the summary (the JSON report) and as a Markdown table.
import { setTimeout as sleep } from "node:timers/promises";
import type { EngineEvent } from "@pulumi/pulumi/automation/index.js";
import { describe, expect, it, vi } from "vitest";
import { renderMarkdown } from "../../automation/report/markdown.js";
import type { RunDeps } from "../../automation/stages/deps.js";
import { newContext, runStages, stage, stop, type RunContext } from "../../automation/stages/run.js";
import { UpPhaseRecorder } from "../../automation/stages/up-phases.js";

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

describe("the breakdown inside an up (stages/up-phases.ts)", () => {
  const urn = (name: string) => `urn:pulumi:sandbox::awareness::awareness:deploy:RemoteComposeStack$command:remote:Command::${name}`;
  const pre = (name: string, op = "update") =>
    ({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { urn: urn(name), type: "command:remote:Command", op } } }) as unknown as EngineEvent;
  const done = (name: string, stderr = "") =>
    ({ sequence: 0, timestamp: 0, resOutputsEvent: { metadata: { urn: urn(name), type: "command:remote:Command", op: "update", new: { outputs: { stderr } } } } }) as unknown as EngineEvent;
  const line = (name: string, message: string) =>
    ({ sequence: 0, timestamp: 0, diagnosticEvent: { urn: urn(name), message, severity: "info", ephemeral: true } }) as unknown as EngineEvent;

  const hostClock = 1_795_000_000_000;

  /** Feeds events at the given times of this machine's clock (ms); returns the phases at `end`. */
  function phasesOf(timeline: [at: number, event: EngineEvent][], end: number) {
    const clock = vi.spyOn(performance, "now").mockReturnValue(0);
    try {
      const recorder = new UpPhaseRecorder();
      for (const [at, event] of timeline) {
        clock.mockReturnValue(at);
        recorder.onEvent(event);
      }
      return recorder.phases(end);
    } finally {
      clock.mockRestore();
    }
  }

  it("splits the up into engine start, each pull, the switch's phases on the host's clock, and the engine's finish", () => {
    const host = (phase: string, ms: number) => `awareness-switch-phase ${phase} ${hostClock + ms}`;
    const phases = phasesOf(
      [
        [2000, pre("awareness-sandbox-pull-backend")],
        [2100, pre("awareness-sandbox-pull-frontend")],
        [2600, done("awareness-sandbox-pull-frontend")],
        [3000, done("awareness-sandbox-pull-backend")],
        [3100, pre("awareness-sandbox-switch")],
        [3300, line("awareness-sandbox-switch", host("begin", 50_000))],
        [3400, line("awareness-sandbox-switch", host("images", 50_100))],
        [3500, line("awareness-sandbox-switch", `${host("backup", 50_400)}\n${host("start", 51_400)}`)],
        [6000, line("awareness-sandbox-switch", host("wait", 53_900))],
        [6100, done("awareness-sandbox-switch", `${host("begin", 1)}\n${host("record", 53_950)}\n`)],
      ],
      7000,
    );
    expect(phases).toEqual([
      { phase: "engine start (program, plugins, plan)", ms: 2000 },
      { phase: "pull backend (sandbox)", ms: 1000 },
      { phase: "pull frontend (sandbox)", ms: 500 },
      // 3000 ms seen by the engine, 3950 of them on the host: the earlier begin is kept, the later one ignored.
      { phase: "switch: ssh and engine (sandbox)", ms: 0 },
      { phase: "switch: stage files, check images (sandbox)", ms: 100 },
      { phase: "switch: back up (sandbox)", ms: 300 },
      { phase: "switch: compose up (sandbox)", ms: 1000 },
      { phase: "switch: wait running/healthy (sandbox)", ms: 2500 },
      { phase: "switch: write the record (sandbox)", ms: 50 },
      { phase: "engine finish", ms: 900 },
    ]);
  });

  it("an up that ran no step is one engine phase; a switch that stopped early shows the phases it reached", () => {
    expect(phasesOf([], 1500)).toEqual([{ phase: "engine (no step ran)", ms: 1500 }]);
    const early = phasesOf(
      [
        [1000, pre("awareness-sandbox-switch")],
        [1200, line("awareness-sandbox-switch", `awareness-switch-phase begin ${hostClock + 10_000}`)],
        [1300, line("awareness-sandbox-switch", `awareness-switch-phase images ${hostClock + 10_100}`)],
        // A host whose date has no %N prints no milliseconds: not read as a time.
        [1400, line("awareness-sandbox-switch", "awareness-switch-phase backup 1795000010%3N")],
      ],
      4000,
    );
    expect(early.map((p) => p.phase)).toEqual([
      "engine start (program, plugins, plan)",
      "switch: ssh and engine (sandbox)",
      "switch: stage files, check images (sandbox)",
      "engine finish",
    ]);
    expect(early[1]!.ms).toBe(2900); // 3000 ms in the switch, 100 of them accounted for on the host
  });

  it("the report lists an up's phases under its stage, outside the total", () => {
    const md = renderMarkdown({
      ...context().summary,
      outcome: "deployed-verified",
      stages: [
        { stage: "preview", ms: 1000, result: "done" },
        { stage: "up", ms: 3000, result: "done" },
      ],
      up: { result: "succeeded", durationMs: 3000, phases: [{ phase: "engine start (program, plugins, plan)", ms: 1200 }] },
    });
    expect(md).toMatch(/\| up \| 3(\.0)? s \| 75 % \| done \|\n\| ↳ engine start \(program, plugins, plan\) \| 1\.2 s \| 30 % \| {2}\|/);
    expect(md).toMatch(/\*\*all stages\*\* \| 4(\.0)? s \| 100 %/);
  });
});
