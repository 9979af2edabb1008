// Every host command as an exact string, the quoting helper against a real /bin/sh, and the
// scripts that need no docker (lock, deployment record, backups) run for real in a temp dir.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
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
  return { code: r.status, stdout: r.stdout, ...splitPhases(r.stderr) };
}

/** The switch's phase lines (the run's breakdown reads them) apart from what it says on stderr. */
function splitPhases(stderr: string): { stderr: string; phases: [string, number][] } {
  const lines = stderr.split("\n");
  const isPhase = (l: string) => l.startsWith(`${hc.switchPhaseMarker} `);
  return {
    stderr: lines.filter((l) => !isPhase(l)).join("\n"),
    phases: lines.filter(isPhase).map((l) => [l.split(" ")[1]!, Number(l.split(" ")[2])]),
  };
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

  it("writes the staged files (the env file's secrets) private from their first byte", () => {
    const dir = mkdtempSync(join(tmpdir(), "awareness-stage-"));
    const app = join(dir, "app");
    // The script's own first lines, up to reading stdin, run for real.
    const upToBundle = lines.slice(0, lines.findIndex((l) => l.startsWith(`cat > "$stage/bundle"`)) + 1).join("\n")
      .replace(/^app=.*$/m, `app=${app}`).replace(/^stage=.*$/m, `stage=${app}/.staging`).replace(/^exec 9>>.*$/m, ":");
    const r = spawnSync("/bin/sh", ["-c", upToBundle], { input: "bundle line with SECRET\n", encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(join(app, ".staging")).mode & 0o777).toBe(0o700);
    expect(statSync(join(app, ".staging", "bundle")).mode & 0o777).toBe(0o600);
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

  it("backs up the replaced files as one set named by their release, with a manifest, and keeps the newest N sets", () => {
    const backup = [
      `at=$(date -u +%Y-%m-%dT%H:%M:%SZ); ts=$(printf '%s' "$at" | tr -d ':-'); bak=""; had_previous=0; [ -f docker-compose.yml ] && had_previous=1`,
      `cur_rec=$(sed -n 's/^  "current": \\(.*\\),$/\\1/p' deployment.json 2>/dev/null)`,
      `cur_id=$(printf '%s' "$cur_rec" | sed -n 's/^{"id":"\\([A-Za-z0-9._-]*\\)",.*/\\1/p'); [ -n "$cur_id" ] || { cur_id=unrecorded; cur_rec=null; }`,
      `if [ -f docker-compose.yml ] || [ -f .env ] || [ -f deployment.json ]; then`,
      `  while [ -n "$(ls -d backups/"$ts"-* 2>/dev/null)" ]; do sleep 1; at=$(date -u +%Y-%m-%dT%H:%M:%SZ); ts=$(printf '%s' "$at" | tr -d ':-'); done`,
      `  bak="backups/$ts-$cur_id"; files=""; sum=null`,
      `  mkdir -p "$bak" || fail "cannot create $app/$bak"`,
      `  for f in docker-compose.yml .env deployment.json; do if [ -f "$f" ]; then cp -p "$f" "$bak/$f" || fail "backup of $app/$f failed"; files="$files\${files:+,}\\"$f\\""; fi; done`,
      `  s=$(sha256sum docker-compose.yml 2>/dev/null | cut -c1-64); [ -z "$s" ] || sum="\\"$s\\""`,
      `fi`,
      `vol_json=""`,
      `if [ -n "$bak" ]; then`,
      `  printf '{\\n  "schema": 1,\\n  "set": "%s",\\n  "backedUpAt": "%s",\\n  "release": %s,\\n  "composeSha256": %s,\\n  "files": [%s]%s\\n}\\n' "\${bak#backups/}" "$at" "$cur_rec" "$sum" "$files" "$vol_json" > "$bak/manifest.json" || fail "writing $app/$bak/manifest.json failed"`,
      `fi`,
      `ls -1 backups 2>/dev/null | sort -r | tail -n +5 | while read -r old; do rm -rf backups/"$old"; done`,
    ];
    const at = lines.indexOf(backup[0]!);
    expect(lines.slice(at, at + backup.length)).toEqual(backup);
    expect(at).toBeLessThan(lines.findIndex((l) => l.startsWith('mv -f "$stage/docker-compose.yml"')));
  });

  it("undoes a failed start from the set it just made", () => {
    expect(lines).toContain(`    cp -p "$bak/docker-compose.yml" "$stage/docker-compose.yml.prev" && mv -f "$stage/docker-compose.yml.prev" docker-compose.yml`);
    expect(lines).toContain(
      `    if [ -f "$bak/.env" ]; then cp -p "$bak/.env" "$stage/.env.prev" && mv -f "$stage/.env.prev" .env; else rm -f .env; fi`,
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
    expect(lines).toContain(`case "$rec_current" in *'"id":"v7",'*) ;; *) rec_previous=$rec_current ;; esac`);
    // Every record is carried over, "failed" too (files written before it existed read as null); a switch ends any pause.
    expect(lines).toContain("rec_paused=null # a switch ends any pause");
    expect(lines).toContain(
      `printf '{\\n  "schema": 1,\\n  "current": %s,\\n  "previous": %s,\\n  "verified": %s,\\n  "failed": %s,\\n  "paused": %s,\\n  "updatedAt": "%s"\\n}\\n' "$rec_current" "$rec_previous" "$rec_verified" "$rec_failed" "$rec_paused" "$now" > "$stage/deployment.json" && chmod 644 "$stage/deployment.json" && mv -f "$stage/deployment.json" deployment.json || fail "release runs, but writing $app/deployment.json failed"`,
    );
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

describe("the deploy lock: one flock-serialised command per operation", () => {
  const owner = { holder: "alice@ci run 1", nonce: "n0nce42" };
  const entered = (vars: string, missingAppDir: string, flock = "flock -w 10 9") => [
    `lock=/opt/awareness/.deploy-lock${vars}`,
    missingAppDir,
    `command -v flock >/dev/null 2>&1 || { echo "flock is not installed on $(uname -n): the deploy lock needs it (util-linux or busybox)" >&2; exit 1; }`,
    `exec 9>>"$lock.flock" && ${flock} || { echo "could not lock $lock.flock on $(uname -n) within 10 s" >&2; exit 1; }`,
  ];
  const readInfo = [
    `h= r= t= b= n=`,
    `[ -f "$lock/info" ] && while IFS= read -r line; do case $line in holder=*) h=\${line#holder=};; release=*) r=\${line#release=};; time=*) t=\${line#time=};; heartbeat=*) b=\${line#heartbeat=};; nonce=*) n=\${line#nonce=};; esac; done < "$lock/info"`,
    `case $t in *[!0-9]*) t= ;; esac; case $b in ''|*[!0-9]*) b=$t ;; esac`,
  ];
  const printInfo = (indent: string) => [
    `${indent}if [ -f "$lock/info" ]; then printf 'holder=%s\\nrelease=%s\\ntime=%s\\nheartbeat=%s\\nnonce=%s\\n' "$h" "$r" "$t" "$b" "$n"; else echo noinfo=1; fi`,
    `${indent}echo "age=\${t:+$((now - t))}"; echo "heartbeat_age=\${b:+$((now - b))}"`,
  ];

  it("acquire: in the critical section, a live lock is reported, a stale one (or one without info) broken, the info renamed in", () => {
    expect(hc.acquireLock(v2, { ...owner, releaseId: "v1", leaseSeconds: 180 })).toBe(
      [
        ...entered(`; holder='alice@ci run 1'; release=v1; nonce=n0nce42; lease=180`, `mkdir -p /opt/awareness || exit 1`),
        `now=$(date +%s)`,
        ...readInfo,
        `if [ -d "$lock" ]; then`,
        `  if [ -f "$lock/info" ] && [ -n "$b" ] && [ $((now - b)) -lt "$lease" ]; then`,
        `    echo locked`,
        ...printInfo("    "),
        `    exit 3`,
        `  fi`,
        `  if [ -f "$lock/info" ]; then`,
        `    echo "breaking a stale lock (holder=$h release=$r age=\${t:+$((now - t))} heartbeat_age=\${b:+$((now - b))})" >&2`,
        `  else`,
        `    echo "breaking a stale lock (no info file: left by an older version or a crash)" >&2`,
        `  fi`,
        `  rm -rf "$lock" || exit 1`,
        `fi`,
        `mkdir "$lock" && printf 'holder=%s\\nrelease=%s\\ntime=%s\\nheartbeat=%s\\nnonce=%s\\n' "$holder" "$release" "$now" "$now" "$nonce" > "$lock.info.tmp" && mv -f "$lock.info.tmp" "$lock/info" || { rm -rf "$lock" "$lock.info.tmp"; exit 1; }`,
        `echo acquired`,
      ].join("\n"),
    );
  });

  it("renew: only the same holder and nonce moves the heartbeat; otherwise who holds it now", () => {
    expect(hc.renewLock(v2, owner)).toBe(
      [
        ...entered(`; holder='alice@ci run 1'; nonce=n0nce42`, `[ -d /opt/awareness ] || { echo "not locked"; exit 3; }`),
        `[ -d "$lock" ] || { echo "not locked"; exit 3; }`,
        `now=$(date +%s)`,
        ...readInfo,
        `if [ "$h" != "$holder" ] || [ "$n" != "$nonce" ]; then`,
        `  echo locked`,
        ...printInfo("  "),
        `  exit 3`,
        `fi`,
        `printf 'holder=%s\\nrelease=%s\\ntime=%s\\nheartbeat=%s\\nnonce=%s\\n' "$h" "$r" "$t" "$now" "$n" > "$lock.info.tmp" && mv -f "$lock.info.tmp" "$lock/info" || exit 1`,
        `echo renewed`,
      ].join("\n"),
    );
  });

  it("release: by its holder and nonce, or forced", () => {
    const start = [`[ -d "$lock" ] || { echo "not locked"; exit 0; }`, ...readInfo];
    expect(hc.releaseLock(v2, owner)).toBe(
      [
        ...entered(`; holder='alice@ci run 1'; nonce=n0nce42`, `[ -d /opt/awareness ] || { echo "not locked"; exit 0; }`),
        ...start,
        `if [ "$h" = "$holder" ] && [ "$n" = "$nonce" ]; then rm -rf "$lock" && echo released; else echo "not released: held by \${h:-nobody named (no info file)}" >&2; exit 3; fi`,
      ].join("\n"),
    );
    expect(hc.releaseLock(v2, "force")).toBe(
      [
        ...entered("", `[ -d /opt/awareness ] || { echo "not locked"; exit 0; }`),
        ...start,
        `rm -rf "$lock" && echo "released (forced; was held by \${h:-nobody named: no info file})"`,
      ].join("\n"),
    );
    // A lock of an older version has no nonce: the dead-holder break names it with "".
    expect(hc.releaseLock(v2, { holder: "bob", nonce: "" }).split("\n")[0]).toBe(`lock=/opt/awareness/.deploy-lock; holder=bob; nonce=''`);
  });

  it("inspect: under a shared lock, the fields with both ages", () => {
    expect(hc.inspectLock(v2)).toBe(
      [
        ...entered("", `[ -d /opt/awareness ] || { echo unlocked; exit 0; }`, "flock -s -w 10 9"),
        `[ -d "$lock" ] || { echo unlocked; exit 0; }`,
        `now=$(date +%s)`,
        ...readInfo,
        ...printInfo(""),
      ].join("\n"),
    );
  });

  it("refuses values that would break the info file or the command", () => {
    expect(() => hc.acquireLock(v2, { ...owner, holder: "a\nb", releaseId: "v1", leaseSeconds: 60 })).toThrow(/single line/);
    expect(() => hc.acquireLock(v2, { ...owner, releaseId: "v1\nholder=me", leaseSeconds: 60 })).toThrow(/single line/);
    expect(() => hc.acquireLock(v2, { ...owner, nonce: "x; rm -rf /", releaseId: "v1", leaseSeconds: 60 })).toThrow(/nonce/);
    expect(() => hc.acquireLock(v2, { ...owner, nonce: "", releaseId: "v1", leaseSeconds: 60 })).toThrow(/nonce/);
    expect(() => hc.renewLock(v2, { ...owner, nonce: "" })).toThrow(/nonce/);
    expect(() => hc.acquireLock(v2, { ...owner, releaseId: "v1", leaseSeconds: 0 })).toThrow(/lease/);
    expect(() => hc.acquireLock(v2, { ...owner, releaseId: "v1", leaseSeconds: 2.5 })).toThrow(/lease/);
  });

  it("parses both ages, a lock without info, and says both in one line", () => {
    const info = hc.parseLockInfo("holder=alice\nrelease=v1\ntime=1000\nheartbeat=1100\nnonce=abc\nage=130\nheartbeat_age=30\n");
    expect(info).toEqual({ holder: "alice", nonce: "abc", release: "v1", time: 1000, heartbeat: 1100, ageSeconds: 130, heartbeatAgeSeconds: 30 });
    expect(hc.describeLock(info!)).toBe("alice (release v1, taken 130 s ago, last heartbeat 30 s ago)");
    const noInfo = hc.parseLockInfo("noinfo=1\nage=\nheartbeat_age=\n");
    expect(noInfo).toMatchObject({ holder: "", noInfo: true, ageSeconds: null, heartbeatAgeSeconds: null });
    expect(hc.describeLock(noInfo!)).toMatch(/without its info file.*stale/);
    expect(hc.parseLockInfo("unlocked\n")).toBeNull();
    expect(hc.parseLockInfo("not locked\n")).toBeNull();
  });
});

describe("scripts that need no docker, run for real in a temp app dir", () => {
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), "hc-"));
    const layout: hc.HostLayout = { ...v2, appDir: join(dir, "app") };
    return { dir, layout };
  };

  const lockDir = (layout: hc.HostLayout) => join(layout.appDir, ".deploy-lock");
  const writeInfo = (layout: hc.HostLayout, text: string) => {
    mkdirSync(lockDir(layout), { recursive: true });
    writeFileSync(join(lockDir(layout), "info"), text);
  };
  const readInfo = (layout: hc.HostLayout) => readFileSync(join(lockDir(layout), "info"), "utf8");
  const epoch = () => Math.floor(Date.now() / 1000);
  const alice = { holder: "alice@ci run 1", nonce: "a1" };

  it("lock: acquire, refuse a second holder (with the holder's fields), inspect, renew and release only by the same acquisition", () => {
    const { layout } = fresh();
    const req = { ...alice, releaseId: "v1", leaseSeconds: 600 };
    expect(runSh(hc.inspectLock(layout)).stdout).toBe("unlocked\n");
    expect(runSh(hc.acquireLock(layout, req))).toMatchObject({ code: 0, stdout: "acquired\n", stderr: "" });
    expect(readInfo(layout)).toMatch(/^holder=alice@ci run 1\nrelease=v1\ntime=(\d+)\nheartbeat=\1\nnonce=a1\n$/);
    const second = runSh(hc.acquireLock(layout, { ...req, holder: "bob", nonce: "b1" }));
    expect(second.code).toBe(hc.lockBusyExitCode);
    expect(second.stdout).toMatch(/^locked\nholder=alice@ci run 1\nrelease=v1\ntime=\d+\nheartbeat=\d+\nnonce=a1\nage=\d+\nheartbeat_age=\d+\n$/);
    // The same holder with another nonce is another acquisition: refused too.
    expect(runSh(hc.acquireLock(layout, { ...req, nonce: "a2" })).code).toBe(hc.lockBusyExitCode);

    // Taken 100 s ago, renewed 40 s ago: inspect says both.
    const now = epoch();
    writeInfo(layout, `holder=alice@ci run 1\nrelease=v1\ntime=${now - 100}\nheartbeat=${now - 40}\nnonce=a1\n`);
    const info = hc.parseLockInfo(runSh(hc.inspectLock(layout)).stdout)!;
    expect(info).toMatchObject({ holder: "alice@ci run 1", release: "v1", nonce: "a1", time: now - 100, heartbeat: now - 40 });
    expect(info.ageSeconds).toBeGreaterThanOrEqual(100);
    expect(info.heartbeatAgeSeconds).toBeGreaterThanOrEqual(40);
    expect(info.heartbeatAgeSeconds).toBeLessThan(45);

    const stranger = runSh(hc.renewLock(layout, { ...alice, nonce: "a2" }));
    expect(stranger.code).toBe(hc.lockBusyExitCode);
    expect(stranger.stdout).toMatch(/^locked\nholder=alice@ci run 1\n/);
    expect(runSh(hc.renewLock(layout, alice))).toMatchObject({ code: 0, stdout: "renewed\n" });
    const renewed = readInfo(layout).match(/^holder=alice@ci run 1\nrelease=v1\ntime=(\d+)\nheartbeat=(\d+)\nnonce=a1\n$/)!;
    expect(Number(renewed[1])).toBe(now - 100);
    expect(Number(renewed[2])).toBeGreaterThanOrEqual(now);
    expect(readdirSync(layout.appDir).sort()).toEqual([".deploy-lock", ".deploy-lock.flock"]);

    const refused = runSh(hc.releaseLock(layout, { holder: "bob", nonce: "a1" }));
    expect(refused).toMatchObject({ code: hc.lockBusyExitCode, stderr: "not released: held by alice@ci run 1\n" });
    expect(runSh(hc.releaseLock(layout, { ...alice, nonce: "a2" })).code).toBe(hc.lockBusyExitCode);
    expect(runSh(hc.releaseLock(layout, alice)).stdout).toBe("released\n");
    expect(runSh(hc.inspectLock(layout)).stdout).toBe("unlocked\n");
    expect(runSh(hc.releaseLock(layout, alice))).toMatchObject({ code: 0, stdout: "not locked\n" });
    expect(runSh(hc.renewLock(layout, alice))).toMatchObject({ code: hc.lockBusyExitCode, stdout: "not locked\n" });
  });

  it("lock: the lease, not the age: a lock whose heartbeat is a lease old is broken (and says so); an old one renewed lately is not", () => {
    const { layout } = fresh();
    const now = epoch();
    writeInfo(layout, `holder=busy\nrelease=v0\ntime=${now - 7200}\nheartbeat=${now - 10}\nnonce=x\n`);
    expect(runSh(hc.acquireLock(layout, { holder: "new", nonce: "n", releaseId: "v2", leaseSeconds: 180 })).code).toBe(hc.lockBusyExitCode);
    writeInfo(layout, `holder=crashed\nrelease=v0\ntime=${now - 7200}\nheartbeat=${now - 200}\nnonce=x\n`);
    const r = runSh(hc.acquireLock(layout, { holder: "new", nonce: "n", releaseId: "v2", leaseSeconds: 180 }));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^breaking a stale lock \(holder=crashed release=v0 age=72\d\d heartbeat_age=2\d\d\)\n$/);
    expect(readInfo(layout)).toMatch(/^holder=new\nrelease=v2\ntime=(\d+)\nheartbeat=\1\nnonce=n\n$/);
  });

  it("lock: a lock dir without its info file is stale at once; one of an older version (no heartbeat) is judged by its time", () => {
    const { layout } = fresh();
    mkdirSync(lockDir(layout), { recursive: true });
    expect(hc.parseLockInfo(runSh(hc.inspectLock(layout)).stdout)).toMatchObject({ noInfo: true, heartbeatAgeSeconds: null });
    const r = runSh(hc.acquireLock(layout, { holder: "new", nonce: "n", releaseId: "v2", leaseSeconds: 3600 }));
    expect(r).toMatchObject({ code: 0, stdout: "acquired\n", stderr: "breaking a stale lock (no info file: left by an older version or a crash)\n" });

    const now = epoch();
    writeInfo(layout, `holder=old\nrelease=v0\ntime=${now - 30}\n`);
    expect(hc.parseLockInfo(runSh(hc.inspectLock(layout)).stdout)).toMatchObject({ holder: "old", nonce: "", heartbeat: now - 30 });
    expect(runSh(hc.acquireLock(layout, { holder: "new", nonce: "n", releaseId: "v2", leaseSeconds: 60 })).code).toBe(hc.lockBusyExitCode);
    expect(runSh(hc.acquireLock(layout, { holder: "new", nonce: "n", releaseId: "v2", leaseSeconds: 20 })).code).toBe(0);
    // The dead-holder break of an older version's lock names it by holder and the empty nonce.
    writeInfo(layout, `holder=old\nrelease=v0\ntime=${now}\n`);
    expect(runSh(hc.releaseLock(layout, { holder: "old", nonce: "" })).stdout).toBe("released\n");
    writeInfo(layout, `holder=other\nrelease=v0\ntime=${now}\nheartbeat=${now}\nnonce=z\n`);
    expect(runSh(hc.releaseLock(layout, "force")).stdout).toBe("released (forced; was held by other)\n");
  });

  it("lock: a hostile holder is written literally", () => {
    const { layout } = fresh();
    const holder = "x'; touch pwned; echo '$(id) `id`";
    expect(runSh(hc.acquireLock(layout, { holder, nonce: "h", releaseId: "v1", leaseSeconds: 60 })).code).toBe(0);
    expect(readInfo(layout).split("\n")[0]).toBe(`holder=${holder}`);
    expect(runSh(hc.renewLock(layout, { holder, nonce: "h" })).stdout).toBe("renewed\n");
    expect(readInfo(layout).split("\n")[0]).toBe(`holder=${holder}`);
    expect(readdirSync(layout.appDir)).not.toContain("pwned");
  });

  it("lock: without flock on the host every operation fails naming the host, and nothing is taken", () => {
    const { dir, layout } = fresh();
    const bin = join(dir, "bin");
    mkdirSync(bin);
    for (const tool of ["mkdir", "date", "rm", "mv", "uname"]) {
      const found = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
      symlinkSync(found, join(bin, tool));
    }
    const host = execFileSync("uname", ["-n"], { encoding: "utf8" }).trim();
    for (const command of [
      hc.acquireLock(layout, { ...alice, releaseId: "v1", leaseSeconds: 60 }),
      hc.renewLock(layout, alice),
      hc.releaseLock(layout, alice),
      hc.inspectLock(layout),
    ]) {
      expect(runSh(command, { env: { PATH: bin } })).toMatchObject({
        code: 1,
        stdout: "",
        stderr: `flock is not installed on ${host}: the deploy lock needs it (util-linux or busybox)\n`,
      });
    }
    expect(readdirSync(layout.appDir)).toEqual([]);
  });

  it("lock: 4 acquirers at once, 40 times (half from a stale lock): exactly one acquires each time", () => {
    const { dir, layout } = fresh();
    const scripts = [1, 2, 3, 4].map((k) => {
      const file = join(dir, `acquire-${k}.sh`);
      writeFileSync(file, hc.acquireLock(layout, { holder: `c${k}`, nonce: `n${k}`, releaseId: "v1", leaseSeconds: 60 }));
      return file;
    });
    const trial = [
      `i=0; while [ $i -lt 40 ]; do`,
      `  rm -rf ${lockDir(layout)}; rm -f ${dir}/out.*`,
      `  [ $((i % 2)) = 1 ] && mkdir -p ${lockDir(layout)} && printf 'holder=dead\\nrelease=v0\\ntime=1\\nheartbeat=1\\nnonce=d\\n' > ${lockDir(layout)}/info`,
      ...scripts.map((s, k) => `  (sh ${s} >/dev/null 2>&1 && echo c${k + 1}) > ${dir}/out.${k + 1} &`),
      `  wait; echo "$(cat ${dir}/out.* | tr '\\n' ' ')|$(sed -n 's/^holder=//p' ${lockDir(layout)}/info)"; i=$((i + 1))`,
      `done`,
    ].join("\n");
    const r = runSh(trial);
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split("\n");
    expect(rows).toHaveLength(40);
    for (const row of rows) {
      const [winners, holder] = row.split("|");
      expect(winners!.trim().split(" ").filter(Boolean)).toEqual([holder]);
    }
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

  it("lists backups as absolute paths, oldest first: older flat *.backup files, then each set's files", () => {
    const { layout } = fresh();
    mkdirSync(join(layout.appDir, "backups", "20260102T000000Z-v2"), { recursive: true });
    mkdirSync(join(layout.appDir, "backups", "20260101T000000Z-v1"), { recursive: true });
    for (const f of [
      "docker-compose.yml",
      ".env.20250101T000000Z.backup",
      "backups/20260101T000000Z-v1/docker-compose.yml",
      "backups/20260101T000000Z-v1/.env",
      "backups/20260101T000000Z-v1/manifest.json",
      "backups/20260102T000000Z-v2/docker-compose.yml",
    ]) {
      writeFileSync(join(layout.appDir, f), "x");
    }
    expect(hc.listBackups(v2)).toBe(
      `cd /opt/awareness 2>/dev/null || exit 0; { ls -1 *.backup .*.backup 2>/dev/null | sort; for s in $(ls -1 backups 2>/dev/null | sort); do ls -1A backups/"$s" | sort | sed "s|^|backups/$s/|"; done; } | while read -r f; do echo /opt/awareness/"$f"; done`,
    );
    expect(runSh(hc.listBackups(layout)).stdout.trim().split("\n")).toEqual([
      `${layout.appDir}/.env.20250101T000000Z.backup`,
      `${layout.appDir}/backups/20260101T000000Z-v1/.env`,
      `${layout.appDir}/backups/20260101T000000Z-v1/docker-compose.yml`,
      `${layout.appDir}/backups/20260101T000000Z-v1/manifest.json`,
      `${layout.appDir}/backups/20260102T000000Z-v2/docker-compose.yml`,
    ]);
    expect(runSh(hc.listBackups({ ...layout, appDir: "/nonexistent" })).stdout).toBe("");
  });

  it("records a release as failed, and clears it when that release is verified", () => {
    const { layout } = fresh();
    mkdirSync(layout.appDir, { recursive: true });
    const cur = `${renderReleaseRecordPrefix({ id: "v2", gitSha: null, images: { b: `r@sha256:${"2".repeat(64)}` }, composeSha256: "2".repeat(64), composeCommand: "docker compose" })},"deployedAt":"2026-11-27T06:00:00Z"}`;
    writeFileSync(
      join(layout.appDir, "deployment.json"),
      `{\n  "schema": 1,\n  "current": ${cur},\n  "previous": null,\n  "verified": null,\n  "updatedAt": "2026-11-27T06:00:00Z"\n}\n`,
    );
    const reason = `failed its health check: 3 rounds in a row ("/api/auth/status" 500) it's bad`;
    expect(hc.markReleaseFailed(v2, "v2", reason).split("\n")).toEqual([
      "cd /opt/awareness || exit 1",
      `[ -f deployment.json ] || { echo "no deployment.json on this host: nothing recorded" >&2; exit 0; }`,
      ...hc.readRecordLines(),
      `now=$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
      `rec_failed='{"id":"v2","reason":"failed its health check: 3 rounds in a row (\\"/api/auth/status\\" 500) it'\\''s bad","failedAt":"'"$now"'"}'`,
      `case "$rec_paused" in *'"id":"v2",'*) rec_paused=null ;; esac`,
      `${hc.writeRecordLine("deployment.json.tmp")} || exit 1`,
      `echo "failed $now"`,
    ]);
    expect(hc.readRecordLines()[3]).toBe(
      `rec_failed=$(sed -n 's/^  "failed": \\(.*\\),$/\\1/p' deployment.json 2>/dev/null); case "$rec_failed" in '{"id":"'*'}') ;; *) rec_failed=null ;; esac`,
    );
    expect(runSh(hc.markReleaseFailed(layout, "v2", reason))).toMatchObject({ code: 0, stdout: expect.stringMatching(/^failed \d{4}-/) });
    const failed = hc.parseDeploymentStatus(runSh(hc.readDeploymentStatus(layout)).stdout)!;
    expect(failed.failed).toEqual({ id: "v2", reason, failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
    expect(failed.current).toEqual(JSON.parse(cur));
    expect(runSh(hc.markReleaseVerified(layout, "v2")).code).toBe(0);
    expect(hc.parseDeploymentStatus(runSh(hc.readDeploymentStatus(layout)).stdout)!.failed).toBeNull();
    expect(runSh(hc.markReleaseFailed({ ...layout, appDir: join(layout.appDir, "none") }, "v2", "x")).code).toBe(1);
    expect(() => hc.markReleaseFailed(v2, "v2", "two\nlines")).toThrow(/single line/);
  });
});

describe("backup sets, run for real with a stand-in docker", () => {
  const hex = (n: string) => n.repeat(64);
  /** A temp app dir, and a `docker` that logs its calls, fails `compose up` of a file saying BROKEN, and runs everything else. */
  function host() {
    const dir = mkdtempSync(join(tmpdir(), "hc-sets-"));
    const layout: hc.HostLayout = { ...v2, appDir: join(dir, "app") };
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(
      join(bin, "docker"),
      [
        "#!/bin/sh",
        `echo "$*" >> ${dir}/docker.log`,
        `f=$(printf '%s\\n' "$@" | sed -n '/^-f$/{n;p;}')`,
        `case "$*" in`,
        `  *" up -d --remove-orphans") ! grep -q BROKEN "$f" || { echo "container backend exited (1)" >&2; exit 1; } ;;`,
        `  *" config --services") echo backend ;;`,
        `  "ps -a -q"*) echo c1 ;;`,
        `  "inspect -f"*) echo "running none 0 0" ;;`,
        `esac`,
      ].join("\n"),
      { mode: 0o755 },
    );
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const file = (f: string) => readFileSync(join(layout.appDir, f), "utf8");
    const status = () => hc.parseDeploymentStatus(runSh(hc.readDeploymentStatus(layout)).stdout)!;
    const sets = () => hc.parseBackupSets(runSh(hc.listBackupSets(layout)).stdout, layout);
    const composeOf = (id: string) => `services: {backend: {image: "r@sha256:${hex(id.slice(1))}"}}${id === "v9" ? " # BROKEN" : ""}\n`;
    const deploy = (id: string, retainBackups = 3) => {
      const image = `r@sha256:${hex(id.slice(1))}`;
      const compose = composeOf(id);
      const script = hc.switchRelease({ layout, releaseId: id, services: [{ name: "backend", image, waitHealthy: true }], retainBackups, startTimeoutSeconds: 5, stableChecks: 1 });
      const prefix = renderReleaseRecordPrefix({ id, gitSha: null, images: { backend: image }, composeSha256: sha256(compose), composeCommand: "docker compose" });
      const stdin = hc.switchReleaseStdin({ script, compose, env: `APP='${id}'\n`, currentRecordPrefix: prefix });
      return runSh(hc.switchReleaseCommand({ layout, releaseId: id, images: { backend: image } }), { input: stdin, env });
    };
    const restore = (set: string, retainSets = 3) => runSh(hc.restoreBackupSet({ layout, set, retainSets, startTimeoutSeconds: 5, stableChecks: 1 }), { env });
    return { dir, layout, file, status, sets, deploy, restore, composeOf };
  }
  const sha256 = (t: string) => createHash("sha256").update(t).digest("hex");

  it("each switch backs up what it replaces as one set named by that release; its manifest names the release; N sets kept", () => {
    const h = host();
    expect(h.deploy("v1").code).toBe(0);
    expect(h.sets()).toEqual([]);
    const v1 = h.status().current!;
    const second = h.deploy("v2");
    expect(second.code, second.stderr).toBe(0);
    const [set] = h.sets();
    expect(set!.name).toMatch(/^\d{8}T\d{6}Z-v1$/);
    expect(set).toMatchObject({ releaseId: "v1", path: `${h.layout.appDir}/backups/${set!.name}`, files: [".env", "deployment.json", "docker-compose.yml", "manifest.json"] });
    expect(set!.manifest).toEqual({
      schema: 1,
      set: set!.name,
      backedUpAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      release: v1,
      composeSha256: sha256(h.composeOf("v1")),
      files: ["docker-compose.yml", ".env", "deployment.json"],
    });
    expect(set!.manifest!.backedUpAt.replace(/[-:]/g, "")).toBe(set!.name.slice(0, 16));
    expect(h.file(`backups/${set!.name}/docker-compose.yml`)).toBe(h.composeOf("v1"));
    expect(h.file(`backups/${set!.name}/.env`)).toBe("APP='v1'\n");
    expect(statSync(join(h.layout.appDir, "backups", set!.name, ".env")).mode & 0o777).toBe(0o600);
    // The switch's summary lists the set's files (what the stack output `backups` shows).
    const summary = hc.parseSwitchOutput(second.stdout);
    expect(summary.backups).toEqual(set!.files.map((f) => `${set!.path}/${f}`));
    // Two more switches, 3 kept: the oldest set (v1's) goes. A "failed" record stays through them.
    expect(runSh(hc.markReleaseFailed(h.layout, "v2", "broken")).code).toBe(0);
    expect(h.deploy("v3").code).toBe(0);
    expect(h.deploy("v4").code).toBe(0);
    expect(h.sets().map((s) => s.releaseId)).toEqual(["v1", "v2", "v3"]);
    expect(h.deploy("v5").code).toBe(0);
    expect(h.sets().map((s) => s.releaseId)).toEqual(["v2", "v3", "v4"]);
    expect(h.status()).toMatchObject({ current: { id: "v5" }, previous: { id: "v4" }, failed: { id: "v2", reason: "broken" } });
  });

  it("a failed start puts the previous files back from the set; the record is unchanged", () => {
    const h = host();
    const first = h.deploy("v1");
    expect(first.code).toBe(0);
    expect(first.phases.map(([p]) => p)).toEqual(["begin", "images", "backup", "start", "wait", "record"]);
    const before = h.status();
    const r = h.deploy("v9");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("the previous release was brought up again\ncompose up failed for release v9: container backend exited (1)\n");
    // The phases it reached, on the host's clock in ms, in order; it failed at its compose up.
    expect(r.phases.map(([p]) => p)).toEqual(["begin", "images", "backup"]);
    expect(r.phases.every(([, ms], i, all) => Number.isInteger(ms) && ms > 1.7e12 && (i === 0 || ms >= all[i - 1]![1]))).toBe(true);
    expect(h.file("docker-compose.yml")).toBe(h.composeOf("v1"));
    expect(h.file(".env")).toBe("APP='v1'\n");
    expect(h.status()).toEqual(before);
    expect(h.sets().map((s) => s.releaseId)).toEqual(["v1"]);
  });

  it("restore: the current files become a set, the named set's files run, deployment.json says so", () => {
    const h = host();
    for (const id of ["v1", "v2"]) expect(h.deploy(id).code).toBe(0);
    expect(runSh(hc.markReleaseVerified(h.layout, "v2")).code).toBe(0);
    expect(runSh(hc.markReleaseFailed(h.layout, "v2", "later broken")).code).toBe(0);
    const v1Set = h.sets()[0]!;
    const before = h.status();
    const r = h.restore(v1Set.name);
    expect(r.code, r.stderr).toBe(0);
    const result = hc.parseRestoreOutput(r.stdout);
    expect(result).toEqual({ restored: `backups/${v1Set.name}`, release: "v1", backup: expect.stringMatching(/^backups\/\d{8}T\d{6}Z-v2$/), deployedAt: expect.any(String), volumes: [] });
    expect(h.file("docker-compose.yml")).toBe(h.composeOf("v1"));
    expect(h.file(".env")).toBe("APP='v1'\n");
    const after = h.status();
    expect(after.current).toEqual({ ...v1Set.manifest!.release, deployedAt: result.deployedAt });
    expect(after.previous).toEqual(before.current);
    expect(after.verified).toEqual(before.verified);
    expect(after.failed).toEqual(before.failed);
    // The replaced files (v2's) are a set of their own: the restore can be undone.
    const sets = h.sets();
    expect(sets.map((s) => s.releaseId)).toEqual(["v1", "v2"]);
    expect(h.file(`${result.backup}/docker-compose.yml`)).toBe(h.composeOf("v2"));
    expect(readFileSync(join(h.dir, "docker.log"), "utf8")).toContain(
      `compose -p awareness -f ${h.layout.appDir}/docker-compose.yml up -d --remove-orphans\ncompose -p awareness -f ${h.layout.appDir}/docker-compose.yml config --services\n`,
    );
    // Undo it: restore the set the restore made; "previous" is v1 again.
    expect(h.restore(result.backup.replace("backups/", "")).code).toBe(0);
    expect(h.status().current?.id).toBe("v2");
    expect(h.status().previous?.id).toBe("v1");
    expect(h.file(".env")).toBe("APP='v2'\n");
  });

  it("restore keeps the newest N sets after copying the named one, even when that one is pruned", () => {
    const h = host();
    for (const id of ["v1", "v2", "v3"]) expect(h.deploy(id).code).toBe(0);
    const [oldest] = h.sets();
    expect(h.restore(oldest!.name, 2).code).toBe(0);
    expect(h.file("docker-compose.yml")).toBe(h.composeOf("v1"));
    expect(h.sets().map((s) => s.releaseId)).toEqual(["v2", "v3"]);
  });

  it("restore of a set that does not start puts the current files back; the record is unchanged", () => {
    const h = host();
    for (const id of ["v1", "v2"]) expect(h.deploy(id).code).toBe(0);
    const set = h.sets()[0]!;
    // An intact set (its manifest names this very file) whose release does not start.
    const manifestFile = join(h.layout.appDir, "backups", set.name, "manifest.json");
    writeFileSync(join(h.layout.appDir, "backups", set.name, "docker-compose.yml"), "BROKEN\n");
    writeFileSync(manifestFile, readFileSync(manifestFile, "utf8").replace(/"composeSha256": "[0-9a-f]{64}"/, `"composeSha256": "${sha256("BROKEN\n")}"`));
    expect(h.sets()[0]!.problem).toBeUndefined();
    const before = h.status();
    const r = h.restore(set.name);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("the previous release was brought up again\ncompose up failed for the restored release v1: container backend exited (1)\n");
    expect(h.file("docker-compose.yml")).toBe(h.composeOf("v2"));
    expect(h.status()).toEqual(before);
  });

  it("a switch over a corrupt deployment.json writes a valid record: garbage and cut lines are not carried forward", () => {
    const h = host();
    expect(h.deploy("v1").code).toBe(0);
    const v1 = h.status().current!;
    writeFileSync(join(h.layout.appDir, "deployment.json"), `{\n  "schema": 1,\n  "current": xyz,\n  "previous": {"id":"v0","ima\n  "verified": ${JSON.stringify(v1)},\n  "fai`);
    expect(() => h.status()).toThrow(/not valid JSON/);
    const r = h.deploy("v2");
    expect(r.code, r.stderr).toBe(0);
    // The record lines that were records stay; the rest are null: a record that parses.
    expect(h.status()).toMatchObject({ current: { id: "v2" }, previous: null, verified: v1, failed: null });
  });

  it("a damaged set (a truncated compose file, a garbage manifest) is listed with what is wrong, and the restore refuses it before changing anything", () => {
    const h = host();
    for (const id of ["v1", "v2", "v3"]) expect(h.deploy(id).code).toBe(0);
    const [ofV1, ofV2] = h.sets();
    const composeInSet = join(h.layout.appDir, "backups", ofV1!.name, "docker-compose.yml");
    writeFileSync(composeInSet, readFileSync(composeInSet, "utf8").slice(0, 20));
    writeFileSync(join(h.layout.appDir, "backups", ofV2!.name, "manifest.json"), "{\n  \"schema\": 1,\n  garbage");
    const [v1, v2] = h.sets();
    expect(v1).toMatchObject({ releaseId: "v1", problem: expect.stringMatching(/^its docker-compose\.yml has sha256 [0-9a-f]{12}…, its manifest\.json says [0-9a-f]{12}… \(the file is damaged or was edited\)$/) });
    expect(v2).toMatchObject({ manifest: null, problem: expect.stringMatching(/manifest\.json is not a valid manifest: .*not valid JSON/) });
    expect(hc.releaseInSetName(v2!.name)).toBe("v2");
    const before = { status: h.status(), compose: h.file("docker-compose.yml"), env: h.file(".env") };
    // The host refuses it too (a set damaged after the driver looked, or a restore by hand).
    const r = h.restore(ofV1!.name);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^backup set .*/backups/${ofV1!.name} is damaged: its docker-compose\\.yml has sha256 [0-9a-f]{64}, its manifest\\.json says [0-9a-f]{64}: nothing was changed\n$`));
    expect({ status: h.status(), compose: h.file("docker-compose.yml"), env: h.file(".env") }).toEqual(before);
    expect(h.sets().map((s) => s.name)).toEqual([ofV1!.name, ofV2!.name]);
  });

  it("restore refuses a set that is not there or names no release, before changing anything", () => {
    const h = host();
    for (const id of ["v1", "v2"]) expect(h.deploy(id).code).toBe(0);
    expect(h.restore("20200101T000000Z-v0")).toMatchObject({ code: 1, stderr: expect.stringMatching(/no backup set .*backups\/20200101T000000Z-v0 with a manifest/) });
    const unnamed = "20200101T000000Z-unrecorded";
    mkdirSync(join(h.layout.appDir, "backups", unnamed));
    writeFileSync(join(h.layout.appDir, "backups", unnamed, "docker-compose.yml"), "x");
    writeFileSync(join(h.layout.appDir, "backups", unnamed, "manifest.json"), `{\n  "schema": 1,\n  "release": null,\n}\n`);
    expect(h.restore(unnamed)).toMatchObject({ code: 1, stderr: expect.stringMatching(/names no release: nothing was changed/) });
    expect(h.file("docker-compose.yml")).toBe(h.composeOf("v2"));
    expect(h.sets().map((s) => [s.releaseId, s.problem === undefined])).toEqual([[undefined, false], ["v1", true]]);
    expect(() => hc.restoreBackupSet({ layout: v2, set: "../x", retainSets: 3, startTimeoutSeconds: 5, stableChecks: 1 })).toThrow(/not a backup set name/);
  });

  it("the list and restore commands, as exact strings", () => {
    expect(hc.listBackupSets(v2)).toBe(
      [
        "cd /opt/awareness/backups 2>/dev/null || exit 0",
        `for s in $(ls -1 | sort); do [ -d "$s" ] || continue; m=null; [ -f "$s/manifest.json" ] && m=$(tr -d '\\n' < "$s/manifest.json"); printf '%s\\t%s\\t%s\\t%s\\n' "$s" "$m" "$(ls -1A "$s" | sort | tr '\\n' ' ')" "$(sha256sum "$s/docker-compose.yml" 2>/dev/null | cut -c1-64)"; done`,
      ].join("\n"),
    );
    const script = hc.restoreBackupSet({ layout: v2, set: "20260101T000000Z-v1", retainSets: 4, startTimeoutSeconds: 45, stableChecks: 3 });
    expect(spawnSync("/bin/sh", ["-n", "-c", script]).status).toBe(0);
    const lines = script.split("\n");
    expect(lines.slice(0, 12)).toEqual([
      "set -u",
      "app=/opt/awareness",
      "stage=/opt/awareness/.staging",
      "src=backups/20260101T000000Z-v1",
      `fail() { printf '%s\\n' "$*" >&2; exit 1; }`,
      `cd "$app" || fail "cannot enter $app"`,
      "# a restore is a switch: one at a time, and observers wait for it",
      `exec 9>>"$app/.switch.lock" && flock -w 600 9 || fail "another switch of $app is still running (waited 600 s)"`,
      `[ -f "$src/manifest.json" ] && [ -f "$src/docker-compose.yml" ] || fail "no backup set $app/$src with a manifest and a compose file on this host"`,
      `restored=$(sed -n 's/^  "release": \\(.*\\),$/\\1/p' "$src/manifest.json")`,
      `release=$(printf '%s' "$restored" | sed -n 's/^{"id":"\\([A-Za-z0-9._-]*\\)",.*/\\1/p')`,
      `[ -n "$release" ] || fail "the manifest of $app/$src names no release: nothing was changed"`,
    ]);
    expect(lines).toEqual(expect.arrayContaining([...hc.backupCurrentFiles(4), ...hc.waitUntilRunning(v2, "$specs", 45, 3)]));
    expect(lines).toContain(`specs=$(docker compose -p awareness -f /opt/awareness/docker-compose.yml config --services 2>/dev/null | sed 's/$/:1/' | tr '\\n' ' ')`);
    expect(lines).toContain(
      `if ! out=$(docker compose -p awareness -f /opt/awareness/docker-compose.yml up -d --remove-orphans 2>&1); then reason=$(printf '%s\\n' "$out" | tail -n 8 | cut -c1-300); undo; fail "compose up failed for the restored release $release: $reason"; fi`,
    );
    expect(lines).toContain(`case "$rec_current" in *"\\"id\\":\\"$release\\","*) ;; *) rec_previous=$rec_current ;; esac`);
    expect(lines.at(-1)).toBe(`printf '{"restored":"%s","release":"%s","backup":"%s","deployedAt":"%s","volumes":[%s]}\\n' "$src" "$release" "$bak" "$now" "$vols"`);
  });
});

describe("prechecks and host-side probes", () => {
  it("reads disk, memory, docker and compose versions as key=value lines", () => {
    expect(hc.precheckProbe(v1)).toBe(
      [
        `d=/opt/awareness; while [ ! -d "$d" ]; do d=$(dirname "$d"); done`,
        `echo "disk_path=$d"`,
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
    expect(report.diskPath).toBe("/"); // the nearest existing folder of a dir not made yet
    expect(report.memAvailableMb).toBeGreaterThan(0);
    expect(report.flock).toBe(true); // util-linux, as on the hosts the switch runs on
  });

  it("judges the report against the floors, with the next step", () => {
    const ok = { diskFreeMb: 5000, diskPath: "/opt/awareness", memAvailableMb: 900, dockerServer: "20.10.24", compose: "2.40.3", flock: true };
    expect(hc.judgePrecheck(ok, { minFreeDiskMb: 2048, minFreeMemoryMb: 256 })).toEqual([]);
    expect(hc.judgePrecheck({ ...ok, diskFreeMb: 100, compose: null }, { minFreeDiskMb: 2048, minFreeMemoryMb: 256 })).toEqual([
      "only 100 MB free disk at /opt/awareness (need 2048 MB): free space on the host",
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

describe("ready_now: the container's own healthcheck, run at once (a stand-in docker records what runs)", () => {
  const shq = (t: string) => `'${t.replace(/'/g, `'\\''`)}'`;
  /** Runs `calls` ready_now calls on one container; the stand-in's exec records its arguments and sleeps `execSeconds`. */
  function readyNow(test: string[], execExit: number, opts: { timeoutNs?: number; execSeconds?: number; calls?: number } = {}) {
    const dir = mkdtempSync(join(tmpdir(), "awareness-ready-now-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const args = join(dir, "args");
    const execs = join(dir, "execs");
    // inspect answers from the healthcheck as Docker's templates would; exec records its arguments, one per line.
    writeFileSync(
      join(bin, "docker"),
      [
        "#!/bin/sh",
        `if [ "$1" = inspect ]; then`,
        `  case "$3" in`,
        `    *"index .Config.Healthcheck.Test 0"*) ${test.length ? `printf '%s %s\\n' ${shq(test[0]!)} ${opts.timeoutNs ?? 3_000_000_000}` : ":"} ;;`,
        `    *"index .Config.Healthcheck.Test 1"*) printf '%s\\n' ${shq(test[1] ?? "")} ;;`,
        `    *"range"*) ${test.slice(1).map((a) => `printf '%s\\n' ${shq(a)}`).join("; ") || ":"} ;;`,
        `  esac`,
        `  exit 0`,
        `fi`,
        `echo exec >> ${execs}`,
        `shift; for a in "$@"; do printf '%s\\n' "$a"; done > ${args}; sleep ${opts.execSeconds ?? 0}; exit ${execExit}`,
      ].join("\n"),
      { mode: 0o755 },
    );
    const calls = Array.from({ length: opts.calls ?? 1 }, () => `ready_now c1; echo "rc=$?"`);
    const r = runSh([...hc.readyNowFunction, ...calls].join("\n"), { env: { PATH: `${bin}:${process.env.PATH}` } });
    const read = (f: string) => {
      try {
        return readFileSync(f, "utf8").trimEnd().split("\n");
      } catch {
        return [];
      }
    };
    return { codes: r.stdout.trim().split("\n").map((l) => Number(l.replace("rc=", ""))), ran: read(args), execs: read(execs).length };
  }

  it("CMD-SHELL runs its command through /bin/sh in the container", () => {
    expect(readyNow(["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/api/health || exit 1"], 0)).toEqual({
      codes: [0],
      ran: ["c1", "/bin/sh", "-c", "wget -q -O /dev/null http://127.0.0.1:8080/api/health || exit 1"],
      execs: 1,
    });
  });

  it("CMD runs its arguments as they are (one with a space and a glob stays one, unexpanded)", () => {
    expect(readyNow(["CMD", "curl", "-f", "http://x/a b", "*"], 0)).toMatchObject({ codes: [0], ran: ["c1", "curl", "-f", "http://x/a b", "*"] });
  });

  it("a failing check, or no healthcheck, is not ready; a failing check is tried again next time", () => {
    expect(readyNow(["CMD-SHELL", "false"], 1, { calls: 2 })).toMatchObject({ codes: [1, 1], execs: 2 });
    expect(readyNow([], 0)).toEqual({ codes: [1], ran: [], execs: 0 });
  });

  it("a check that runs out of its own timeout (an app that hangs) is not run again: the wait goes back to Docker's status", () => {
    const r = readyNow(["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/"], 0, { timeoutNs: 1_000_000_000, execSeconds: 3, calls: 3 });
    expect(r.codes).toEqual([124, 1, 1]);
    expect(r.execs).toBe(1);
  });
});
