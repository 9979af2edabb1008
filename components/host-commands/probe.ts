// A health probe run ON the host (probe mode "ssh", for apps not reachable from outside).
import { sh } from "./shell.js";

/** Prints "<http status> <seconds>" ("000 …" when nothing answered); always exits 0. */
export function probeFromHost(url: string, timeoutSeconds: number): string {
  return sh`if command -v curl >/dev/null 2>&1; then curl -s -o /dev/null -m ${timeoutSeconds} -w '%{http_code} %{time_total}\\n' ${url} || true; elif wget -q -T ${Math.max(1, Math.ceil(timeoutSeconds))} -O /dev/null ${url} 2>/dev/null; then echo "200 0"; else echo "000 0"; fi`;
}

