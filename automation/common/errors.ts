// Errors every layer of the driver shares, and the one way to shorten one for a report line.

/** Bad command line or request: nothing ran (exit 2, never a failure issue). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The run was cancelled (SIGTERM/SIGINT) while this step ran. */
export class CancelledError extends Error {
  override name = "CancelledError";
}

export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n").find((l) => l.trim() !== "")?.trim() ?? text;
}

/**
 * An error for a report line: its first line, and when that line ends with ":" (a host
 * command's failure, whose own words follow), those words too, up to six lines.
 */
export function errorDetail(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) return text;
  return lines[0]!.endsWith(":") ? [lines[0], ...lines.slice(1, 7)].join(" ") : lines[0]!;
}
