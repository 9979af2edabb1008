// Where things live on the host, and how compose is invoked there (v2 plugin or v1 binary).
import type { HostConfig, StackConfig } from "../config/schema.js";
import { raw, sh } from "./shell.js";

export type ComposeCommand = "docker compose" | "docker-compose";

export interface HostLayout {
  /** Absolute, validated by the config schema (default /opt/awareness). */
  appDir: string;
  /** Compose project name (lowercase letters, digits, _ and -). */
  composeProject: string;
  composeCommand: ComposeCommand;
}

/** Where the app lives on `host` and how compose runs there. */
export function hostLayoutOf(cfg: Pick<StackConfig, "appDir" | "composeProject" | "composeCommand">, host: HostConfig): HostLayout {
  return { appDir: host.appDir ?? cfg.appDir, composeProject: cfg.composeProject, composeCommand: cfg.composeCommand };
}

const composeFileName = "docker-compose.yml";
export const envFileName = ".env";
const statusFileName = "deployment.json";
/** The files a deploy replaces and backs up, in this order. */
export const managedFiles = [composeFileName, envFileName, statusFileName] as const;
const stagingDirName = ".staging";
/** One folder per switch below it: the files that switch replaced, and their manifest. */
export const backupsDirName = "backups";
const lockDirName = ".deploy-lock";
/** The host-side lock a switch (or a restore) holds while it runs: flock on this file in the app dir. */
export const switchLockName = ".switch.lock";

export const paths = (layout: HostLayout) => ({
  composeFile: `${layout.appDir}/${composeFileName}`,
  envFile: `${layout.appDir}/${envFileName}`,
  statusFile: `${layout.appDir}/${statusFileName}`,
  stagingDir: `${layout.appDir}/${stagingDirName}`,
  backupsDir: `${layout.appDir}/${backupsDirName}`,
  lockDir: `${layout.appDir}/${lockDirName}`,
});

/** `docker compose -p P -f FILE <args>`; both tools accept the same global flags. */
export function composeCli(layout: HostLayout, ...args: string[]): string {
  const tool = layout.composeCommand === "docker compose" ? raw("docker compose") : raw("docker-compose");
  return sh`${tool} -p ${layout.composeProject} -f ${paths(layout).composeFile} ${args.map((a) => raw(a))}`.trimEnd();
}

/** docker filters selecting the project's service containers (not one-off runs); same labels in v1 and v2. */
export function projectFilters(layout: HostLayout): string {
  return sh`--filter ${`label=com.docker.compose.project=${layout.composeProject}`} --filter label=com.docker.compose.oneoff=False`;
}

/** Container ids of one service of the project, running or not. */
export function serviceContainerIds(layout: HostLayout, service: string): string {
  return sh`docker ps -a -q ${raw(projectFilters(layout))} --filter ${`label=com.docker.compose.service=${service}`}`;
}
