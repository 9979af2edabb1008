// A run's private work dir. The engine reads and writes stack config in its work dir's
// Pulumi.<stack>.yaml; each run gets a fresh folder (mode 0700: the copy holds the encryption
// salt and `secure:` values) with a copy of the project's Pulumi.yaml and Pulumi.<stack>.yaml,
// so every config write of the run (the release, pins, marks) lands in the copy and the
// repository's files are never written. The live release comes from the backend instead
// (stages/releases.ts adoptLiveRelease). The folder is removed when the run ends, whatever
// ended it, and at the latest when the process exits.
import { rmSync } from "node:fs";
import { chmod, copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RunWorkDir {
  readonly dir: string;
  /** Removes the folder (idempotent). */
  dispose(): Promise<void>;
}

/** Folders of runs still open in this process: removed on exit if a run could not (a crash, a second signal). */
const openDirs = new Set<string>();
process.on("exit", () => {
  for (const dir of openDirs) rmSync(dir, { recursive: true, force: true });
});

/** The project files a run copies: the project's own and the stack's (either extension). */
export function projectFilesFor(stackName: string): string[] {
  return ["Pulumi.yaml", "Pulumi.yml", `Pulumi.${stackName}.yaml`, `Pulumi.${stackName}.yml`];
}

/** A fresh folder only this user reads (mode 0700), removed by `dispose` or at the latest when the process exits. */
export async function createPrivateDir(prefix: string): Promise<RunWorkDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  openDirs.add(dir);
  const dispose = async () => {
    openDirs.delete(dir);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await chmod(dir, 0o700);
  } catch (err) {
    await dispose();
    throw err;
  }
  return { dir, dispose };
}

/** A fresh private folder with copies of the project's files for `stackName` (those that exist). */
export async function createRunWorkDir(projectDir: string, stackName: string): Promise<RunWorkDir> {
  const { dir, dispose } = await createPrivateDir("awareness-run-");
  try {
    const present = new Set(await readdir(projectDir).catch(() => [] as string[]));
    for (const file of projectFilesFor(stackName).filter((f) => present.has(f))) {
      await copyFile(join(projectDir, file), join(dir, file));
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  return { dir, dispose };
}
