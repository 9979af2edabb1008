// How the driver says what it is doing: progress lines on stderr (stdout stays for --json).
export interface Logger {
  info(line: string): void;
  warn(line: string): void;
}

export const consoleLogger: Logger = {
  info: (line) => process.stderr.write(`${line}\n`),
  warn: (line) => process.stderr.write(`warning: ${line}\n`),
};

export const quietLogger: Logger = { info: () => {}, warn: () => {} };
