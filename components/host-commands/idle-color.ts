// blue-green, once the live release is verified: the idle color stops. Its own module: the
// record writer (status.ts) uses it, and the switch's module imports the record writer.
import { colorWords, composeCli, type HostLayout, liveColorFileName, managedFiles } from "./layout.js";

/** Once the live release is verified: the idle color stops (its containers stay, a later switch to it starts them again). */
export function stopIdleColor(layout: HostLayout): string[] {
  if (!layout.blueGreen) return [];
  const idle = { ...layout, live: colorWords(layout, "$idle") };
  return [
    `case "$(cat ${liveColorFileName} 2>/dev/null)" in blue) idle=green ;; green) idle=blue ;; *) idle="" ;; esac`,
    `if [ -n "$idle" ] && [ -f "$idle/${managedFiles[0]}" ]; then ${composeCli(idle, "stop")} >/dev/null 2>&1 || echo "the idle color $idle did not stop" >&2; fi`,
  ];
}
