// Where things live on the host, and how compose is invoked there (v2 plugin or v1 binary).
import type { BlueGreenConfig, HostConfig, StackConfig, SwarmConfig } from "../config/schema.js";
import { raw, sh, shellQuote } from "./shell.js";

export type ComposeCommand = "docker compose" | "docker-compose";

export interface HostLayout {
  /** Absolute, validated by the config schema (default /opt/awareness). */
  appDir: string;
  /** Compose project name (lowercase letters, digits, _ and -). */
  composeProject: string;
  composeCommand: ComposeCommand;
  /** engine swarm: the project is a swarm stack (`docker stack deploy` on this host, a manager). */
  swarm?: SwarmConfig | undefined;
  /** strategy blue-green: the proxy's routes; each color is its own compose project in its own folder. */
  blueGreen?: BlueGreenConfig | undefined;
  /**
   * Shell words evaluated on the host that name the compose project and file (blue-green: the
   * live color's, read from the app dir; a switch points them at the color it starts).
   */
  live?: { project: string; composeFile: string } | undefined;
}

export const colors = ["blue", "green"] as const;
export type Color = (typeof colors)[number];
/** The live color's name, one word, in the app dir (blue-green only). */
export const liveColorFileName = ".live-color";

/** Where the app lives on `host` and how compose runs there. */
export function hostLayoutOf(
  cfg: Pick<StackConfig, "appDir" | "composeProject" | "composeCommand"> & Partial<Pick<StackConfig, "strategy" | "blueGreen" | "engine" | "swarm">>,
  host: HostConfig,
): HostLayout {
  const layout = { appDir: host.appDir ?? cfg.appDir, composeProject: host.composeProject ?? cfg.composeProject, composeCommand: cfg.composeCommand };
  if (cfg.engine === "swarm" && cfg.swarm) return { ...layout, swarm: cfg.swarm };
  if (cfg.strategy !== "blue-green" || !cfg.blueGreen) return layout;
  // appDir and composeProject are plain words (schema), so they sit unquoted inside the double quotes.
  const color = `$(cat ${shellQuote(`${layout.appDir}/${liveColorFileName}`)} 2>/dev/null || echo blue)`;
  return { ...layout, blueGreen: cfg.blueGreen, live: colorWords(layout, color) };
}

/** The project and compose file of one color (`color` is shell text: a name or an expansion). */
export function colorWords(layout: Pick<HostLayout, "appDir" | "composeProject">, color: string): { project: string; composeFile: string } {
  return { project: `"${shellQuote(layout.composeProject)}-${color}"`, composeFile: `"${shellQuote(layout.appDir)}/${color}/${composeFileName}"` };
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
  if (layout.live) return sh`${tool} -p ${raw(layout.live.project)} -f ${raw(layout.live.composeFile)} ${args.map((a) => raw(a))}`.trimEnd();
  return sh`${tool} -p ${layout.composeProject} -f ${paths(layout).composeFile} ${args.map((a) => raw(a))}`.trimEnd();
}

/** docker filters selecting the project's service containers (not one-off runs); same labels in v1 and v2. */
export function projectFilters(layout: HostLayout): string {
  const project = layout.live ? raw(`"label=com.docker.compose.project=${layout.live.project.slice(1)}`) : `label=com.docker.compose.project=${layout.composeProject}`;
  return sh`--filter ${project} --filter label=com.docker.compose.oneoff=False`;
}

/** Container ids of one service of the project, running or not. */
export function serviceContainerIds(layout: HostLayout, service: string): string {
  return sh`docker ps -a -q ${raw(projectFilters(layout))} --filter ${`label=com.docker.compose.service=${service}`}`;
}
