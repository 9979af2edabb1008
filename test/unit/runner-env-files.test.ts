import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseKeyValueFile, readPathFile } from "../runner/env-files.js";
import { shellCommand } from "../runner/shell.js";

describe("runner file commands", () => {
  it("reads name=value lines and name<<DELIMITER blocks, the last write winning", () => {
    const text = "a=1\nb=x=y\nmulti<<EOF\nline 1\n\nline 3\nEOF\na=2\nempty=\n";
    expect(parseKeyValueFile(text, "f")).toEqual({ a: "2", b: "x=y", multi: "line 1\n\nline 3", empty: "" });
  });

  it("takes name=value when '=' comes before '<<'", () => {
    expect(parseKeyValueFile("expr=a<<b\n", "f")).toEqual({ expr: "a<<b" });
  });

  it("refuses a block without its closing delimiter and a line without a name", () => {
    expect(() => parseKeyValueFile("x<<EOF\nvalue\n", "out")).toThrow("matching delimiter not found: 'EOF'");
    expect(() => parseKeyValueFile("just text\n", "out")).toThrow("invalid line");
  });

  it("prepends GITHUB_PATH directories with the last added first", () => {
    const file = join(mkdtempSync(join(tmpdir(), "path-")), "p");
    writeFileSync(file, "/one\n/two\n\n");
    expect(readPathFile(file)).toEqual(["/two", "/one"]);
  });
});

describe("runner shells", () => {
  const temp = mkdtempSync(join(tmpdir(), "shell-"));
  it("runs bash as GitHub does, with and without `shell: bash`", () => {
    expect(shellCommand("bash", "x", temp, 1).slice(0, 4)).toEqual(["bash", "--noprofile", "--norc", "-eo"]);
    expect(shellCommand("", "x", temp, 1).slice(0, 2)).toEqual(["bash", "-e"]);
    expect(shellCommand("sh", "x", temp, 1).slice(0, 2)).toEqual(["sh", "-e"]);
  });
  it("fills {0} of a custom shell and refuses one without it", () => {
    const argv = shellCommand("perl -w {0}", "print 1", temp, 2);
    expect(argv[0]).toBe("perl");
    expect(argv[2]).toMatch(/step-2-/);
    expect(() => shellCommand("zsh", "x", temp, 3)).toThrow("neither a known shell");
  });
});
