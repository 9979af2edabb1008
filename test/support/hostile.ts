// Hostile input for property tests: string generators (shell metacharacters, control
// characters, option-like values, huge values, Unicode tricks, lookalike digits), and the two
// ways a test proves a value that reaches a shell command inert:
//  - skeleton(): the command's structure as the shell parses it, every literal run abstracted
//    to "L". A command built with a hostile value and the same command built with a harmless
//    twin of it must have the same skeleton: the value only ever adds literal text.
//  - roundTrip(): values quoted by the one quoting helper, printed by a real /bin/sh, must come
//    back byte for byte.
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { sh } from "../../components/host-commands/shell.js";

// ---- generators ----

export const shellMeta = [
  ";", "&", "&&", "|", "||", "$", "$(id)", "${IFS}", "`id`", "'", '"', "\\", "<", ">", ">>", "<(id)", "(", ")",
  "{", "}", "[", "]", "*", "?", "!", "#", "~", " ", "\t", "=", "%", "^", ",", "'\\''", "$'\\n'",
];
export const controlChars = ["\n", "\r", "\r\n", "\0", "\x1b[2J", "\x07", "\b", "\v", "\f", "\x7f", "\x85", "\u2028", "\u2029"];
export const optionLike = ["--foo", "-x", "-rf", "--help", "--version", "-oProxyCommand=id", "--volume=/:/host", "-", "--", "-1", "--config=/etc/passwd"];
export const unicodeTricks = [
  "\u202E", "\u202D", "\u2066", "\u2067", "\u2069", // bidi overrides and isolates
  "\u200B", "\u200C", "\u200D", "\uFEFF", "\u2060", "\u00AD", // zero-width and soft hyphen
  "а", "е", "о", "і", "ѕ", "ℓ", "ﬁ", "\u0301", "Å", "😀", "\uD800", "\uDC00", // lookalike letters, combining, astral, lone surrogates
  "\u00A0", "\u3000", // non-ASCII blanks
];
/** Names every JavaScript object already has. */
export const prototypeNames = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "prototype", "__defineGetter__"];
export const lookalikeDigits = ["０", "１", "２", "٢", "۲", "२", "𝟐", "²", "₂", "Ⅱ", "O", "l", "I", "٫"];
export const numberTexts = [
  "0x16", "22abc", " 22", "22 ", "\t22", "22\n", "1e3", "1E3", "-1", "-0", "0", "65536", "99999", "22.5", "22.0", "+22", "0022",
  "Infinity", "-Infinity", "NaN", "", "٢٢", "２２", "0b10", "0o26", "1_000", "2e-1", ".5", "5.", "0.0", "1,5",
];

/** One hostile piece of any kind. */
export const hostilePiece: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...shellMeta),
  fc.constantFrom(...controlChars),
  fc.constantFrom(...optionLike),
  fc.constantFrom(...unicodeTricks),
  fc.constantFrom(...lookalikeDigits),
  fc.constantFrom(...prototypeNames),
  fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 6 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 6 }),
);

const hostileRun = fc.array(hostilePiece, { minLength: 1, maxLength: 4 }).map((pieces) => pieces.join(""));

/** Near misses: the punctuation valid values are made of ("..", "/", ":", "@", "-" at an edge…) and letters. */
const nearMiss = fc
  .array(fc.constantFrom(".", "..", "/", ":", "@", "-", "_", "+", "=", "~", "%", ",", "a", "Z", "7", "0"), { minLength: 1, maxLength: 3 })
  .map((pieces) => pieces.join(""));

/**
 * Hostile variants of a valid sample: a hostile run or a near miss inserted anywhere, an
 * option-like value (alone or as a prefix), a hostile run alone, number-like text or a name every
 * object has ("__proto__", "constructor"), or the sample
 * grown (past its cap, by up to `maxGrowth` characters) with `filler` (a character the field allows).
 */
export function hostileFrom(valid: string, filler = "a", maxGrowth = 100_000): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.nat({ max: valid.length }), hostileRun).map(([at, h]) => valid.slice(0, at) + h + valid.slice(at)) },
    { weight: 2, arbitrary: fc.tuple(fc.nat({ max: valid.length }), nearMiss).map(([at, h]) => valid.slice(0, at) + h + valid.slice(at)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...optionLike), fc.boolean()).map(([o, alone]) => (alone ? o : o + valid)) },
    { weight: 1, arbitrary: hostileRun },
    { weight: 1, arbitrary: fc.constantFrom(...numberTexts, ...prototypeNames) },
    { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 40, max: 1100 }), fc.integer({ min: 1100, max: Math.max(1100, maxGrowth) })).map((n) => grow(valid, filler, n)) },
  );
}

/** `valid` made `n` characters longer: the filler goes after the first character. */
export function grow(valid: string, filler: string, n: number): string {
  return valid.slice(0, 1) + filler.repeat(n) + valid.slice(1);
}

// ---- the shell's view of a command ----

const wordChar = /[A-Za-z0-9_@%+=:,./-]/;
const parameterName = /[A-Za-z_][A-Za-z0-9_]*|[0-9?$#@*!-]/y;
const controlOp = /[\s;&|()<>]/;

/**
 * The structure of a POSIX shell command (sh -c) with its literal text abstracted: each run of
 * literal characters (single-quoted text, escaped characters, double-quoted text, unquoted word
 * characters) becomes one "L"; what the shell interprets stays as is (blanks, newlines,
 * operators, redirections, glob characters, `$name`, `$(`, `${`, `$((`, backquotes; a comment is
 * "#"). Throws on an unterminated quote or substitution.
 */
export function skeleton(cmd: string): string {
  const out: string[] = [];
  let i = 0;
  const lit = () => {
    if (out[out.length - 1] !== "L") out.push("L");
  };
  const sym = (s: string) => out.push(s);

  function dollar(): void {
    const next = cmd[i + 1];
    if (next === "(" && cmd[i + 2] === "(") {
      sym("$((");
      i += 3;
      unquoted("))");
      i += 2;
      sym("))");
    } else if (next === "(") {
      sym("$(");
      i += 2;
      unquoted(")");
      i += 1;
      sym(")");
    } else if (next === "{") {
      sym("${");
      i += 2;
      unquoted("}");
      i += 1;
      sym("}");
    } else {
      parameterName.lastIndex = i + 1;
      const name = parameterName.exec(cmd)?.[0];
      if (name) {
        sym(`$${name}`);
        i += 1 + name.length;
      } else {
        lit();
        i += 1;
      }
    }
  }

  function backquoted(): void {
    sym("`");
    i += 1;
    unquoted("`");
    i += 1;
    sym("`");
  }

  function doubleQuoted(): void {
    sym('"');
    i += 1;
    while (i < cmd.length) {
      const c = cmd[i]!;
      if (c === '"') {
        i += 1;
        sym('"');
        return;
      }
      if (c === "\\") {
        if (cmd[i + 1] === "\n") sym("\\\n");
        else lit();
        i += 2;
      } else if (c === "$") dollar();
      else if (c === "`") backquoted();
      else {
        lit();
        i += 1;
      }
    }
    throw new Error("unterminated double quote");
  }

  function unquoted(stop: ")" | "))" | "}" | "`" | null): void {
    let depth = 0;
    let wordStart = stop !== "}";
    while (i < cmd.length) {
      const c = cmd[i]!;
      if (depth === 0 && ((stop === ")" && c === ")") || (stop === "))" && c === ")" && cmd[i + 1] === ")") || (stop === "}" && c === "}") || (stop === "`" && c === "`"))) {
        return;
      }
      if (c === "\\") {
        if (cmd[i + 1] === "\n") sym("\\\n");
        else lit();
        i += 2;
        wordStart = false;
      } else if (c === "'") {
        const end = cmd.indexOf("'", i + 1);
        if (end < 0) throw new Error("unterminated single quote");
        lit();
        i = end + 1;
        wordStart = false;
      } else if (c === '"') {
        doubleQuoted();
        wordStart = false;
      } else if (c === "$") {
        dollar();
        wordStart = false;
      } else if (c === "`") {
        backquoted();
        wordStart = false;
      } else if (c === "#" && wordStart) {
        const end = cmd.indexOf("\n", i);
        sym("#");
        i = end < 0 ? cmd.length : end;
      } else if (wordChar.test(c)) {
        lit();
        i += 1;
        wordStart = false;
      } else {
        if (c === "(") depth += 1;
        if (c === ")") depth -= 1;
        sym(c);
        i += 1;
        wordStart = controlOp.test(c);
      }
    }
    if (stop !== null) throw new Error(`unterminated ${stop}`);
  }

  unquoted(null);
  return out.join("");
}

/** The harmless twin of a value: every character the quoting helper would quote becomes "x". */
export const twinOf = (value: string): string => value.replace(/[^A-Za-z0-9_@%+=:,./-]/g, "x");

// ---- real shells ----

/**
 * Each value (no NUL: the quoting helper refuses it), quoted by the `sh` helper as one word of
 * `printf '%s\000'`, run by /bin/sh (the script on stdin, so no argv limit applies), comes
 * back byte for byte (as the UTF-8 the command line carries). Returns the values that did not.
 */
export function roundTrip(values: readonly string[]): string[] {
  const bad: string[] = [];
  const batchBytes = 512 * 1024;
  let batch: string[] = [];
  let size = 0;
  const flush = () => {
    if (batch.length === 0) return;
    const script = sh`printf '%s\\000' ${batch}`;
    const out = execFileSync("/bin/sh", ["-s"], { input: script, maxBuffer: 64 * 1024 * 1024 });
    const parts: Buffer[] = [];
    let from = 0;
    for (let at = out.indexOf(0); at >= 0; at = out.indexOf(0, from)) {
      parts.push(out.subarray(from, at));
      from = at + 1;
    }
    batch.forEach((v, k) => {
      if (!parts[k]?.equals(Buffer.from(v, "utf8"))) bad.push(v);
    });
    if (parts.length !== batch.length) bad.push(`(${parts.length} words came back for ${batch.length} values)`);
    batch = [];
    size = 0;
  };
  for (const v of values) {
    batch.push(v);
    size += Buffer.byteLength(v) * 4 + 4;
    if (size > batchBytes) flush();
  }
  flush();
  return bad;
}

/** `sh -n` (parse, run nothing) for each command; returns the ones the shell refused, with its words. */
export function syntaxErrors(commands: readonly { name: string; command: string }[]): string[] {
  const errors: string[] = [];
  for (const { name, command } of commands) {
    try {
      execFileSync("/bin/sh", ["-n"], { input: command, stdio: ["pipe", "ignore", "pipe"] });
    } catch (err) {
      errors.push(`${name}: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
    }
  }
  return errors;
}
