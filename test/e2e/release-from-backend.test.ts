// The live release comes from the backend, and no run writes the project's files. Two project
// dirs stand for two clones of the same commit (Pulumi.yaml and Pulumi.<stack>.yaml with its
// encryption salt and `secure:` values, no release data), sharing one file backend. v1 is
// deployed from clone A; a deploy from clone B that names no image must take v1's images from
// the backend (B's files have none to give) and deploy them as a new release id, on the real
// host. Neither clone's files change by a byte.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awarenessProgram } from "../../components/program.js";
import { deploy } from "../../automation/commands/deploy.js";
import { status } from "../../automation/commands/status.js";
import { repoRoot } from "../../automation/common/process.js";
import type { RunSummary } from "../../automation/report/summary.js";
import { openEngine } from "../../automation/runner.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { realDeps, type RunDeps } from "../../automation/stages/deps.js";
import { releaseKey } from "../../automation/stages/releases.js";
import * as hc from "../../components/host-commands/index.js";
import { e2eLog } from "../support/driver.js";
import { testEngineEnv } from "../support/plugins.js";
import { clearCorner, get, onHost, runningOnHost, target, testCorner } from "./components-support.js";

const corner = testCorner("from-backend", { backend: 19680, frontend: 19681 });
const layout: hc.HostLayout = { appDir: corner.appDir, composeProject: corner.composeProject, composeCommand: "docker compose" };
const stackName = `test-from-backend-${process.pid}`;
const stackFile = `Pulumi.${stackName}.yaml`;
const log = e2eLog("e2e-release-from-backend");
const explain = (s: RunSummary) => JSON.stringify({ outcome: s.outcome, messages: s.messages, release: s.release }, null, 1);

let root: string;
let cloneA: string;
let cloneB: string;
let depsOf: (clone: string) => RunDeps;

/** Every file of a clone's dir with its content hash: a run that wrote or added anything shows. */
const filesOf = (dir: string) =>
  Object.fromEntries(readdirSync(dir).map((f) => [f, createHash("sha256").update(readFileSync(join(dir, f))).digest("hex")]));

const hostRecord = () => hc.parseDeploymentStatus(onHost(hc.readDeploymentStatus(layout)), "the sandbox")!;

beforeAll(async () => {
  clearCorner(corner);
  root = await mkdtemp(join(tmpdir(), "awareness-from-backend-"));
  const backendUrl = `file://${join(root, "state")}`;
  [cloneA, cloneB] = [join(root, "clone-a"), join(root, "clone-b")];
  for (const dir of [join(root, "state"), cloneA, cloneB]) mkdirSync(dir);
  const envVars = await testEngineEnv();
  // The operator's settings, as committed: written once in clone A (salt, secure values), the
  // release removed, then the same two files in clone B.
  copyFileSync(join(repoRoot, "Pulumi.yaml"), join(cloneA, "Pulumi.yaml"));
  const settings = await openEngine({ stackName, mode: "create", program: awarenessProgram, workDir: cloneA, backendUrl, envVars, log });
  await applySandboxStackConfig(settings, target, "v1", corner);
  await settings.removeConfig([releaseKey]);
  for (const f of ["Pulumi.yaml", stackFile]) copyFileSync(join(cloneA, f), join(cloneB, f));
  depsOf = (clone) => realDeps({ workDir: clone, backendUrl, envVars });
});

afterAll(async () => {
  clearCorner(corner);
  if (root) await rm(root, { recursive: true, force: true });
});

describe("the live release comes from the backend; no run writes the project's files", () => {
  it("the committed settings hold secrets (encrypted) and no release", () => {
    const text = readFileSync(join(cloneA, stackFile), "utf8");
    expect(text).toMatch(/^encryptionsalt: /m);
    expect(text).toMatch(/awareness:sshPrivateKey:\s+secure: /);
    expect(text).not.toContain(releaseKey);
    expect(filesOf(cloneB)).toEqual(filesOf(cloneA));
  });

  it("v1 deployed from clone A, then clone B deploys with no image named: v1's images again, as a new release; neither clone changed", async () => {
    const before = { a: filesOf(cloneA), b: filesOf(cloneB) };
    const base = { stackName, log, skipCiCheck: true, allowDirty: true };

    const v1 = await deploy({ ...base, deps: depsOf(cloneA), releaseId: "v1", images: target.releases.v1 });
    expect(v1.outcome, explain(v1)).toBe("deployed-verified");
    expect(runningOnHost(corner.composeProject).backend?.image).toBe(target.releases.v1!.backend);

    // Clone B's files name no image: a release built from them alone is refused (usage error).
    const again = await deploy({ ...base, deps: depsOf(cloneB), releaseId: "v1-again", gitSha: "b".repeat(40) });
    expect(again.outcome, explain(again)).toBe("deployed-verified");
    expect(again.release).toMatchObject({ id: "v1-again", gitSha: "b".repeat(40), images: target.releases.v1 });

    // The host runs v1's images under the new id: its record, its containers, what the app answers.
    expect(hostRecord().current).toMatchObject({ id: "v1-again", images: target.releases.v1 });
    expect(hostRecord().verified?.id).toBe("v1-again");
    const running = runningOnHost(corner.composeProject);
    for (const [service, image] of Object.entries(target.releases.v1!)) expect(running[service]).toMatchObject({ image, state: "running" });
    const version = await get(corner.ports.backend, "/api/version");
    expect(JSON.parse(version.body)).toMatchObject({ version: "v1" });

    // Status from clone A shows the live release B deployed (the backend's, not A's files).
    const { report } = await status({ stackName, deps: depsOf(cloneA), log });
    expect((report?.current as { id?: string } | undefined)?.id).toBe("v1-again");
    expect(report?.lastVerified?.id).toBe("v1-again");

    expect({ a: filesOf(cloneA), b: filesOf(cloneB) }).toEqual(before);
  });

  it("a first deploy of a stack with no live release and no image named is a usage error, before anything runs", async () => {
    const fresh = `${stackName}-first`;
    const dir = join(root, "clone-first");
    mkdirSync(dir);
    for (const f of ["Pulumi.yaml", stackFile]) copyFileSync(join(cloneA, f), join(dir, f === stackFile ? `Pulumi.${fresh}.yaml` : f));
    const before = filesOf(dir);
    const s = await deploy({ stackName: fresh, log, skipCiCheck: true, allowDirty: true, deps: depsOf(dir), releaseId: "v1-first" });
    expect(s.outcome, explain(s)).toBe("usage");
    expect(s.exitCode).toBe(2);
    expect(s.messages.join(" ")).toMatch(/no live release in its backend.*--image backend=<ref> --image frontend=<ref>/);
    expect(filesOf(dir)).toEqual(before);
    expect(hostRecord().current?.id).toBe("v1-again");
  });
});
