// Backups on the host: list them, and break-glass restore from the newest ones (used when
// the stack state is unusable; the current files are backed up first, so it can be undone).
import { composeCli, managedFiles, type HostLayout } from "./layout.js";
import { sh } from "./shell.js";

/** Absolute paths of every backup file, oldest first. */
export function listBackups(layout: HostLayout): string {
  return sh`cd ${layout.appDir} 2>/dev/null || exit 0; for f in $(ls -1 *.backup .*.backup 2>/dev/null | sort); do echo ${layout.appDir}/"$f"; done`;
}

export function restoreNewestBackups(layout: HostLayout): string {
  const up = composeCli(layout, "up", "-d", "--remove-orphans");
  return [
    sh`cd ${layout.appDir} || exit 1`,
    `newest() { ls -1 "$1".*.backup 2>/dev/null | sort -r | head -n 1; }`,
    `c=$(newest ${managedFiles[0]}); e=$(newest ${managedFiles[1]}); s=$(newest ${managedFiles[2]})`,
    `[ -n "$c" ] || { echo "no backup of ${managedFiles[0]} on this host: nothing to restore" >&2; exit 1; }`,
    `ts=$(date -u +%Y%m%dT%H%M%SZ)`,
    `for f in ${managedFiles.join(" ")}; do if [ -f "$f" ]; then cp -p "$f" "$f.$ts.backup" || exit 1; fi; done`,
    `for pair in "$c:${managedFiles[0]}" "$e:${managedFiles[1]}" "$s:${managedFiles[2]}"; do src=\${pair%%:*}; dst=\${pair#*:}; [ -n "$src" ] || continue; cp -p "$src" "$dst.restore" && mv -f "$dst.restore" "$dst" || exit 1; echo "restored $dst from $src"; done`,
    `out=$(${up} 2>&1) || { printf '%s\\n' "$out" | tail -n 8 | cut -c1-300 >&2; exit 1; }`,
    `echo "restored and started"`,
  ].join("\n");
}
