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
