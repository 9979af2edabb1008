// The runner's file commands: GITHUB_OUTPUT and GITHUB_ENV hold `name=value` lines or
// `name<<DELIMITER` … `DELIMITER` blocks (multi-line values); GITHUB_PATH holds one directory
// a line, prepended to PATH for later steps (the last line first, as the runner does).
import { readFileSync } from "node:fs";

export function parseKeyValueFile(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const heredoc = line.indexOf("<<");
    const equals = line.indexOf("=");
    if (heredoc > 0 && (equals < 0 || heredoc < equals)) {
      const name = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      if (!delimiter) throw new Error(`${file}: empty delimiter for '${name}'`);
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      if (i >= lines.length) throw new Error(`${file}: matching delimiter not found: '${delimiter}'`);
      out[name] = value.join("\n");
    } else if (equals > 0) {
      out[line.slice(0, equals)] = line.slice(equals + 1);
    } else {
      throw new Error(`${file}: invalid line (not name=value nor name<<DELIMITER): '${line}'`);
    }
  }
  return out;
}

export function readKeyValueFile(path: string): Record<string, string> {
  return parseKeyValueFile(readFileSync(path, "utf8"), path);
}

/** Directories a step added, in the order they go before PATH (the last added first). */
export function readPathFile(path: string): string[] {
  return readFileSync(path, "utf8")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .reverse();
}
