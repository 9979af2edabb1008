// The same component with docker-compose v1 (containers named project_service_1, no
// `ps --format`), and switching one project between the two tools.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awarenessProgram } from "../../components/program.js";
import { tempStack, type TempStack } from "../support/engine.js";
import { applySandboxStackConfig, type SandboxStackOptions } from "../../automation/sandbox/target.js";
import { clearCorner, get, onHost, runningOnHost, sha256, target, testCorner } from "./components-support.js";

const corner = testCorner("components-v1", { backend: 28180, frontend: 28181 });
const quiet = { onOutput: () => {} };
// A secret with everything an env file can get wrong: quotes, $, #, inner and trailing spaces.
const tricky = "it's $HOME #not-a-comment  x ";
const secretEnv = { TRICKY: tricky };

/** The value a running container really got. */
function envInContainer(container: string, name: string): string {
  const line = onHost(`docker exec ${container} env`).split("\n").find((l) => l.startsWith(`${name}=`));
  return line === undefined ? "<unset>" : line.slice(name.length + 1);
}
let ts: TempStack;

async function deploy(releaseId: string, opts: SandboxStackOptions) {
  await applySandboxStackConfig(ts.engine, target, releaseId, { ...corner, ...opts });
  const started = Date.now();
  const { outputs } = await ts.stack.up(quiet);
  return { release: outputs.release!.value as { id: string; images: Record<string, string>; composeSha256: string }, seconds: (Date.now() - started) / 1000 };
}

beforeAll(async () => {
  clearCorner(corner);
  ts = await tempStack(awarenessProgram);
});

afterAll(async () => {
  try {
    await ts?.stack.destroy(quiet);
  } finally {
    await ts?.cleanup();
    clearCorner(corner);
  }
});

describe("RemoteComposeStack with docker-compose v1", () => {
  it("a first deploy that never starts leaves nothing running and no release files", async () => {
    await applySandboxStackConfig(ts.engine, target, "v5", { ...corner, composeCommand: "docker-compose" });
    const error = await ts.stack.up(quiet).then(
      () => "",
      (err: { stderr?: string }) => String(err.stderr ?? err),
    );
    expect(error).toMatch(/release v5 did not start: service backend/);
    expect(error).toContain("there was no previous release: the new containers were stopped (volumes kept)");
    expect(Object.values(runningOnHost(corner.composeProject)).filter((c) => c.state === "running")).toEqual([]);
    // No release files: only the staging dir and the switch's own lock file are left.
    expect(onHost(`ls -1a ${corner.appDir} | grep -v '^\\.\\.\\?$' | grep -v '^\\.staging$' | grep -v '^\\.switch\\.lock$' || true`).trim()).toBe("");
  });

  it("deploys v1: containers named project_service_1 run v1's digests", async () => {
    const { release, seconds } = await deploy("v1", { composeCommand: "docker-compose", secretEnv });
    console.log(`deploy v1 (first, docker-compose v1): ${seconds.toFixed(1)} s`);
    expect(release.images).toEqual(target.releases.v1);
    const running = runningOnHost(corner.composeProject);
    expect(running.backend).toEqual({ image: target.releases.v1!.backend, state: "running", name: `${corner.composeProject}_backend_1` });
    expect(running.frontend).toEqual({ image: target.releases.v1!.frontend, state: "running", name: `${corner.composeProject}_frontend_1` });
    expect(sha256(onHost(`cat ${corner.appDir}/docker-compose.yml`))).toBe(release.composeSha256);
    expect(await get(corner.ports.backend, "/api/version")).toMatchObject({ status: 200, body: expect.stringContaining('"v1"') });
    expect(envInContainer(`${corner.composeProject}_backend_1`, "TRICKY")).toBe(tricky);
  });

  it("switches to v3 and fails v5 back to v3", async () => {
    const { seconds } = await deploy("v3", { composeCommand: "docker-compose", secretEnv });
    console.log(`deploy v1 -> v3 (docker-compose v1): ${seconds.toFixed(1)} s`);
    expect(runningOnHost(corner.composeProject).backend!.image).toBe(target.releases.v3!.backend);
    await applySandboxStackConfig(ts.engine, target, "v5", { ...corner, composeCommand: "docker-compose", secretEnv });
    const error = await ts.stack.up(quiet).then(
      () => "",
      (err: { stderr?: string }) => String(err.stderr ?? err),
    );
    expect(error).toMatch(/release v5 did not start: service backend: container (restarting|exited)/);
    expect(runningOnHost(corner.composeProject).backend).toMatchObject({ image: target.releases.v3!.backend, state: "running" });
    expect(await get(corner.ports.backend, "/api/version")).toMatchObject({ status: 200, body: expect.stringContaining('"v3"') });
  });

  it("the same project moves from v1 to compose v2 (containers recreated under v2 names)", async () => {
    const { release } = await deploy("v3", { composeCommand: "docker compose", secretEnv });
    expect(release.images).toEqual(target.releases.v3);
    const running = runningOnHost(corner.composeProject);
    expect(running.backend).toEqual({ image: target.releases.v3!.backend, state: "running", name: `${corner.composeProject}-backend-1` });
    expect(JSON.parse(onHost(`cat ${corner.appDir}/deployment.json`)).current.composeCommand).toBe("docker compose");
    expect(envInContainer(`${corner.composeProject}-backend-1`, "TRICKY")).toBe(tricky);
  });
});
