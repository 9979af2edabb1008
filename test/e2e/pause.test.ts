// "On failure: pause" end to end: the real engine, the real sandbox host, real HTTP probes.
// v2 (its /api/auth/status answers 500) fails its watch and is held live, marked paused in the
// host's deployment.json, while the deploy waits; `promote` (the real command, beside it) keeps
// it verified, and a pause nobody decides ends at its timeout with the rollback to v1.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { promote } from "../../automation/commands/decide.js";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { status } from "../../automation/commands/status.js";
import { ExitCode, type RunSummary } from "../../automation/report/summary.js";
import { renderStatus } from "../../automation/report/status-text.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { driverStack, type DriverStack, e2eLog } from "../support/driver.js";
import { clearCorner, get, onHostAsync, runningOnHost, target, testCorner } from "./components-support.js";

const corner = testCorner("pause", { backend: 19380, frontend: 19381 });
const stackName = `test-pause-${process.pid}`;
const quiet = e2eLog("e2e-pause");
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;

interface HostRecord {
  current: { id: string; images: Record<string, string> } | null;
  verified: { id: string } | null;
  failed: { id: string; reason: string } | null;
  paused: { id: string; reason: string; deadline: string; promote: string; abort: string } | null;
}

const hostRecord = async (): Promise<HostRecord> => JSON.parse(await onHostAsync(`cat ${corner.appDir}/deployment.json`)) as HostRecord;

async function liveVersion(): Promise<string> {
  const r = await get(corner.ports.backend, "/api/version");
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : "down";
}

const release = (id: string, extra: Partial<DeployRequest> = {}) => deploy({ ...base, releaseId: id, images: target.releases[id], ...extra });

/** Awaits the host's deployment.json marking `id` paused (what an operator would look at), or the run ending first. */
async function pausedOnHost(id: string, run: Promise<RunSummary>, withinMs = 120_000): Promise<HostRecord> {
  let ended = false;
  void run.then(() => (ended = true));
  const until = Date.now() + withinMs;
  while (Date.now() < until && !ended) {
    const record = await hostRecord().catch(() => undefined);
    if (record?.paused?.id === id) return record;
    await new Promise((r) => setTimeout(r, 200));
  }
  const s = await Promise.race([run, Promise.resolve(undefined)]);
  throw new Error(`${id} was never paused on the host: ${s ? `${s.outcome}: ${s.messages.join(" / ")}` : "timed out"}`);
}

const explain = (s: RunSummary) => JSON.stringify({ outcome: s.outcome, messages: s.messages, pause: s.pause }, null, 1);

beforeAll(async () => {
  clearCorner(corner);
  ds = await driverStack(stackName, quiet);
  // The sandbox's watch: 4 s, a round every 0.5 s; a short poll keeps the waits short.
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet, onFailure: "pause", pausePollMs: 250 };
  await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
});

afterAll(async () => {
  clearCorner(corner);
  await ds?.cleanup();
});

describe("pause on a failed verdict", () => {
  it("v1 is deployed and verified", async () => {
    const s = await release("v1");
    expect(s.outcome, explain(s)).toBe("deployed-verified");
  });

  it("v2 fails its watch and is paused, live; `promote` beside it keeps v2: promoted (exit 0), verified on the host, its containers run", async () => {
    const run = release("v2", { pauseTimeoutSeconds: 300 });
    const held = await pausedOnHost("v2", run);
    expect(held.current?.id).toBe("v2");
    expect(held.verified?.id).toBe("v1");
    expect(held.failed?.id).not.toBe("v2");
    expect(held.paused).toMatchObject({
      reason: expect.stringContaining("v2 failed its health check"),
      promote: `npm run driver -- promote --stack ${stackName} --release v2 --reason "<why>"`,
    });
    expect(await liveVersion()).toBe("v2");
    const shown = renderStatus((await status({ stackName, deps: ds.deps, log: quiet })).report!);
    expect(shown).toMatch(/PAUSED: +v2 since .* until /);

    const decided = await promote({ stackName, deps: ds.deps, log: quiet, release: "v2", reason: "the auth probe is known broken; users are fine" });
    expect(decided.outcome, explain(decided)).toBe("ok");
    const s = await run;
    expect(s.outcome, explain(s)).toBe("promoted");
    expect(s.exitCode).toBe(ExitCode.Ok);
    expect(s.pause?.decision).toMatchObject({ action: "promote", reason: "the auth probe is known broken; users are fine", byTimeout: false });
    const after = await hostRecord();
    expect(after.current?.id).toBe("v2");
    expect(after.verified?.id).toBe("v2");
    expect(after.paused).toBeNull();
    expect(await liveVersion()).toBe("v2");
    const running = runningOnHost(corner.composeProject);
    expect(Object.values(running).every((c) => c.state === "running")).toBe(true);
    expect(Object.fromEntries(Object.entries(running).map(([svc, c]) => [svc, c.image]))).toEqual(after.current!.images);
  });

  it("a pause nobody decides ends at its timeout: abort (the default), rolled back, the host runs v1 again", async () => {
    expect((await release("v1")).outcome).toBe("deployed-verified");
    const started = Date.now();
    const run = release("v2", { pauseTimeoutSeconds: 3 });
    expect((await pausedOnHost("v2", run)).paused?.id).toBe("v2");
    const s = await run;
    expect(s.outcome, explain(s)).toBe("rolled-back");
    expect(s.exitCode).toBe(ExitCode.FailedRolledBack);
    expect(s.pause?.decision).toMatchObject({ action: "abort", by: "the pause timeout", byTimeout: true });
    expect(s.rollback?.reason).toMatch(/^the pause timeout decided abort/);
    expect(Date.parse(s.pause!.deadline) - Date.parse(s.pause!.pausedAt)).toBe(3_000);
    expect(Date.now() - started).toBeGreaterThan(3_000);
    const after = await hostRecord();
    expect(after).toMatchObject({ current: { id: "v1" }, verified: { id: "v1" }, failed: { id: "v2" }, paused: null });
    expect(await liveVersion()).toBe("v1");
  });
});
