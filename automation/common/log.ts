// How the driver says what it is doing: progress lines on stderr (stdout stays for --json).
import type { RunEventBody } from "../events/types.js";

export interface Logger {
  info(line: string): void;
  warn(line: string): void;
  /** A run's event stream takes structured events too (events/emitter.ts); plain loggers get their line. */
  emit?(event: RunEventBody): void;
}

/** Lines to a stream; warnings say so. */
export function streamLogger(stream: { write(chunk: string): unknown }): Logger {
  return { info: (line) => void stream.write(`${line}\n`), warn: (line) => void stream.write(`warning: ${line}\n`) };
}

export const consoleLogger: Logger = streamLogger(process.stderr);

export const quietLogger: Logger = { info: () => {}, warn: () => {} };
