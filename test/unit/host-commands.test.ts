// Every host command as an exact string, the quoting helper against a real /bin/sh, and the
// scripts that need no docker (lock, deployment record, backups) run for real in a temp dir.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderReleaseRecordPrefix } from "../../components/compose/render.js";
import * as hc from "../../components/host-commands/index.js";

const v2: hc.HostLayout = { appDir: "/opt/awareness", composeProject: "awareness", composeCommand: "docker compose" };
const v1: hc.HostLayout = { ...v2, composeCommand: "docker-compose" };
const digest = `sha256:${"a".repeat(64)}`;

/** Runs a script with /bin/sh (dash here), like a Debian/Ubuntu host's login shell would. */
function runSh(script: string, opts: { input?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync("/bin/sh", ["-c", script], {
    input: opts.input ?? "",
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("shellQuote / sh: the one quoting helper", () => {
  it("leaves plain words alone and single-quotes everything else", () => {
    expect(hc.shellQuote("ghcr.io/acme/backend@sha256:abc")).toBe("ghcr.io/acme/backend@sha256:abc");
    expect(hc.shellQuote("a b")).toBe("'a b'");
    expect(hc.shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(hc.shellQuote("")).toBe("''");
    expect(hc.shellQuote(42)).toBe("42");
    expect(() => hc.shellQuote("a\0b")).toThrow(/NUL/);
  });

  it("quotes interpolations, joins arrays as words, inserts raw fragments as is", () => {
    expect(hc.sh`echo ${"$(id)"} ${["a b", "c"]} ${hc.raw("&& true")}`).toBe(`echo '$(id)' 'a b' c && true`);
  });

  it("every string survives a real shell as exactly one word with the same bytes", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0")), (value) => {
        const r = runSh(`printf '%s|' ${hc.shellQuote(value)}`);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`${value}|`);
      }),
      { numRuns: 150 },
    );
  });

  it.each([
    ["semicolon", "x; touch /tmp/pwned"],
    ["command substitution", "$(touch /tmp/pwned)"],
    ["backticks", "`touch /tmp/pwned`"],
    ["newline", "x\ntouch /tmp/pwned"],
    ["single quote", "x' ; touch /tmp/pwned ; '"],
    ["double quote", 'x" ; touch /tmp/pwned ; "'],
    ["dot-dot path", "../../etc/passwd"],
  ])("a hostile value (%s) stays one inert argument", (_label, value) => {
    const r = runSh(hc.sh`printf '%s' ${value}`);
    expect(r.stdout).toBe(value);
  });
});

describe("compose invocations", () => {
  it("v2 uses the docker CLI plugin, v1 the docker-compose binary, same flags", () => {
    expect(hc.composeCli(v2, "up", "-d", "--remove-orphans")).toBe(
      "docker compose -p awareness -f /opt/awareness/docker-compose.yml up -d --remove-orphans",
    );
    expect(hc.composeCli(v1, "down", "--remove-orphans")).toBe(
      "docker-compose -p awareness -f /opt/awareness/docker-compose.yml down --remove-orphans",
    );
  });

  it("finds a service's containers by compose labels (v1 names them p_svc_1, v2 p-svc-1)", () => {
    expect(hc.serviceContainerIds(v1, "backend")).toBe(
      "docker ps -a -q --filter label=com.docker.compose.project=awareness --filter label=com.docker.compose.oneoff=False --filter label=com.docker.compose.service=backend",
    );
  });

  it("teardown runs `down` without -v (volumes are data) and is a no-op without a compose file", () => {
    expect(hc.teardown(v2)).toBe(
      [
        "cd /opt/awareness 2>/dev/null && [ -f /opt/awareness/docker-compose.yml ] || exit 0",
        `out=$(docker compose -p awareness -f /opt/awareness/docker-compose.yml down --remove-orphans 2>&1) || { printf '%s\\n' "$out" | tail -n 10 | cut -c1-300 >&2; exit 1; }`,
        "echo stopped",
      ].join("\n"),
    );
    expect(hc.teardown(v1)).not.toMatch(/\s-v\b|--volumes/);
  });

  it("lists the running services as 'service image state'", () => {
    expect(hc.runningServices(v2)).toBe(
      `for id in $(docker ps -a -q --filter label=com.docker.compose.project=awareness --filter label=com.docker.compose.oneoff=False); do docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}} {{.Config.Image}} {{.State.Status}}' "$id"; done | sort`,
    );
    expect(hc.parseRunningServices("backend r@sha256:1 running\nfrontend f@sha256:2 exited\n")).toEqual([
      { service: "backend", image: "r@sha256:1", state: "running" },
      { service: "frontend", image: "f@sha256:2", state: "exited" },
    ]);
  });
});

describe("image commands", () => {
  it("splits references", () => {
    expect(hc.splitImageRef("127.0.0.1:5000/app:v1")).toEqual({ repo: "127.0.0.1:5000/app", tag: "v1" });
    expect(hc.splitImageRef(`ghcr.io/a/b:v1@${digest}`)).toEqual({ repo: "ghcr.io/a/b", tag: "v1", digest });
    expect(hc.splitImageRef(`redis@${digest}`)).toEqual({ repo: "redis", digest });
  });

  it("pulls a tag and prints the repository's digest from RepoDigests", () => {
    expect(hc.pullAndResolveDigest("backend", "127.0.0.1:5000/b:v1")).toBe(
      [
        `out=$(docker pull 127.0.0.1:5000/b:v1 2>&1) || { printf '%s\\n' 'service backend: pull of 127.0.0.1:5000/b:v1 failed:' "$(printf '%s\\n' "$out" | tail -n 3 | cut -c1-300)" >&2; exit 1; }`,
        `docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' 127.0.0.1:5000/b:v1 | awk -v want=127.0.0.1:5000/b@ 'index($0, want) == 1 { print; found = 1; exit } NF && first == "" { first = $0 } END { if (!found && first != "") { sub(/^[^@]*@/, "", first); print want first } else if (!found) exit 1 }' || { echo 'service backend: 127.0.0.1:5000/b:v1 has no registry digest on the host' >&2; exit 1; }`,
      ].join("\n"),
    );
  });

  it("a pinned digest is only pulled when missing, and echoed canonically", () => {
    const ref = `127.0.0.1:5000/b@${digest}`;
    expect(hc.pullAndResolveDigest("backend", ref)).toBe(
      [
        `docker image inspect ${ref} >/dev/null 2>&1 || out=$(docker pull ${ref} 2>&1) || { printf '%s\\n' 'service backend: pull of ${ref} failed:' "$(printf '%s\\n' "$out" | tail -n 3 | cut -c1-300)" >&2; exit 1; }`,
        `echo ${ref}`,
      ].join("\n"),
    );
  });

  it("logs in with the password on stdin, never on the command line", () => {
    const cmd = hc.pullAndResolveDigest("db", "ghcr.io/acme/db:1", { server: "ghcr.io", username: "bot" });
    expect(cmd.split("\n")[0]).toBe(
      "docker login --username bot --password-stdin ghcr.io >/dev/null 2>&1 || { echo 'service db: docker login to ghcr.io failed' >&2; exit 1; }",
    );
  });

  it("the digest picker prefers the requested repository, else re-homes the first digest", () => {
    const awk = hc.pullAndResolveDigest("s", "127.0.0.1:5000/b:v1").split("\n")[1]!;
    const picker = awk.slice(awk.indexOf("awk"), awk.indexOf(" || {"));
    const pick = (lines: string) => runSh(`printf '%s' '${lines}' | ${picker}`);
    expect(pick(`other/b@${digest}\n127.0.0.1:5000/b@sha256:${"b".repeat(64)}\n`).stdout).toBe(
      `127.0.0.1:5000/b@sha256:${"b".repeat(64)}\n`,
    );
    expect(pick(`other/b@${digest}\n`).stdout).toBe(`127.0.0.1:5000/b@${digest}\n`);
    expect(pick("").code).toBe(1);
  });

  it("checks presence without pulling, and parses the answer", () => {
    expect(hc.imagesPresent(["a:1", "b@sha256:2"])).toBe(
      `for ref in a:1 b@sha256:2; do if docker image inspect "$ref" >/dev/null 2>&1; then echo "present $ref"; else echo "missing $ref"; fi; done`,
    );
    expect(hc.parseImagesPresent("present a:1\nmissing b:2\n")).toEqual({ present: ["a:1"], missing: ["b:2"] });
  });

  it("the keep-previous-images policy removes only digests that are not kept", () => {
    expect(hc.removeImagesExcept(["ghcr.io/a/b"], ["ghcr.io/a/b@sha256:1", "ghcr.io/a/b@sha256:2"])).toBe(
      `keep=' ghcr.io/a/b@sha256:1 ghcr.io/a/b@sha256:2 '; for repo in ghcr.io/a/b; do docker images --digests --format '{{.Repository}}@{{.Digest}}' "$repo" | while read -r ref; do case "$keep" in *" $ref "*) ;; *) case "$ref" in *@sha256:*) docker image rm "$ref" >/dev/null 2>&1 && echo "removed $ref" ;; esac ;; esac; done; done`,
    );
  });
});

describe("the switch step", () => {
  const args: hc.SwitchReleaseArgs = {
    layout: v2,
    releaseId: "v7",
    services: [
      { name: "backend", image: `ghcr.io/acme/backend@${digest}`, waitHealthy: true },
      { name: "redis", image: `redis@${digest}`, waitHealthy: false },
    ],
    retainBackups: 4,
    startTimeoutSeconds: 45,
    stableChecks: 3,
  };
  const script = hc.switchRelease(args);
  const lines = script.split("\n");

  it("is valid POSIX sh and bash", () => {
    expect(spawnSync("/bin/sh", ["-n", "-c", script]).status).toBe(0);
    expect(spawnSync("bash", ["-n", "-c", script]).status).toBe(0);
  });

  it("sets its values through the quoting helper", () => {
    expect(lines.slice(0, 4)).toEqual(["set -u", "app=/opt/awareness", "stage=/opt/awareness/.staging", "release=v7"]);
  });

  it("makes sure every image is on the host before anything running is touched", () => {
    const pull = lines.findIndex((l) => l.startsWith("for pair in "));
    const firstSwitch = lines.findIndex((l) => l.startsWith('mv -f "$stage/docker-compose.yml"'));
    expect(lines[pull]).toBe(
      `for pair in backend=ghcr.io/acme/backend@${digest} redis=redis@${digest}; do svc=\${pair%%=*}; ref=\${pair#*=}; docker image inspect "$ref" >/dev/null 2>&1 || docker pull -q "$ref" >/dev/null 2>&1 || fail "service $svc: image $ref is not on the host and cannot be pulled; the running release was not touched"; done`,
    );
    expect(pull).toBeLessThan(firstSwitch);
  });

  it("backs up with a timestamp and keeps the newest N of each file", () => {
    expect(lines).toContain(
      `for f in docker-compose.yml .env deployment.json; do if [ -f "$f" ]; then cp -p "$f" "$f.$ts.backup" || fail "backup of $app/$f failed"; fi; done`,
    );
    expect(lines).toContain(
      `for f in docker-compose.yml .env deployment.json; do ls -1 "$f".*.backup 2>/dev/null | sort -r | tail -n +5 | while read -r old; do rm -f "$old"; done; done`,
    );
  });

  it("starts with up -d --remove-orphans and undoes the switch when that fails", () => {
    expect(lines).toContain(
      `if ! out=$(docker compose -p awareness -f /opt/awareness/docker-compose.yml up -d --remove-orphans 2>&1); then reason=$(printf '%s\\n' "$out" | tail -n 8 | cut -c1-300); undo; fail "compose up failed for release $release: $reason"; fi`,
    );
  });

  it("waits per service (healthy only where asked), bounded by the start timeout", () => {
    expect(lines).toContain("  for spec in backend:1 redis:0; do");
    expect(lines).toContain(`  if [ "$stable" -ge 3 ]; then break; fi`);
    expect(lines).toContain(
      `  if [ $(( $(date +%s) - start )) -ge 45 ]; then reason="not running after 45 s:$pending"; break; fi`,
    );
    expect(lines).toContain(`if [ -n "$reason" ]; then undo; fail "release $release did not start: $reason"; fi`);
  });

  it("keeps 'previous' when the same release is applied again", () => {
    expect(lines).toContain(`case "$prev" in *'"id":"v7",'*) prev=$old_prev ;; esac`);
  });

  it("carries the script and the files on stdin as four base64 lines", () => {
    const stdin = hc.switchReleaseStdin({ script: "echo hi", compose: "services: {}\n", env: "A='x'\n", currentRecordPrefix: '{"id":"v7"' });
    const b64 = (t: string) => Buffer.from(t).toString("base64");
    expect(stdin).toBe(`${b64("echo hi")}\n${b64("services: {}\n")}\n${b64("A='x'\n")}\n${b64('{"id":"v7"')}\n`);
  });

  it("its command line is a comment naming the release plus a loader for the script on stdin", () => {
    const command = hc.switchReleaseCommand({ layout: v2, releaseId: "v7", images: { redis: `redis@${digest}`, backend: `b@${digest}` } });
    expect(command).toBe(
      [
        `# awareness: switch /opt/awareness to release v7 (backend=b@${digest} redis=redis@${digest})`,
        `IFS= read -r script && eval "$(printf '%s' "$script" | base64 -d)"`,
      ].join("\n"),
    );
  });

  it("the loader runs the script from stdin's first line and leaves the rest to it", () => {
    const script = 'printf "script saw: %s|" "$(cat)"; exit 3';
    const stdin = hc.switchReleaseStdin({ script, compose: "C", env: "E", currentRecordPrefix: "R" });
    const r = runSh(hc.switchReleaseCommand({ layout: v2, releaseId: "v7", images: {} }), { input: stdin });
    const rest = stdin.split("\n").slice(1).join("\n").replace(/\n$/, "");
    expect(r).toMatchObject({ code: 3, stdout: `script saw: ${rest}|` });
  });

  it("parses its summary line", () => {
    expect(hc.parseSwitchOutput('{"deployedAt":"2026-11-27T06:00:00Z","backups":["/a/x.backup"]}')).toEqual({
      deployedAt: "2026-11-27T06:00:00Z",
      backups: ["/a/x.backup"],
    });
    expect(() => hc.parseSwitchOutput("")).toThrow(/no summary/);
    expect(() => hc.parseSwitchOutput('{"deployedAt":"now","backups":[]}')).toThrow(
      /^the switch step's summary line is not a valid summary:\n {2}- deployedAt: expected a UTC time/,
    );
  });
});

describe("scripts that need no docker, run for real in a temp app dir", () => {
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), "hc-"));
    const layout: hc.HostLayout = { ...v2, appDir: join(dir, "app") };
    return { dir, layout };
  };

  it("lock: acquire, refuse a second holder, inspect, release only by the holder", () => {
    const { layout } = fresh();
    const req = { holder: "alice@ci run 1", releaseId: "v1", staleAfterSeconds: 600 };
    expect(hc.acquireLock(layout, req)).toBe(
      [
        `lock=${layout.appDir}/.deploy-lock; holder='alice@ci run 1'; release=v1`,
        `mkdir -p ${layout.appDir} || exit 1`,
        `if ! mkdir "$lock" 2>/dev/null; then`,
        `  since=$(sed -n 's/^time=//p' "$lock/info" 2>/dev/null); now=$(date +%s)`,
        `  info=$(tr '\\n' ' ' < "$lock/info" 2>/dev/null)`,
        `  if [ -n "$since" ] && [ $((now - since)) -ge 600 ]; then`,
        `    echo "breaking a stale lock ($info age=$((now - since)))" >&2; rm -rf "$lock"`,
        `    mkdir "$lock" 2>/dev/null || { echo "locked (taken while breaking a stale lock)"; exit 3; }`,
        `  else`,
        `    echo "locked $info age=$(( now - \${since:-$now} ))"; exit 3`,
        `  fi`,
        `fi`,
        `printf 'holder=%s\\nrelease=%s\\ntime=%s\\n' "$holder" "$release" "$(date +%s)" > "$lock/info.tmp" && mv -f "$lock/info.tmp" "$lock/info" || { rm -rf "$lock"; exit 1; }`,
        `echo acquired`,
      ].join("\n"),
    );
    expect(runSh(hc.acquireLock(layout, req))).toMatchObject({ code: 0, stdout: "acquired\n" });
    const second = runSh(hc.acquireLock(layout, { ...req, holder: "bob" }));
    expect(second.code).toBe(hc.lockBusyExitCode);
    expect(second.stdout).toMatch(/^locked holder=alice@ci run 1 release=v1 time=\d+ {2}age=\d+\n$/);
    const info = hc.parseLockInfo(runSh(hc.inspectLock(layout)).stdout);
    expect(info).toMatchObject({ holder: "alice@ci run 1", release: "v1" });
    expect(info!.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(runSh(hc.releaseLock(layout, "bob")).code).toBe(hc.lockBusyExitCode);
    expect(runSh(hc.releaseLock(layout, "alice@ci run 1")).stdout).toBe("released\n");
    expect(runSh(hc.inspectLock(layout)).stdout).toBe("unlocked\n");
    expect(hc.parseLockInfo("unlocked\n")).toBeNull();
  });

  it("lock: a lock older than the stale limit is broken, and says so", () => {
    const { layout } = fresh();
    mkdirSync(join(layout.appDir, ".deploy-lock"), { recursive: true });
    const old = Math.floor(Date.now() / 1000) - 3600;
    writeFileSync(join(layout.appDir, ".deploy-lock", "info"), `holder=crashed\nrelease=v0\ntime=${old}\n`);
    const r = runSh(hc.acquireLock(layout, { holder: "new", releaseId: "v2", staleAfterSeconds: 600 }));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/breaking a stale lock \(holder=crashed release=v0/);
    expect(readFileSync(join(layout.appDir, ".deploy-lock", "info"), "utf8")).toMatch(/^holder=new\nrelease=v2\ntime=\d+\n$/);
  });

  it("lock: a hostile holder is written literally, and a multi-line one is refused", () => {
    const { layout } = fresh();
    const holder = "x'; touch pwned; echo '$(id) `id`";
    expect(runSh(hc.acquireLock(layout, { holder, releaseId: "v1", staleAfterSeconds: 60 })).code).toBe(0);
    expect(readFileSync(join(layout.appDir, ".deploy-lock", "info"), "utf8").split("\n")[0]).toBe(`holder=${holder}`);
    expect(readdirSync(layout.appDir)).not.toContain("pwned");
    expect(() => hc.acquireLock(layout, { holder: "a\nb", releaseId: "v1", staleAfterSeconds: 60 })).toThrow(/single line/);
  });

  it("deployment record: mark verified only the current release; read it back (the shape parses)", () => {
    const { layout } = fresh();
    mkdirSync(layout.appDir, { recursive: true });
    // As the switch writes them: renderReleaseRecordPrefix + the host's deployedAt.
    const recordOf = (id: string, n: string, deployedAt: string) =>
      `${renderReleaseRecordPrefix({
        id,
        gitSha: id === "v2" ? "0123456" : null,
        images: { b: `r@sha256:${n.repeat(64)}` },
        composeSha256: n.repeat(64),
        composeCommand: "docker compose",
      })},"deployedAt":"${deployedAt}"}`;
    const cur = recordOf("v2", "2", "2026-11-27T06:00:00Z");
    const prev = recordOf("v1", "1", "2026-11-26T06:00:00Z");
    writeFileSync(
      join(layout.appDir, "deployment.json"),
      `{\n  "schema": 1,\n  "current": ${cur},\n  "previous": ${prev},\n  "verified": null,\n  "updatedAt": "2026-11-27T06:00:00Z"\n}\n`,
    );
    expect(hc.parseDeploymentStatus(runSh(hc.readDeploymentStatus(layout)).stdout)!.verified).toBeNull();
    const refused = runSh(hc.markReleaseVerified(layout, "v1"));
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/release v1 is not the current release/);
    expect(runSh(hc.markReleaseVerified(layout, "v2")).stdout).toMatch(/^verified \d{4}-\d\d-\d\dT/);
    // What markReleaseVerified wrote is a valid deployment.json (deploymentStatusSchema).
    const status = hc.parseDeploymentStatus(runSh(hc.readDeploymentStatus(layout)).stdout, "the temp host")!;
    expect(status.current).toEqual(JSON.parse(cur));
    expect(status.previous).toEqual(JSON.parse(prev));
    expect(status.verified).toEqual({ ...JSON.parse(cur), verifiedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
    expect(status.updatedAt).toBe(status.verified!.verifiedAt);
    // Marking again replaces verifiedAt instead of stacking it.
    expect(runSh(hc.markReleaseVerified(layout, "v2")).code).toBe(0);
    const again = hc.parseDeploymentStatus(runSh(hc.readDeploymentStatus(layout)).stdout)!;
    expect(again.verified).toEqual({ ...JSON.parse(cur), verifiedAt: expect.any(String) });
    expect(readFileSync(join(layout.appDir, "deployment.json"), "utf8").match(/verifiedAt/g)).toHaveLength(1);
    expect(hc.parseDeploymentStatus(runSh(hc.readDeploymentStatus({ ...layout, appDir: "/nonexistent" })).stdout)).toBeNull();
  });

  it("deployment record: a corrupt deployment.json is an error naming the file, not a cast", () => {
    const { layout } = fresh();
    mkdirSync(layout.appDir, { recursive: true });
    writeFileSync(join(layout.appDir, "deployment.json"), '{\n  "schema": 1,\n  "current": {"id":"v2",\n');
    expect(() => hc.parseDeploymentStatus(runSh(hc.readDeploymentStatus(layout)).stdout, "h1")).toThrow(
      /^deployment\.json on h1 is not a valid deployment record:\n {2}- \(the whole value\): not valid JSON/,
    );
    writeFileSync(join(layout.appDir, "deployment.json"), '{"schema":1,"current":{"id":"v2"},"previous":null,"verified":null,"updatedAt":"2026-11-27T06:00:00Z"}\n');
    expect(() => hc.parseDeploymentStatus(runSh(hc.readDeploymentStatus(layout)).stdout, "h1")).toThrow(/- current\.images: is required but not set/);
  });

  it("lists backups (dot files too) as absolute paths, oldest first", () => {
    const { layout } = fresh();
    mkdirSync(layout.appDir, { recursive: true });
    for (const f of ["docker-compose.yml.20260101T000000Z.backup", ".env.20260101T000000Z.backup", "docker-compose.yml", "docker-compose.yml.20250101T000000Z.backup"]) {
      writeFileSync(join(layout.appDir, f), "x");
    }
    expect(runSh(hc.listBackups(layout)).stdout.trim().split("\n")).toEqual([
      `${layout.appDir}/.env.20260101T000000Z.backup`,
      `${layout.appDir}/docker-compose.yml.20250101T000000Z.backup`,
      `${layout.appDir}/docker-compose.yml.20260101T000000Z.backup`,
    ]);
  });

  it("restore from the newest backups saves the current files first and uses the newest ones", () => {
    const { dir, layout } = fresh();
    mkdirSync(layout.appDir, { recursive: true });
    const files: Record<string, string> = {
      "docker-compose.yml": "current",
      "docker-compose.yml.20250101T000000Z.backup": "oldest",
      "docker-compose.yml.20260101T000000Z.backup": "newest",
      ".env": "E=current",
      ".env.20260101T000000Z.backup": "E=newest",
    };
    for (const [f, c] of Object.entries(files)) writeFileSync(join(layout.appDir, f), c);
    // A stand-in `docker` records the compose call instead of starting containers.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "docker"), `#!/bin/sh\necho "$*" >> ${dir}/docker.log\n`, { mode: 0o755 });
    const r = runSh(hc.restoreNewestBackups(layout), { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code).toBe(0);
    expect(readFileSync(join(layout.appDir, "docker-compose.yml"), "utf8")).toBe("newest");
    expect(readFileSync(join(layout.appDir, ".env"), "utf8")).toBe("E=newest");
    const saved = readdirSync(layout.appDir).filter((f) => f.startsWith("docker-compose.yml.") && f.endsWith(".backup"));
    expect(saved.map((f) => readFileSync(join(layout.appDir, f), "utf8")).sort()).toEqual(["current", "newest", "oldest"]);
    expect(readFileSync(join(dir, "docker.log"), "utf8")).toBe(
      `compose -p awareness -f ${layout.appDir}/docker-compose.yml up -d --remove-orphans\n`,
    );
  });
});

describe("prechecks and host-side probes", () => {
  it("reads disk, memory, docker and compose versions as key=value lines", () => {
    expect(hc.precheckProbe(v1)).toBe(
      [
        `d=/opt/awareness; while [ ! -d "$d" ]; do d=$(dirname "$d"); done`,
        `echo "disk_free_mb=$(df -Pm "$d" | awk 'NR==2 {print $4}')"`,
        `echo "mem_available_mb=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)"`,
        `echo "docker_server=$(docker version --format '{{.Server.Version}}' 2>/dev/null | head -n 1)"`,
        `echo "compose=$(docker-compose version --short 2>/dev/null | head -n 1)"`,
        `echo "flock=$(command -v flock >/dev/null 2>&1 && echo yes || echo no)"`,
      ].join("\n"),
    );
    // The disk and memory lines run on this machine too.
    const report = hc.parsePrecheck(execFileSync("/bin/sh", ["-c", hc.precheckProbe({ ...v2, appDir: "/nonexistent/app" })], { encoding: "utf8" }));
    expect(report.diskFreeMb).toBeGreaterThan(0);
    expect(report.memAvailableMb).toBeGreaterThan(0);
    expect(report.flock).toBe(true); // util-linux, as on the hosts the switch runs on
  });

  it("judges the report against the floors, with the next step", () => {
    const ok = { diskFreeMb: 5000, memAvailableMb: 900, dockerServer: "20.10.24", compose: "2.40.3", flock: true };
    expect(hc.judgePrecheck(ok, { minFreeDiskMb: 2048, minFreeMemoryMb: 256 })).toEqual([]);
    expect(hc.judgePrecheck({ ...ok, diskFreeMb: 100, compose: null }, { minFreeDiskMb: 2048, minFreeMemoryMb: 256 })).toEqual([
      "only 100 MB free disk (need 2048 MB): free space on the host",
      "the configured compose command is not installed on the host",
    ]);
    expect(hc.judgePrecheck({ ...ok, flock: false }, { minFreeDiskMb: 2048, minFreeMemoryMb: 256 })).toEqual([
      "flock is not installed on the host (util-linux): the docker and compose switch needs it",
    ]);
  });

  it("probes a URL from the host with curl (wget as a fallback)", () => {
    expect(hc.probeFromHost("http://127.0.0.1:18080/api/health", 2)).toBe(
      `if command -v curl >/dev/null 2>&1; then curl -s -o /dev/null -m 2 -w '%{http_code} %{time_total}\\n' http://127.0.0.1:18080/api/health || true; elif wget -q -T 2 -O /dev/null http://127.0.0.1:18080/api/health 2>/dev/null; then echo "200 0"; else echo "000 0"; fi`,
    );
  });
});

describe("registry check (before a deploy, nothing pulled)", () => {
  it("asks the registry for each manifest; loopback registries over plain HTTP", () => {
    expect(hc.registryHasImages(["127.0.0.1:5000/b:v1", "ghcr.io/a/b@sha256:1"])).toBe(
      [
        `if err=$(docker manifest inspect --insecure 127.0.0.1:5000/b:v1 2>&1 >/dev/null); then echo 'present 127.0.0.1:5000/b:v1'; else echo 'missing 127.0.0.1:5000/b:v1' "$(printf '%s' "$err" | tr '\\n' ' ' | cut -c1-200)"; fi`,
        `if err=$(docker manifest inspect ghcr.io/a/b@sha256:1 2>&1 >/dev/null); then echo 'present ghcr.io/a/b@sha256:1'; else echo 'missing ghcr.io/a/b@sha256:1' "$(printf '%s' "$err" | tr '\\n' ' ' | cut -c1-200)"; fi`,
      ].join("\n"),
    );
    expect(hc.parseRegistryCheck("present a:1\nmissing b:2 manifest unknown\n")).toEqual({
      present: ["a:1"],
      missing: [{ ref: "b:2", reason: "manifest unknown" }],
    });
  });
});
