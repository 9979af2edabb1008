// blue-green on a host, outside a switch: the idle color stopped once the live release is
// verified, and what each color runs (for status). Its own module: the record writer (status.ts)
// uses it, and the switch's module imports the record writer.
import { colors, colorWords, composeCli, type Color, type HostLayout, liveColorFileName, managedFiles } from "./layout.js";
import { sh } from "./shell.js";

/** Once the live release is verified: the idle color stops (its containers stay, a later switch to it starts them again). */
export function stopIdleColor(layout: HostLayout): string[] {
  if (!layout.blueGreen) return [];
  const idle = { ...layout, live: colorWords(layout, "$idle") };
  return [
    `case "$(cat ${liveColorFileName} 2>/dev/null)" in blue) idle=green ;; green) idle=blue ;; *) idle="" ;; esac`,
    `if [ -n "$idle" ] && [ -f "$idle/${managedFiles[0]}" ]; then ${composeCli(idle, "stop")} >/dev/null 2>&1 || echo "the idle color $idle did not stop" >&2; fi`,
  ];
}

/** Each color's containers on the host: how many run, of how many. */
export interface ColorStates {
  live: Color | null;
  colors: Record<Color, { running: number; total: number }>;
}

/** Prints "live <color|none>", then "<color> <running> <total>" for each color. */
export function readColorStates(layout: HostLayout): string {
  return [
    sh`echo "live $(cat ${`${layout.appDir}/${liveColorFileName}`} 2>/dev/null || echo none)"`,
    ...colors.map((c) => {
      const label = sh`${`label=com.docker.compose.project=${layout.composeProject}-${c}`}`;
      return `echo "${c} $(docker ps -q --filter ${label} --filter status=running | wc -l) $(docker ps -aq --filter ${label} | wc -l)"`;
    }),
  ].join("\n");
}

export function parseColorStates(stdout: string): ColorStates {
  const out: ColorStates = { live: null, colors: { blue: { running: 0, total: 0 }, green: { running: 0, total: 0 } } };
  for (const line of stdout.trim().split("\n")) {
    const [key, a, b] = line.trim().split(/\s+/);
    if (key === "live") out.live = a === "blue" || a === "green" ? a : null;
    else if (key === "blue" || key === "green") out.colors[key] = { running: Number(a) || 0, total: Number(b) || 0 };
  }
  return out;
}
