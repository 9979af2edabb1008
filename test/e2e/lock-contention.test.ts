// The host deploy lock against the real sandbox host (its sshd and its shell):
//  * contention: 1,000 trials in one SSH command, each starting 4 acquirers at once on the host
//    (the real acquire command, in background subshells, released together by a barrier),
//    half from a stale lock and half from none: exactly one acquires in every trial;
//  * the lease: a lock whose heartbeat stops is broken once the lease has passed (not before);
//  * a lock renewed by the driver's heartbeat is never broken, however hard another tries.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as hc from "../../components/host-commands/index.js";
import { startHeartbeat } from "../../automation/host/lock.js";
import { HostOps, type HostDoor } from "../../automation/host/operations.js";
import { SshHost } from "../../automation/host/ssh.js";
import { onHost, onHostAsync, target } from "./components-support.js";

const trials = 1000;
const acquirers = 4;
const base = `${target.appDir}-lock-contention`;
const layoutOf = (appDir: string): hc.HostLayout => ({ appDir, composeProject: "awareness-lock", composeCommand: "docker compose" });

/** A heredoc that writes `text` to `file` on the host, byte for byte. */
const writeOnHost = (file: string, text: string) => `cat > ${hc.shellQuote(file)} <<'AWARENESS_LOCK_EOF'\n${text}\nAWARENESS_LOCK_EOF`;

function sshDoor(): HostOps {
  const exec = new SshHost({
    host: target.ssh.host,
    port: target.ssh.port,
    user: target.ssh.user,
    privateKey: readFileSync(target.ssh.privateKeyPath, "utf8"),
    hostKey: target.ssh.hostPublicKey,
  });
  return new HostOps(exec, layoutOf(`${base}/lease`));
}

beforeAll(() => {
  onHost(`rm -rf ${hc.shellQuote(base)} && mkdir -p ${hc.shellQuote(base)}`);
});

afterAll(() => {
  onHost(`rm -rf ${hc.shellQuote(base)}`);
});

describe("contention on the host", () => {
  it(`${trials} trials of ${acquirers} acquirers at once, half from a stale lock: exactly one acquisition per trial`, () => {
    const dir = `${base}/contention`;
    const layout = layoutOf(`${dir}/app`);
    const lock = hc.paths(layout).lockDir;
    const lease = 60;
    const q = hc.shellQuote;
    // Each acquirer's own command, as the driver sends it (its holder, its nonce).
    const scripts = Array.from({ length: acquirers }, (_, i) =>
      writeOnHost(`${dir}/acquire-${i + 1}.sh`, hc.acquireLock(layout, { holder: `contender-${i + 1}`, nonce: `n${i + 1}`, releaseId: "v1", leaseSeconds: lease })),
    );
    const launch = Array.from(
      { length: acquirers },
      (_, i) =>
        // Waits at the barrier, then runs the command with the login shell (as sshd would).
        `  ( exec 8>&-; flock -s "$dir/barrier" true; "$shell" "$dir/acquire-${i + 1}.sh" > "$dir/out.${i + 1}" 2> "$dir/err.${i + 1}"; echo $? > "$dir/rc.${i + 1}" ) &`,
    );
    const script = [
      `dir=${q(dir)}; lock=${q(lock)}; shell=\${SHELL:-sh}`,
      `mkdir -p "$dir/app" || exit 1`,
      ...scripts,
      `: > "$dir/barrier"; i=0`,
      `while [ $i -lt ${trials} ]; do`,
      `  rm -rf "$lock" "$dir"/out.* "$dir"/err.* "$dir"/rc.*`,
      // Odd trials start from a lock whose holder stopped renewing it long ago.
      `  if [ $((i % 2)) = 1 ]; then old=$(( $(date +%s) - ${lease} - 100 )); mkdir "$lock" && printf 'holder=dead\\nrelease=v0\\ntime=%s\\nheartbeat=%s\\nnonce=dead\\n' "$old" "$old" > "$lock/info" || exit 1; fi`,
      `  exec 8>"$dir/barrier"; flock 8`,
      ...launch,
      `  sleep 0.02; flock -u 8; exec 8>&-`,
      `  wait`,
      `  won=; busy=0; other=; broke=0`,
      `  for k in ${Array.from({ length: acquirers }, (_, i) => i + 1).join(" ")}; do`,
      `    rc=$(cat "$dir/rc.$k"); out=$(cat "$dir/out.$k")`,
      `    if [ "$rc" = 0 ] && [ "$out" = acquired ]; then won="$won $k"; elif [ "$rc" = 3 ]; then busy=$((busy + 1)); else other="$other $k:$rc"; fi`,
      `    grep -q '^breaking a stale lock (holder=dead ' "$dir/err.$k" && broke=$((broke + 1))`,
      `  done`,
      `  echo "trial=$i stale=$((i % 2)) won=$won busy=$busy broke=$broke other=$other holder=$(sed -n 's/^holder=//p' "$lock/info" 2>/dev/null)"`,
      `  i=$((i + 1))`,
      `done`,
    ].join("\n");

    const started = performance.now();
    const out = onHost(script);
    const seconds = (performance.now() - started) / 1000;

    const rows = out
      .trim()
      .split("\n")
      .map((line) => {
        const m = /^trial=(\d+) stale=([01]) won=(.*) busy=(\d+) broke=(\d+) other=(.*) holder=(.*)$/.exec(line);
        if (!m) throw new Error(`unexpected line from the host: ${line}`);
        const won = m[3]!.trim().split(" ").filter(Boolean);
        return { trial: Number(m[1]), stale: m[2] === "1", won, busy: Number(m[4]), broke: Number(m[5]), other: m[6]!.trim(), holder: m[7]! };
      });
    const doubles = rows.filter((r) => r.won.length > 1);
    const none = rows.filter((r) => r.won.length === 0);
    const wrongHolder = rows.filter((r) => r.won.length === 1 && r.holder !== `contender-${r.won[0]}`);
    const stale = rows.filter((r) => r.stale);
    const wins = new Map<string, number>();
    for (const r of rows) for (const k of r.won) wins.set(k, (wins.get(k) ?? 0) + 1);
    console.log(
      `lock contention: ${rows.length} trials x ${acquirers} acquirers (${stale.length} from a stale lock, ${rows.length - stale.length} from none): ` +
        `${doubles.length} double acquisitions, ${none.length} trials with none, in ${seconds.toFixed(1)} s ` +
        `(wins per acquirer: ${[...wins.entries()].sort().map(([k, n]) => `#${k} ${n}`).join(", ")})`,
    );

    expect(rows.map((r) => r.trial)).toEqual(Array.from({ length: trials }, (_, i) => i));
    expect(stale).toHaveLength(trials / 2);
    expect({ doubles: doubles.length, none: none.length, wrongHolder: wrongHolder.length }).toEqual({ doubles: 0, none: 0, wrongHolder: 0 });
    // Everyone else was told "locked" (exit 3), nothing failed otherwise; a stale lock was broken once.
    expect(rows.filter((r) => r.busy !== acquirers - 1 || r.other !== "")).toEqual([]);
    expect(rows.filter((r) => r.broke !== (r.stale ? 1 : 0))).toEqual([]);
  });
});

describe("the lease", () => {
  /** A door whose renewals are timed: when the last one that renewed returned. */
  function timed(ops: HostDoor) {
    const renewals: number[] = [];
    const door = Object.create(ops) as HostDoor;
    door.renewLock = async (owner) => {
      const r = await ops.renewLock(owner);
      if (r.renewed) renewals.push(performance.now());
      return r;
    };
    return { door, renewals };
  }
  const lease = 3;
  let a: HostOps;
  let b: HostOps;

  beforeAll(() => {
    a = sshDoor();
    b = sshDoor();
  });
  afterAll(() => {
    a.close();
    b.close();
  });

  it("a held lock whose heartbeat stops is broken once the lease has passed, not before", async () => {
    const alice = { holder: "alice (e2e)", nonce: "a1" };
    const bob = { holder: "bob (e2e)", nonce: "b1" };
    expect(await a.tryLock({ ...alice, releaseId: "v1", leaseSeconds: lease })).toEqual({ acquired: true });
    const { door, renewals } = timed(a);
    const warnings: string[] = [];
    const heartbeat = startHeartbeat(door, alice, { leaseSeconds: lease, log: { info: () => {}, warn: (l) => warnings.push(l) } });
    // Renewed for twice the lease: bob never gets it.
    const until = performance.now() + 2 * lease * 1000;
    let refused = 0;
    while (performance.now() < until) {
      const attempt = await b.tryLock({ ...bob, releaseId: "v2", leaseSeconds: lease });
      expect(attempt.acquired).toBe(false);
      refused += 1;
      await sleep(100);
    }
    heartbeat.stop();
    // Let a renewal in flight land, then wait on the condition: bob takes it.
    await sleep(300);
    const lastBeat = renewals.at(-1)!;
    let broke: string | undefined;
    for (;;) {
      const attempt = await b.tryLock({ ...bob, releaseId: "v2", leaseSeconds: lease });
      if (attempt.acquired) {
        broke = attempt.brokeStale;
        break;
      }
      expect(attempt.holder).toMatchObject({ holder: alice.holder, nonce: alice.nonce });
      if (performance.now() - lastBeat > (lease + 5) * 1000) throw new Error("the lock did not expire within the lease + 5 s");
      await sleep(100);
    }
    const expiredAfter = (performance.now() - lastBeat) / 1000;
    console.log(`lease ${lease} s: ${renewals.length} renewals, ${refused} refused attempts while renewed; broken ${expiredAfter.toFixed(2)} s after the last heartbeat`);
    expect(warnings).toEqual([]);
    expect(renewals.length).toBeGreaterThanOrEqual(8);
    // The host counts whole seconds: stale when now - heartbeat >= lease, i.e. after (lease - 1, lease] s.
    expect(expiredAfter).toBeGreaterThan(lease - 1.2);
    expect(expiredAfter).toBeLessThan(lease + 2);
    expect(broke).toMatch(/^holder=alice \(e2e\) release=v1 age=\d+ heartbeat_age=[34]$/);
    // Alice's acquisition is over: she can neither renew nor release bob's lock.
    expect(await a.renewLock(alice)).toMatchObject({ renewed: false, holder: { holder: bob.holder, nonce: bob.nonce } });
    await expect(a.unlock(alice)).rejects.toThrow(/not released: held by bob \(e2e\)/);
    const info = await a.lockInfo();
    expect(info).toMatchObject({ holder: bob.holder, release: "v2" });
    expect(info!.heartbeatAgeSeconds).toBeLessThanOrEqual(1);
    await b.unlock(bob);
    expect(await a.lockInfo()).toBeNull();
  });

  it("a lock renewed every 0.5 s (lease 3 s) is never broken in 8 s while another acquirer keeps trying on the host", async () => {
    const alice = { holder: "alice (e2e)", nonce: "a2" };
    expect(await a.tryLock({ ...alice, releaseId: "v1", leaseSeconds: lease })).toEqual({ acquired: true });
    const { door, renewals } = timed(a);
    const warnings: string[] = [];
    let lost: string | undefined;
    const heartbeat = startHeartbeat(door, alice, {
      leaseSeconds: lease,
      log: { info: () => {}, warn: (l) => warnings.push(l) },
      onLost: (m) => (lost = m),
    });
    const contender = hc.acquireLock(a.layout, { holder: "mallory (e2e)", nonce: "m1", releaseId: "v9", leaseSeconds: lease });
    const started = performance.now();
    // The contender loops on the host itself for 8 s, as fast as its shell goes.
    const out = await onHostAsync(
      [
        writeOnHost(`${base}/contender.sh`, contender),
        `end=$(( $(date +%s) + 8 )); tries=0; won=0`,
        `while [ "$(date +%s)" -lt "$end" ]; do "\${SHELL:-sh}" ${hc.shellQuote(`${base}/contender.sh`)} >/dev/null 2>&1 && won=$((won + 1)); tries=$((tries + 1)); done`,
        `echo "tries=$tries won=$won"`,
      ].join("\n"),
    );
    const seconds = (performance.now() - started) / 1000;
    heartbeat.stop();
    const m = /tries=(\d+) won=(\d+)/.exec(out)!;
    const gaps = renewals.slice(1).map((t, i) => (t - renewals[i]!) / 1000);
    console.log(
      `renewing: ${renewals.length} renewals in ${seconds.toFixed(1)} s (longest gap ${Math.max(...gaps).toFixed(2)} s); ` +
        `the contender tried ${m[1]} times on the host and won ${m[2]}`,
    );
    expect(Number(m[2])).toBe(0);
    expect(Number(m[1])).toBeGreaterThan(50);
    expect(lost).toBeUndefined();
    expect(warnings).toEqual([]);
    expect(renewals.length).toBeGreaterThanOrEqual(12);
    expect(await a.lockInfo()).toMatchObject({ holder: alice.holder, nonce: alice.nonce });
    await a.unlock(alice);
    expect(await a.lockInfo()).toBeNull();
  });
});
