// Whether each image of a new release exists in its registry, asked from the host (with
// the host's registry credentials, as the pull will be), without pulling anything.
import { raw, sh } from "./shell.js";

/** Registries on loopback speak plain HTTP (Docker treats 127.0.0.0/8 as insecure by default). */
function isLoopbackRegistry(ref: string): boolean {
  const first = ref.split("/")[0] ?? "";
  return ref.includes("/") && /^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$/.test(first);
}

/** Prints "present REF" or "missing REF <docker's reason>" per reference; always exits 0. */
export function registryHasImages(refs: readonly string[]): string {
  return refs
    .map((ref) => {
      const insecure = isLoopbackRegistry(ref) ? " --insecure" : "";
      return sh`if err=$(docker manifest inspect${raw(insecure)} ${ref} 2>&1 >/dev/null); then echo ${`present ${ref}`}; else echo ${`missing ${ref}`} "$(printf '%s' "$err" | tr '\\n' ' ' | cut -c1-200)"; fi`;
    })
    .join("\n");
}

export function parseRegistryCheck(stdout: string): { present: string[]; missing: { ref: string; reason: string }[] } {
  const present: string[] = [];
  const missing: { ref: string; reason: string }[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^(present|missing) (\S+) ?(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === "present") present.push(m[2]!);
    else missing.push({ ref: m[2]!, reason: m[3]!.trim() });
  }
  return { present, missing };
}
