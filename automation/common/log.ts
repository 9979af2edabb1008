// How the driver says what it is doing: progress lines on stderr (stdout stays for --json).
import type { RunEventBody } from "../events/types.js";

export interface Logger {
  info(line: string): void;
  warn(line: string): void;
  /** A run's event stream takes structured events too (events/emitter.ts); plain loggers get their line. */
  emit?(event: RunEventBody): void;
}

export const consoleLogger: Logger = {
  info: (line) => process.stderr.write(`${line}\n`),
  warn: (line) => process.stderr.write(`warning: ${line}\n`),
};

export const quietLogger: Logger = { info: () => {}, warn: () => {} };
