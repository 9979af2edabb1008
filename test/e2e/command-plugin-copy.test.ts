// command:remote:CopyToRemote through the real engine and a real sshd/SFTP server, checked
// against the facts' rows C01–C09: where files land for each source kind, when an update
// copies again (source content or remotePath changed, not a connection change), replacement
// on triggers, delete leaving remote files, and the error texts.
// These are the test-only plugin's own tests: they run its binary even where the official plugin
// is installed (test/support/plugins.ts "test-only"), its deliberate deviations included.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as command from "@pulumi/command";
import type * as commandTypes from "@pulumi/command/types/input.js";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempStack, type TempStack } from "../support/engine.js";
import { errorsOf, runStep, stateResources, type StepResult } from "../support/plugin-steps.js";
import { startSshd, type SshEndpoint, type SshdFixture } from "../support/sshd-fixture.js";

let sshd: SshdFixture;
let t: TempStack | undefined;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  if (t) {
    await runStep(t.stack, "destroy").catch(() => undefined);
    await t.cleanup();
  }
  await sshd?.stop();
});

function conn(endpoint: SshEndpoint, extra: Partial<commandTypes.remote.ConnectionArgs> = {}) {
  return { host: endpoint.host, port: endpoint.port, privateKey: sshd.clientKey, ...extra };
}

function expectOk(step: StepResult): void {
  expect(step.error, `step failed: ${errorsOf(step).join("\n")}`).toBe("");
}

function errorOf(step: StepResult, resource: string): string | undefined {
  return errorsOf(step).find((e) => e.startsWith(`${resource}: `))?.slice(resource.length + 2);
}

/** A file's content on the "remote" side (the sshd runs on this machine), or null. */
function remoteFile(path: string): string | null {
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}

function write(path: string, content: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, content);
}

describe("command:remote:CopyToRemote (test-only plugin, real engine, real SFTP)", () => {
  it("C01–C07 copies, re-copies only on content or path changes, replaces on triggers, never deletes", async () => {
    t = await tempStack(async () => ({}), { commandPlugin: "test-only" });
    const local = join(t.dir, "local");
    const remote = join(t.dir, "remote");
    write(join(local, "f.txt"), "v1\n");
    write(join(local, "src", "x.txt"), "x1\n");
    write(join(local, "src", "sub", "y.txt"), "y1\n");
    write(join(local, "src3", "x.txt"), "x\n");
    write(join(local, "src3", "sub", "y.txt"), "y\n");
    write(join(local, "t.txt"), "t\n");
    write(join(local, "conn.txt"), "c\n");
    write(join(local, "p.txt"), "p\n");
    write(join(local, "g.txt"), "g\n");
    execFileSync("tar", ["-cf", join(local, "a.tar"), "-C", local, "g.txt"]);
    mkdirSync(join(remote, "existing"), { recursive: true });
    mkdirSync(join(remote, "tar"), { recursive: true });
    write(join(remote, "afile"), "i am a file\n");

    const program = (step: 1 | 2) => async () => {
      const copy = (name: string, args: Omit<command.remote.CopyToRemoteArgs, "connection">, endpoint = sshd.probeOnly) =>
        new command.remote.CopyToRemote(name, { connection: conn(endpoint), ...args });
      copy("cp1", { source: new pulumi.asset.FileAsset(join(local, "f.txt")), remotePath: join(remote, "a/b/f.txt") });
      copy("cp2", { source: new pulumi.asset.FileArchive(join(local, "src")), remotePath: join(remote, "d1") });
      copy("cp3", { source: new pulumi.asset.FileArchive(`${join(local, "src3")}/`), remotePath: join(remote, "d2") });
      copy("cp4", {
        source: new pulumi.asset.FileAsset(join(local, "t.txt")),
        remotePath: join(remote, "t.txt"),
        triggers: [step],
      });
      copy(
        "cp5",
        { source: new pulumi.asset.FileAsset(join(local, "conn.txt")), remotePath: join(remote, "conn.txt") },
        step === 1 ? sshd.probeOnly : sshd.withCommandEnv,
      );
      copy("cp6", {
        source: new pulumi.asset.FileAsset(join(local, "p.txt")),
        remotePath: join(remote, step === 1 ? "p1.txt" : "p2.txt"),
      });
      copy("str", { source: new pulumi.asset.StringAsset("hello-string\n"), remotePath: join(remote, "s/str.txt") });
      copy("intodir", { source: new pulumi.asset.FileAsset(join(local, "g.txt")), remotePath: join(remote, "existing") });
      copy("tar", { source: new pulumi.asset.FileArchive(join(local, "a.tar")), remotePath: join(remote, "tar") });
    };

    const first = await runStep(t.stack, "up", program(1));
    expectOk(first);
    expect(remoteFile(join(remote, "a/b/f.txt"))).toBe("v1\n"); // parent dirs created
    expect(remoteFile(join(remote, "d1/src/x.txt"))).toBe("x1\n"); // dir without "/": remotePath/<dirname>/...
    expect(remoteFile(join(remote, "d1/src/sub/y.txt"))).toBe("y1\n");
    expect(remoteFile(join(remote, "d2/x.txt"))).toBe("x\n"); // dir with "/": its contents
    expect(remoteFile(join(remote, "d2/sub/y.txt"))).toBe("y\n");
    expect(remoteFile(join(remote, "t.txt"))).toBe("t\n");
    expect(remoteFile(join(remote, "conn.txt"))).toBe("c\n");
    expect(remoteFile(join(remote, "p1.txt"))).toBe("p\n");
    expect(remoteFile(join(remote, "s/str.txt"))).toBe("hello-string\n");
    expect(remoteFile(join(remote, "existing/g.txt"))).toBe("g\n"); // file into an existing dir
    expect(readFileSync(join(remote, "tar/a.tar"))).toEqual(readFileSync(join(local, "a.tar"))); // not unpacked
    const state = await stateResources(t.stack);
    expect(state.cp1?.id).toMatch(/^[0-9a-f]{8}$/);
    // Outputs = inputs: no stdout/stderr.
    expect(Object.keys(state.cp1!.outputs).sort()).toEqual(["connection", "remotePath", "source"]);

    // C01.2/C04.2/C05.2: remote files deleted behind the engine's back.
    rmSync(join(remote, "a/b/f.txt"));
    rmSync(join(remote, "t.txt"));
    rmSync(join(remote, "conn.txt"));
    write(join(local, "src", "x.txt"), "x2\n");
    write(join(local, "src", "z.txt"), "z\n");
    const second = await runStep(t.stack, "up", program(2));
    expectOk(second);
    expect(second.ops.cp1).toEqual(["same"]);
    expect(remoteFile(join(remote, "a/b/f.txt"))).toBeNull(); // same inputs: nothing copied
    expect(second.ops.cp2).toEqual(["update"]);
    expect(second.diffs.cp2).toEqual({ source: "update" });
    expect(remoteFile(join(remote, "d1/src/x.txt"))).toBe("x2\n");
    expect(remoteFile(join(remote, "d1/src/z.txt"))).toBe("z\n");
    expect(second.ops.cp4).toEqual(["create-replacement", "replace", "delete-replaced"]);
    expect(second.diffs.cp4).toEqual({ "triggers[0]": "update-replace" });
    expect(remoteFile(join(remote, "t.txt"))).toBe("t\n"); // the replacement copied again
    expect(second.ops.cp5).toEqual(["update"]);
    expect(second.diffs.cp5).toEqual({ connection: "update" });
    expect(remoteFile(join(remote, "conn.txt"))).toBeNull(); // a connection change copies nothing
    expect(second.diffs.cp6).toEqual({ remotePath: "update" });
    expect(remoteFile(join(remote, "p1.txt"))).toBe("p\n"); // the old copy stays
    expect(remoteFile(join(remote, "p2.txt"))).toBe("p\n");
    expect(second.ops.str).toEqual(["same"]);

    write(join(local, "f.txt"), "v2\n");
    const third = await runStep(t.stack, "up", program(2));
    expectOk(third);
    expect(third.ops.cp1).toEqual(["update"]);
    expect(third.diffs.cp1).toEqual({ source: "update" });
    expect(remoteFile(join(remote, "a/b/f.txt"))).toBe("v2\n");

    const destroy = await runStep(t.stack, "destroy");
    expectOk(destroy);
    expect(destroy.ops.cp1).toEqual(["delete"]);
    expect(await stateResources(t.stack)).toEqual({});
    // Delete does nothing: the copies stay.
    expect(remoteFile(join(remote, "a/b/f.txt"))).toBe("v2\n");
    expect(remoteFile(join(remote, "d1/src/z.txt"))).toBe("z\n");
    expect(remoteFile(join(remote, "t.txt"))).toBe("t\n");
  });

  it("C07.2, C07.3, C08, C09 and CopyFile: error texts, nothing in state", async () => {
    const s = await tempStack(async () => ({}), { commandPlugin: "test-only" });
    try {
      const local = join(s.dir, "local");
      const remote = join(s.dir, "remote");
      mkdirSync(join(remote, "existing"), { recursive: true });
      write(join(remote, "afile"), "i am a file\n");
      write(join(local, "src", "x.txt"), "x\n");
      write(join(local, "one.txt"), "one\n");
      const one = async (resource: () => void) => runStep(s.stack, "up", async () => void resource());

      const textToDir = await one(
        () =>
          new command.remote.CopyToRemote("str2", {
            connection: conn(sshd.probeOnly),
            source: new pulumi.asset.StringAsset("x"),
            remotePath: join(remote, "existing"),
          }),
      );
      expect(errorOf(textToDir, "str2")).toBe(
        `remote path ${join(remote, "existing")} is a directory; when using a text asset, remotePath must be a file path`,
      );

      const dirToFile = await one(
        () =>
          new command.remote.CopyToRemote("dir2file", {
            connection: conn(sshd.probeOnly),
            source: new pulumi.asset.FileArchive(join(local, "src")),
            remotePath: join(remote, "afile"),
          }),
      );
      expect(errorOf(dirToFile, "dir2file")).toBe(
        `failed to create remote directory ${join(remote, "afile", "src")}: file does not exist`,
      );

      const assetArchive = await one(
        () =>
          new command.remote.CopyToRemote("cp", {
            connection: conn(sshd.probeOnly),
            source: new pulumi.asset.AssetArchive({ "a.txt": new pulumi.asset.StringAsset("a") }),
            remotePath: join(remote, "aa"),
          }),
      );
      expect(errorOf(assetArchive, "cp")).toBe(
        "command:remote:CopyToRemote resource 'cp': property archive value {<nil>} has a problem: " +
          "archive must be a path to a file or directory",
      );
      expect(assetArchive.ops.cp).toBeUndefined();

      const refused = await one(
        () =>
          new command.remote.CopyToRemote("cp", {
            connection: conn(sshd.refused, { dialErrorLimit: 1 }),
            source: new pulumi.asset.FileAsset(join(local, "one.txt")),
            remotePath: join(remote, "one.txt"),
          }),
      );
      expect(errorOf(refused, "cp")).toBe(
        `after 1 failed attempts: dial tcp ${sshd.refused.host}:${sshd.refused.port}: connect: connection refused`,
      );
      expect(refused.logs.cp).toEqual(["Dial 1/1 failed: retrying"]);

      const copyFile = await one(
        () =>
          new command.remote.CopyFile("cf", {
            connection: conn(sshd.probeOnly),
            localPath: join(local, "one.txt"),
            remotePath: join(remote, "cf.txt"),
          }),
      );
      expect(copyFile.ok).toBe(false);
      expect(errorsOf(copyFile).join("\n")).toContain(
        "command:remote:CopyFile is not implemented by the test-only command plugin",
      );
      for (const step of [textToDir, dirToFile, assetArchive, refused]) expect(step.ok).toBe(false);
      expect(await stateResources(s.stack)).toEqual({});
      expect(existsSync(join(remote, "one.txt"))).toBe(false);
      expect(existsSync(join(remote, "cf.txt"))).toBe(false);
    } finally {
      await s.cleanup();
    }
  });
});
