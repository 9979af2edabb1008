// The audit trail's host commands: validation, the exact shape of the append, and a real
// /bin/sh round trip in a temp app dir (hostile values land intact, one line each, concurrent
// appends never tear); and who a run is (GitHub Actions or user@host).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runActor } from "../../automation/common/actor.js";
import * as hc from "../../components/host-commands/index.js";

const entry = (over: Partial<hc.AuditEntry> = {}): hc.AuditEntry => ({
  schema: 1,
  who: "alice@laptop",
  command: "deploy",
  stack: "production",
  release: "v42",
  outcome: "deployed-verified",
  exitCode: 0,
  startedAt: "2026-11-27T18:00:00.000Z",
  finishedAt: "2026-11-27T18:05:00.000Z",
  ...over,
});

function runSh(script: string) {
  const r = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const layoutIn = (appDir: string): hc.HostLayout => ({ appDir, composeProject: "awareness", composeCommand: "docker compose" });

describe("audit entries: validated before they reach the shell", () => {
  it("an entry is one JSON line, exactly its fields", () => {
    const line = hc.auditLine(entry({ reason: "rollback v42 -> v41: login broken" }));
    expect(line).not.toMatch(/\n/);
    expect(JSON.parse(line)).toEqual(entry({ reason: "rollback v42 -> v41: login broken" }));
  });

  it.each([
    ["who with a line break", entry({ who: "alice\nmallory" }), /who must be one line/],
    ["a reason over 1000 characters", entry({ reason: "x".repeat(1001) }), /reason/],
    ["a time that is not UTC", entry({ finishedAt: "yesterday" }), /finishedAt must be a UTC time/],
    ["an unknown field", { ...entry(), extra: "x" } as hc.AuditEntry, /Unrecognized key/],
    ["an exit code out of range", entry({ exitCode: 300 }), /exitCode/],
    ["a run address that is not a URL", entry({ runUrl: "not a url" }), /runUrl/],
  ])("refuses %s", (_name, bad, why) => {
    expect(() => hc.auditLine(bad)).toThrow(why);
    expect(() => hc.appendAuditEntry(layoutIn("/opt/awareness"), bad)).toThrow(why);
  });

  it("the append is one printf of one quoted line, >> the log, under the lock's flock", () => {
    const cmd = hc.appendAuditEntry(layoutIn("/opt/awareness"), entry({ who: "o'brien $(id) `id`" }));
    expect(cmd).toContain(`exec 9>>"$lock.flock" && flock -w 10 9`);
    const appendLines = cmd.split("\n").filter((l) => l.includes(">>") && l.includes("audit.log"));
    expect(appendLines).toHaveLength(1);
    expect(appendLines[0]).toMatch(/^printf '%s\\n' '.*' >> \/opt\/awareness\/audit\.log \|\| exit 1$/);
    expect(spawnSync("/bin/sh", ["-n", "-c", cmd]).status).toBe(0);
  });

  it("the read takes a bounded number of lines", () => {
    expect(hc.readAuditLog(layoutIn("/opt/awareness"), 20)).toBe("[ -f /opt/awareness/audit.log ] || exit 0; tail -n 20 /opt/awareness/audit.log");
    for (const bad of [0, -1, 1.5, 1001]) expect(() => hc.readAuditLog(layoutIn("/opt/awareness"), bad)).toThrow(/1 to 1000/);
  });
});

describe("audit.log on a real /bin/sh", () => {
  const hasFlock = spawnSync("sh", ["-c", "command -v flock"]).status === 0;

  it.runIf(hasFlock)("appends hostile values intact, reads them back newest first, reports a malformed line", () => {
    const dir = mkdtempSync(join(tmpdir(), "audit-"));
    const layout = layoutIn(join(dir, "app dir"));
    const hostile = entry({ who: `o'brien "$(touch ${dir}/pwned)" \`id\` ; rm -rf / ✓`, reason: "why: 100 % \\n not a newline; %s %d" });
    const second = entry({ release: "v43", outcome: "rolled-back", exitCode: 4 });
    for (const e of [hostile, second]) {
      const r = runSh(hc.appendAuditEntry(layout, e));
      expect(r, r.stderr).toMatchObject({ code: 0, stdout: "appended\n" });
    }
    expect(spawnSync("test", ["-e", join(dir, "pwned")]).status).not.toBe(0);
    const raw = readFileSync(join(layout.appDir, "audit.log"), "utf8");
    expect(raw.split("\n")).toHaveLength(3); // two lines and the final newline
    const read = runSh(hc.readAuditLog(layout, 10));
    expect(hc.parseAuditLog(read.stdout)).toEqual({ entries: [second, hostile], malformed: [] });
    expect(hc.parseAuditLog(runSh(hc.readAuditLog(layout, 1)).stdout).entries).toEqual([second]);

    writeFileSync(join(layout.appDir, "audit.log"), `${raw}half a line\n`);
    const parsed = hc.parseAuditLog(runSh(hc.readAuditLog(layout, 10)).stdout);
    expect(parsed.entries).toHaveLength(2);
    expect(parsed.malformed).toEqual([{ line: 3, text: "half a line", why: "not JSON" }]);
  });

  it("reads nothing (no error) when there is no log yet", () => {
    const dir = mkdtempSync(join(tmpdir(), "audit-"));
    expect(runSh(hc.readAuditLog(layoutIn(dir), 5))).toMatchObject({ code: 0, stdout: "" });
  });

  it.runIf(hasFlock)("twenty concurrent appends make twenty whole lines", async () => {
    const dir = mkdtempSync(join(tmpdir(), "audit-"));
    const layout = layoutIn(dir);
    const reason = "r".repeat(900);
    const codes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        new Promise<number | null>((resolve) => spawn("/bin/sh", ["-c", hc.appendAuditEntry(layout, entry({ release: `v${i}`, reason }))]).on("exit", resolve)),
      ),
    );
    expect(codes.every((c) => c === 0)).toBe(true);
    const parsed = hc.parseAuditLog(readFileSync(join(dir, "audit.log"), "utf8"));
    expect(parsed.malformed).toEqual([]);
    expect(parsed.entries.map((e) => e.release).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
  });
});

describe("who a run is", () => {
  it("under GitHub Actions: the actor and the run, with its address", () => {
    const env = { GITHUB_ACTIONS: "true", GITHUB_ACTOR: "octocat", GITHUB_RUN_ID: "123456", GITHUB_RUN_ATTEMPT: "2", GITHUB_REPOSITORY: "acme/app", GITHUB_SERVER_URL: "https://github.example.com" };
    expect(runActor(env)).toEqual({ who: "octocat (GitHub Actions run 123456 attempt 2)", runUrl: "https://github.example.com/acme/app/actions/runs/123456" });
  });

  it("a hostile or partial CI env never makes a bad line or address", () => {
    const a = runActor({ GITHUB_ACTIONS: "true", GITHUB_ACTOR: "eve\nforged line", GITHUB_RUN_ID: "1; rm", GITHUB_REPOSITORY: "a/b" });
    expect(a).toEqual({ who: "eve forged line (GitHub Actions)" });
    expect(() => hc.auditLine(entry({ who: a.who }))).not.toThrow();
  });

  it("elsewhere: the local user@host", () => {
    expect(runActor({})).toEqual({ who: `${os.userInfo().username}@${os.hostname()}` });
    expect(runActor({ GITHUB_ACTOR: "octocat" }).who).not.toContain("octocat");
  });
});
