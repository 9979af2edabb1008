// The driver's host door for backup sets and the failed record: the command each call runs
// (exactly the builder's), and what it makes of the host's answer.
import { describe, expect, it } from "vitest";
import { HostCommandError, HostOps } from "../../automation/host/operations.js";
import * as hc from "../../components/host-commands/index.js";
import { FakeExec } from "../support/fake-host.js";

const layout: hc.HostLayout = { appDir: "/opt/awareness", composeProject: "awareness", composeCommand: "docker compose" };
const record = `{"id":"v1","gitSha":null,"images":{"backend":"r@sha256:${"1".repeat(64)}"},"composeSha256":"${"c".repeat(64)}","composeCommand":"docker compose","deployedAt":"2026-11-27T06:00:00Z"}`;
const manifest = `{  "schema": 1,  "set": "20261127T070000Z-v1",  "backedUpAt": "2026-11-27T07:00:00Z",  "release": ${record},  "composeSha256": "${"c".repeat(64)}",  "files": ["docker-compose.yml",".env","deployment.json"]}`;

describe("HostOps: backup sets", () => {
  it("lists the sets, a set without a readable manifest with its problem", async () => {
    const exec = new FakeExec("deploy@h:22").respond(hc.listBackupSets(layout), {
      stdout:
        `20261127T070000Z-v1\t${manifest}\t.env deployment.json docker-compose.yml manifest.json \t${"c".repeat(64)}\n20261127T080000Z-v2\tnull\tdocker-compose.yml \t${"d".repeat(64)}\n` +
        `20261127T090000Z-v3\t{"schema":2}\t\t\n20261127T100000Z-v1\t${manifest.replace("070000Z", "100000Z")}\t.env deployment.json docker-compose.yml manifest.json \t${"e".repeat(64)}\n` +
        `20261127T110000Z-v1\t${manifest.replace("070000Z", "110000Z")}\tdocker-compose.yml manifest.json \t${"c".repeat(64)}\n`,
    });
    const sets = await new HostOps(exec, layout).backupSets();
    expect(exec.commands).toEqual([hc.listBackupSets(layout)]);
    expect(sets).toEqual([
      {
        name: "20261127T070000Z-v1",
        path: "/opt/awareness/backups/20261127T070000Z-v1",
        manifest: expect.objectContaining({ release: JSON.parse(record), backedUpAt: "2026-11-27T07:00:00Z" }),
        releaseId: "v1",
        files: [".env", "deployment.json", "docker-compose.yml", "manifest.json"],
      },
      { name: "20261127T080000Z-v2", path: "/opt/awareness/backups/20261127T080000Z-v2", manifest: null, files: ["docker-compose.yml"], problem: "no manifest.json" },
      expect.objectContaining({ name: "20261127T090000Z-v3", manifest: null, problem: expect.stringMatching(/manifest\.json is not a valid manifest: .*schema/) }),
      // A compose file that is not the one the manifest recorded; files the manifest names that are gone.
      expect.objectContaining({ name: "20261127T100000Z-v1", releaseId: "v1", problem: `its docker-compose.yml has sha256 ${"e".repeat(12)}…, its manifest.json says ${"c".repeat(12)}… (the file is damaged or was edited)` }),
      expect.objectContaining({ name: "20261127T110000Z-v1", releaseId: "v1", problem: ".env, deployment.json named in its manifest.json are missing" }),
    ]);
  });

  it("restores a set by name and reads its summary; a failure keeps the host's words", async () => {
    const args = { set: "20261127T070000Z-v1", retainSets: 5, startTimeoutSeconds: 90, stableChecks: 2 };
    const command = hc.restoreBackupSet({ ...args, layout });
    const summary = { restored: "backups/20261127T070000Z-v1", release: "v1", backup: "backups/20261127T100000Z-v2", deployedAt: "2026-11-27T10:00:00Z" };
    const exec = new FakeExec("deploy@h:22").respond(command, { stdout: `the previous release was brought up again\n${JSON.stringify(summary)}\n` });
    // A summary of an older host has no "volumes": none were put back.
    expect(await new HostOps(exec, layout).restoreBackupSet(args)).toEqual({ ...summary, volumes: [] });
    expect(exec.commands).toEqual([command]);
    exec.respond(command, { code: 1, stderr: "the restored release v1 did not start: service backend: container exited (exit code 1, restarts 0)\n" });
    const error = await new HostOps(exec, layout).restoreBackupSet(args).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostCommandError);
    expect((error as Error).message).toBe(
      "restoring backup set 20261127T070000Z-v1 failed on deploy@h:22 (exit 1):\nthe restored release v1 did not start: service backend: container exited (exit code 1, restarts 0)",
    );
  });

  it("records a failed release with the verdict as its reason", async () => {
    const exec = new FakeExec("deploy@h:22");
    await new HostOps(exec, layout).markFailed("v2", "3 failed rounds in a row");
    expect(exec.commands).toEqual([hc.markReleaseFailed(layout, "v2", "3 failed rounds in a row")]);
  });
});

describe("HostOps: the registry check", () => {
  const refs = [`ghcr.io/acme/app/backend@sha256:${"a".repeat(64)}`];
  const login = { server: "ghcr.io", username: "acme-deploy-bot", password: "ghp_secret-token" };

  it("logs the host's docker in first when the stack has registryAuth, the password on stdin only", async () => {
    const exec = new FakeExec("deploy@h:22").respond(hc.registryHasImages(refs), { stdout: `present ${refs[0]}\n` });
    expect(await new HostOps(exec, layout).registryCheck(refs, login)).toMatchObject({ missing: [] });
    expect(exec.commands).toEqual([hc.registryLogin(login), hc.registryHasImages(refs)]);
    expect(exec.stdins).toEqual([login.password, undefined]);
    expect(exec.commands.join("\n")).not.toContain(login.password);
  });

  it("a failed login fails the check (a private registry would answer 'not found' to everything); without registryAuth no login", async () => {
    const exec = new FakeExec("deploy@h:22").respond("docker login", { code: 1, stderr: "docker login to ghcr.io failed\n" });
    const error = await new HostOps(exec, layout).registryCheck(refs, login).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostCommandError);
    expect((error as Error).message).toMatch(/^logging in to ghcr.io failed on deploy@h:22 \(exit 1\)/);
    expect(exec.commands).toHaveLength(1);
    const anonymous = new FakeExec("deploy@h:22");
    await new HostOps(anonymous, layout).registryCheck(refs);
    expect(anonymous.commands).toEqual([hc.registryHasImages(refs)]);
  });
});
