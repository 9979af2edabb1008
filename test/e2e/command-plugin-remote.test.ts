// command:remote:Command through the real engine against real sshd instances (see
// test/support/sshd-fixture.ts), checked against the facts' rows R01–R25: which sshd the
// command landed on, PULUMI_COMMAND_* passed only where sshd accepts them (else warnings),
// environment refusals, exit-status errors, dial retries (count, messages, timing), host key
// pinning, key/passphrase/authorisation errors, provider-side connection defaults and secrets.
// These are the test-only plugin's own tests: they run its binary even where the official plugin
// is installed (test/support/plugins.ts "test-only"), its deliberate deviations included.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import * as command from "@pulumi/command";
import type * as commandTypes from "@pulumi/command/types/input.js";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempStack, type TempStack } from "../support/engine.js";
import {
  errorsOf,
  isSecretValue,
  probe,
  runStep,
  stateResources,
  takeMarkers,
  UNKNOWN,
  warningsOf,
  type MarkerLine,
  type StepResult,
} from "../support/plugin-steps.js";
import { startSshAgent, startSshd, type SshEndpoint, type SshdFixture } from "../support/sshd-fixture.js";

type ConnectionArgs = commandTypes.remote.ConnectionArgs;

/** Every file of the temp stack's file backend, concatenated. */
function backendFilesText(dir: string): string {
  const root = join(dir, "state");
  return (readdirSync(root, { recursive: true }) as string[])
    .map((rel) => join(root, rel))
    .filter((path) => statSync(path).isFile())
    .map((path) => readFileSync(path, "utf8"))
    .join("\n");
}

function seen(lines: MarkerLine[]): string[] {
  return lines.map((l) => {
    const parts: string[] = [];
    if (l.out === undefined && l.err === undefined) parts.push("no PULUMI_COMMAND_*");
    else parts.push(`OUT=${l.out ?? "<unset>"}`, `ERR=${l.err ?? "<unset>"}`);
    if (l.probeX !== undefined) parts.push(`X=${l.probeX}`);
    return `${l.tag}@${l.at}[${parts.join(",")}]`;
  });
}

function expectOk(step: StepResult): void {
  expect(step.error, `step failed: ${errorsOf(step).join("\n")}`).toBe("");
}

const acceptEnvWarning = (key: string) =>
  `Unable to set '${key}'. This only works if your SSH server is configured to accept\n` +
  "\tthese variables via AcceptEnv. Alternatively, if a Bash-like shell runs the command on the remote host, you could\n" +
  "\tprefix the command itself with the variables in the form 'VAR=value command'";

let sshd: SshdFixture;
const stacks: TempStack[] = [];
async function newStack(): Promise<TempStack> {
  // No ambient ssh-agent: the plugin would offer its keys (SSH_AUTH_SOCK) and change the auth errors.
  const t = await tempStack(async () => ({}), { envVars: { SSH_AUTH_SOCK: "" }, commandPlugin: "test-only" });
  stacks.push(t);
  return t;
}

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  for (const t of stacks) {
    await runStep(t.stack, "destroy").catch(() => undefined);
    await t.cleanup();
  }
  await sshd?.stop();
});

function conn(endpoint: SshEndpoint, extra: Partial<ConnectionArgs> = {}): ConnectionArgs {
  return { host: endpoint.host, port: endpoint.port, privateKey: sshd.clientKey, ...extra };
}

/** The error diagnostic of one resource (without the engine's trailing newline). */
function errorOf(step: StepResult, resource: string): string | undefined {
  return errorsOf(step).find((e) => e.startsWith(`${resource}: `))?.slice(resource.length + 2);
}

describe("command:remote:Command (test-only plugin, real engine, real sshd)", () => {
  it("R01–R04, R08, R09, R17, R19 lifecycle over SSH: where it ran, PULUMI_COMMAND_* only where sshd accepts them", async () => {
    const t = await newStack();
    const m = (name: string) => join(t.dir, `${name}.log`);
    const program = (step: 1 | 2 | 3 | 4) => async () => {
      // R01: sshd refuses PULUMI_COMMAND_*: the update still runs, without them, plus 2 warnings.
      new command.remote.Command("r01", {
        connection: conn(sshd.probeOnly),
        create: probe(m("r01"), "create"),
        update: probe(m("r01"), step === 1 ? "update-u1" : "update-u2"),
        delete: probe(m("r01"), "delete"),
      });
      // R02: sshd accepts them.
      new command.remote.Command("r02", {
        connection: conn(sshd.withCommandEnv),
        create: probe(m("r02"), "create"),
        update: probe(m("r02"), step === 1 ? "update-u1" : "update-u2"),
        delete: probe(m("r02"), "delete"),
      });
      // R03: create v1 -> v2 re-runs create with the previous outputs.
      new command.remote.Command("r03", {
        connection: conn(sshd.withCommandEnv),
        create: probe(m("r03"), step === 1 ? "create-v1" : "create-v2"),
        delete: probe(m("r03"), "delete"),
      });
      // R04: triggers replace: new create first, then the old delete with the old outputs.
      new command.remote.Command("r04", {
        connection: conn(sshd.withCommandEnv),
        create: probe(m("r04"), `create-t${step === 1 ? 1 : 2}`),
        delete: probe(m("r04"), `delete-t${step === 1 ? 1 : 2}`),
        triggers: [step === 1 ? 1 : 2],
      });
      // addPreviousOutputInEnv false: no PULUMI_COMMAND_* even where sshd would accept them.
      new command.remote.Command("noprev", {
        connection: conn(sshd.withCommandEnv),
        create: probe(m("noprev"), "create"),
        update: probe(m("noprev"), step === 1 ? "update-u1" : "update-u2"),
        delete: probe(m("noprev"), "delete"),
        addPreviousOutputInEnv: false,
      });
      // R08: stdin.
      new command.remote.Command("r08", { connection: conn(sshd.probeOnly), create: "cat", stdin: "hello\nremote\n" });
      // R09: host 127.0.0.1 -> 127.0.0.2 (update over the new connection), perDialTimeout 15 -> 10,
      // then the default user spelled out (same).
      new command.remote.Command("r09", {
        connection: conn(step === 1 ? sshd.probeOnly : sshd.withCommandEnv, {
          ...(step >= 3 ? { perDialTimeout: 10 } : {}),
          ...(step === 4 ? { user: "root" } : {}),
        }),
        create: probe(m("r09"), "create"),
        delete: probe(m("r09"), "delete"),
      });
      // R17: logging per stream; R19: trimming.
      new command.remote.Command("log_stdout", {
        connection: conn(sshd.probeOnly),
        create: "echo out-stdout; echo err-stdout >&2",
        logging: "stdout",
      });
      new command.remote.Command("log_none", {
        connection: conn(sshd.probeOnly),
        create: "echo out-none; echo err-none >&2",
        logging: "none",
      });
      new command.remote.Command("twoNL", { connection: conn(sshd.probeOnly), create: "printf 'a\\n\\n'; printf 'e\\n\\n' >&2" });
      new command.remote.Command("crlf", { connection: conn(sshd.probeOnly), create: "printf 'x\\r\\n'" });
      // One 100 KB line with logging on (the official line logger hangs past 64 KiB).
      new command.remote.Command("longLine", {
        connection: conn(sshd.probeOnly),
        create: "head -c 100000 /dev/zero | tr '\\0' y; echo",
      });
    };

    const preview = await runStep(t.stack, "preview", program(1));
    expectOk(preview);
    expect(preview.ops.r01).toEqual(["create"]);
    expect(preview.previewOutputs.r01?.stdout).toBe(UNKNOWN);

    const create = await runStep(t.stack, "up", program(1));
    expectOk(create);
    expect(seen(takeMarkers(m("r01")))).toEqual(["create@127.0.0.1[no PULUMI_COMMAND_*]"]);
    expect(seen(takeMarkers(m("r02")))).toEqual(["create@127.0.0.2[no PULUMI_COMMAND_*]"]);
    expect(seen(takeMarkers(m("r09")))).toEqual(["create@127.0.0.1[no PULUMI_COMMAND_*]"]);
    for (const name of ["r03", "r04", "noprev"]) takeMarkers(m(name));
    let state = await stateResources(t.stack);
    expect(state.r01?.id).toMatch(/^r01[0-9a-f]{8}$/);
    expect(state.r01?.outputs).toMatchObject({ stdout: "create-out", stderr: "create-err" });
    expect(state.r08?.outputs.stdout).toBe("hello\nremote");
    expect(state.twoNL?.outputs).toMatchObject({ stdout: "a\n", stderr: "e\n" });
    expect(state.crlf?.outputs.stdout).toBe("x\r");
    expect(create.logs.log_stdout).toEqual(["out-stdout"]);
    expect(create.logs.log_none).toBeUndefined();
    expect(state.log_none?.outputs).toMatchObject({ stdout: "out-none", stderr: "err-none" });
    expect(create.logs.crlf).toEqual(["x"]);
    expect(state.longLine?.outputs.stdout).toBe("y".repeat(100_000));
    expect(create.logs.longLine).toEqual(["y".repeat(100_000)]);
    // The whole connection is a secret in inputs and outputs.
    expect(isSecretValue(state.r01?.inputs.connection)).toBe(true);
    expect(isSecretValue(state.r01?.outputs.connection)).toBe(true);
    // On disk (the backend's checkpoint) the key exists only encrypted.
    expect(backendFilesText(t.dir)).not.toContain(sshd.clientKey.split("\n")[1]!);

    const same = await runStep(t.stack, "up", program(1));
    expectOk(same);
    expect(same.ops.r01).toEqual(["same"]);
    expect(takeMarkers(m("r01"))).toEqual([]);

    const step2 = await runStep(t.stack, "up", program(2));
    expectOk(step2);
    expect(step2.diffs.r01).toEqual({ update: "update" });
    expect(seen(takeMarkers(m("r01")))).toEqual(["update-u2@127.0.0.1[no PULUMI_COMMAND_*]"]);
    expect(warningsOf(step2, "r01").sort()).toEqual(
      [acceptEnvWarning("PULUMI_COMMAND_STDERR"), acceptEnvWarning("PULUMI_COMMAND_STDOUT")].sort(),
    );
    expect(seen(takeMarkers(m("r02")))).toEqual(["update-u2@127.0.0.2[OUT=create-out,ERR=create-err]"]);
    expect(warningsOf(step2, "r02")).toEqual([]);
    expect(seen(takeMarkers(m("r03")))).toEqual(["create-v2@127.0.0.2[OUT=create-v1-out,ERR=create-v1-err]"]);
    expect(step2.ops.r04).toEqual(["create-replacement", "replace", "delete-replaced"]);
    expect(seen(takeMarkers(m("r04")))).toEqual([
      "create-t2@127.0.0.2[no PULUMI_COMMAND_*]",
      "delete-t1@127.0.0.2[OUT=create-t1-out,ERR=create-t1-err]",
    ]);
    expect(seen(takeMarkers(m("noprev")))).toEqual(["update-u2@127.0.0.2[no PULUMI_COMMAND_*]"]);
    expect(warningsOf(step2, "noprev")).toEqual([]);
    expect(step2.ops.r09).toEqual(["update"]);
    expect(step2.diffs.r09).toEqual({ connection: "update" });
    expect(seen(takeMarkers(m("r09")))).toEqual(["create@127.0.0.2[OUT=create-out,ERR=create-err]"]);
    state = await stateResources(t.stack);
    expect(state.r01?.outputs).toMatchObject({ stdout: "update-u2-out", stderr: "update-u2-err" });

    const step3 = await runStep(t.stack, "up", program(3));
    expectOk(step3);
    expect(step3.ops.r09).toEqual(["update"]);
    expect(step3.diffs.r09).toEqual({ connection: "update" });
    expect(seen(takeMarkers(m("r09")))).toEqual(["create@127.0.0.2[OUT=create-out,ERR=create-err]"]);

    const step4 = await runStep(t.stack, "up", program(4));
    expectOk(step4);
    expect(step4.ops.r09).toEqual(["same"]); // user "root" equals the default Check filled in

    const destroy = await runStep(t.stack, "destroy");
    expectOk(destroy);
    expect(seen(takeMarkers(m("r01")))).toEqual(["delete@127.0.0.1[no PULUMI_COMMAND_*]"]);
    expect(warningsOf(destroy, "r01")).toHaveLength(2);
    expect(seen(takeMarkers(m("r02")))).toEqual(["delete@127.0.0.2[OUT=update-u2-out,ERR=update-u2-err]"]);
    expect(seen(takeMarkers(m("r04")))).toEqual(["delete-t2@127.0.0.2[OUT=create-t2-out,ERR=create-t2-err]"]);
    expect(seen(takeMarkers(m("r09")))).toEqual(["delete@127.0.0.2[OUT=create-out,ERR=create-err]"]);
    expect(seen(takeMarkers(m("noprev")))).toEqual(["delete@127.0.0.2[no PULUMI_COMMAND_*]"]);
    expect(await stateResources(t.stack)).toEqual({});
  });

  it("R06, R07, R18, R21 remote failures: exit status, refused environment, failing update and delete", async () => {
    const t = await newStack();
    const m = (name: string) => join(t.dir, `${name}.log`);
    const failing = (file: string, tag: string, code: number) =>
      `${probe(file, tag, { print: false })}; echo ${tag}-out; echo ${tag}-err >&2; exit ${code}`;

    const r06 = await runStep(t.stack, "up", async () => {
      new command.remote.Command("r06", { connection: conn(sshd.probeOnly), create: failing(m("r06"), "create", 1) });
    });
    expect(r06.ok).toBe(false);
    expect(errorOf(r06, "r06")).toMatch(/^Process exited with status 1: running ".*exit 1":\n/s);
    expect(errorOf(r06, "r06")).toContain("create-out\n");
    expect(errorOf(r06, "r06")).toContain("create-err\n");
    expect(errorsOf(r06)).toContain(": update failed");
    expect(seen(takeMarkers(m("r06")))).toEqual(["create@127.0.0.1[no PULUMI_COMMAND_*]"]);
    expect(await stateResources(t.stack)).toEqual({});

    const r07 = (env: Record<string, string>, createTag = "create") =>
      new command.remote.Command("r07", {
        connection: conn(sshd.probeOnly),
        create: probe(m("r07"), createTag),
        delete: probe(m("r07"), "delete"),
        environment: env,
      });
    const r18 = (good: boolean) =>
      new command.remote.Command("r18", {
        connection: conn(sshd.probeOnly),
        create: probe(m("r18"), "create"),
        delete: good ? probe(m("r18"), "delete-good") : failing(m("r18"), "delete-bad", 2),
      });
    expectOk(
      await runStep(t.stack, "up", async () => {
        r07({ PROBE_X: "a" });
        r18(false);
      }),
    );
    expect(seen(takeMarkers(m("r07")))).toEqual(["create@127.0.0.1[no PULUMI_COMMAND_*,X=a]"]);
    takeMarkers(m("r18"));
    const changed = await runStep(t.stack, "up", async () => {
      r07({ PROBE_X: "b" });
      r18(false);
    });
    expectOk(changed);
    expect(changed.diffs.r07).toEqual({ "environment.PROBE_X": "update" });
    expect(seen(takeMarkers(m("r07")))).toEqual(["create@127.0.0.1[no PULUMI_COMMAND_*,X=b]"]);
    const before = await stateResources(t.stack);

    // R07.3: a user variable sshd refuses is a hard error; nothing runs.
    const refused = await runStep(t.stack, "up", async () => {
      r07({ NOT_ACCEPTED: "v" });
      r18(false);
    });
    expect(refused.ok).toBe(false);
    expect(refused.diffs.r07).toEqual({ "environment.NOT_ACCEPTED": "add", "environment.PROBE_X": "delete" });
    expect(errorsOf(refused)).toContain(`r07: ${acceptEnvWarning("NOT_ACCEPTED")}`);
    expect(errorOf(refused, "r07")).toBeDefined();
    expect(errorsOf(refused)).toContain('r07: could not set environment variable "NOT_ACCEPTED": ssh: setenv failed');
    expect(takeMarkers(m("r07"))).toEqual([]);
    expect((await stateResources(t.stack)).r07).toEqual(before.r07);

    // R21: a failing update keeps the old state.
    const failedUpdate = await runStep(t.stack, "up", async () => {
      new command.remote.Command("r07", {
        connection: conn(sshd.probeOnly),
        create: failing(m("r07"), "create-v2", 3),
        delete: probe(m("r07"), "delete"),
        environment: { PROBE_X: "b" },
      });
      r18(false);
    });
    expect(failedUpdate.ok).toBe(false);
    expect(errorOf(failedUpdate, "r07")).toMatch(/^Process exited with status 3: running ".*exit 3":\n/s);
    expect(seen(takeMarkers(m("r07")))).toEqual(["create-v2@127.0.0.1[no PULUMI_COMMAND_*,X=b]"]);
    expect((await stateResources(t.stack)).r07).toEqual(before.r07);

    // R18: a failing delete keeps the resource; destroy fails.
    const destroy = await runStep(t.stack, "destroy");
    expect(destroy.ok).toBe(false);
    expect(errorOf(destroy, "r18")).toMatch(/^Process exited with status 2: running ".*exit 2":\n/s);
    expect(seen(takeMarkers(m("r18")))).toEqual(["delete-bad@127.0.0.1[no PULUMI_COMMAND_*]"]);
    expect(seen(takeMarkers(m("r07")))).toEqual(["delete@127.0.0.1[no PULUMI_COMMAND_*,X=b]"]);
    expect(Object.keys(await stateResources(t.stack))).toEqual(["r18"]);
    expectOk(await runStep(t.stack, "up", async () => void r18(true)));
    expectOk(await runStep(t.stack, "destroy"));
    expect(seen(takeMarkers(m("r18")))).toEqual([
      "create@127.0.0.1[no PULUMI_COMMAND_*]",
      "delete-good@127.0.0.1[no PULUMI_COMMAND_*]",
    ]);
  });

  it("R10, R11, R24, R25 dial retries: attempts, messages, back-off timing; a silent server fails instead of hanging", async () => {
    const t = await newStack();
    const dial = async (name: string, extra: Partial<ConnectionArgs>, endpoint = sshd.refused) =>
      runStep(t.stack, "up", async () => {
        new command.remote.Command(name, { connection: conn(endpoint, extra), create: "echo never" });
      });
    const refusedText = `dial tcp ${sshd.refused.host}:${sshd.refused.port}: connect: connection refused`;

    const defaults = await dial("r10", {});
    expect(defaults.ok).toBe(false);
    expect(errorOf(defaults, "r10")).toBe(`after 10 failed attempts: ${refusedText}`);
    expect(defaults.logs.r10).toEqual(Array.from({ length: 10 }, (_, i) => `Dial ${i + 1}/10 failed: retrying`));
    // 10 back-offs of 100 ms x1.5^n = 11.3 s, plus engine start-up.
    expect(defaults.durationMs).toBeGreaterThan(11_300);
    expect(defaults.durationMs).toBeLessThan(25_000);
    expect(await stateResources(t.stack)).toEqual({});

    for (const [limit, retries] of [[1, 1], [0, 0], [3, 3]] as const) {
      const step = await dial(`r11_${limit}`, { dialErrorLimit: limit });
      expect(step.ok).toBe(false);
      expect(errorOf(step, `r11_${limit}`)).toBe(`after ${limit} failed attempts: ${refusedText}`);
      expect(step.logs[`r11_${limit}`] ?? []).toHaveLength(retries);
      expect(step.durationMs).toBeLessThan(8_000);
    }

    // R24: perDialTimeout bounds the TCP connect: 2 attempts x 2 s.
    const timeout = await dial("r24", { perDialTimeout: 2, dialErrorLimit: 1 }, sshd.blackhole);
    expect(timeout.ok).toBe(false);
    expect(errorOf(timeout, "r24")).toBe(
      `after 1 failed attempts: dial tcp ${sshd.blackhole.host}:${sshd.blackhole.port}: i/o timeout`,
    );
    expect(timeout.logs.r24).toEqual(["Dial 1/1 failed: retrying"]);
    expect(timeout.durationMs).toBeGreaterThan(4_000);
    expect(timeout.durationMs).toBeLessThan(15_000);

    // R25: the official plugin hangs here (no handshake timeout). This one bounds the handshake
    // by perDialTimeout: 2 attempts x 2 s.
    const silent = await dial("r25", { perDialTimeout: 2, dialErrorLimit: 1 }, sshd.silent);
    expect(silent.ok).toBe(false);
    expect(errorOf(silent, "r25")).toMatch(
      new RegExp(
        `^after 1 failed attempts: ssh: handshake failed: no SSH answer from ${sshd.silent.host}:${sshd.silent.port} ` +
          "within 2s \\(the server accepts TCP but does not speak SSH\\): ",
      ),
    );
    expect(silent.logs.r25).toEqual(["Dial 1/1 failed: retrying"]);
    expect(silent.durationMs).toBeGreaterThan(4_000);
    expect(silent.durationMs).toBeLessThan(15_000);
  });

  it("a deadline abort does not interrupt a running remote command (the step waits for it)", async () => {
    // The official plugin's session.Run ignores cancellation, and so does this one: the
    // driver's single SIGINT cannot stop a remote command; only a hard kill could.
    const t = await newStack();
    const mark = join(t.dir, "slow.log");
    const create = `echo started >> '${mark}'; sleep 6; echo finished >> '${mark}'`;
    const hung = await runStep(
      t.stack,
      "up",
      async () => void new command.remote.Command("slow", { connection: conn(sshd.probeOnly), create }),
      { deadlineMs: 2_000, deadlineFrom: () => existsSync(mark) }, // 2 s into the command
    );
    expect(hung.timedOut).toBe(true);
    expect(readFileSync(mark, "utf8")).toBe("started\nfinished\n"); // ran to its end
    expect(hung.durationMs).toBeGreaterThan(6_000);
    expect(hung.durationMs).toBeLessThan(30_000);
    const next = await runStep(t.stack, "up", async () => void new command.remote.Command("quick", {
      connection: conn(sshd.probeOnly),
      create: "echo ok",
    }));
    expectOk(next);
  });

  it("R12–R16, R22, R23 host key pinning, keys, ssh-agent, passphrases, authorisation, no-dial cases, provider-side defaults", async () => {
    const t = await newStack();
    const limit1 = { dialErrorLimit: 1 };
    const agent = await startSshAgent(sshd.clientKeyPath);
    const program = async () => {
      // Auth through an ssh-agent (agentSocketPath), no key in the inputs.
      new command.remote.Command("agent", {
        connection: conn(sshd.probeOnly, { privateKey: undefined, agentSocketPath: agent.socket }),
        create: "echo agent-out",
      });
      const ok = (name: string, extra: Partial<ConnectionArgs>) =>
        new command.remote.Command(name, { connection: conn(sshd.probeOnly, extra), create: `echo ${name}-out` });
      ok("hostkey_ok", { hostKey: sshd.hostKeyLine });
      ok("hostkey_wrong", { hostKey: sshd.wrongHostKeyLine, ...limit1 });
      ok("hostkey_garbage", { hostKey: "not a key" });
      ok("unauthorized", { privateKey: sshd.unauthorizedKey, ...limit1 });
      ok("nocreds", { privateKey: undefined, ...limit1 });
      ok("password", { privateKey: undefined, password: "secret-pw", ...limit1 });
      ok("badkey", { privateKey: "-----BEGIN NOTHING-----" });
      ok("enc_nopw", { privateKey: sshd.encryptedClientKey });
      ok("enc_pw", { privateKey: sshd.encryptedClientKey, privateKeyPassword: sshd.encryptedKeyPassphrase });
      // R16/R23: nothing to run -> no dial, even to a refused port.
      new command.remote.Command("nocreate", { connection: conn(sshd.refused, limit1) });
      new command.remote.Command("nodial_delete", {
        connection: conn(sshd.refused, limit1),
        delete: "echo never",
      });
    };
    const step = await runStep(t.stack, "up", program, { continueOnError: true });
    await agent.stop();
    expect(step.ok).toBe(false);
    const state = await stateResources(t.stack);
    expect(errorOf(step, "hostkey_ok")).toBeUndefined();
    expect(state.hostkey_ok?.outputs.stdout).toBe("hostkey_ok-out");
    expect(errorOf(step, "hostkey_wrong")).toBe("after 1 failed attempts: ssh: handshake failed: ssh: host key mismatch");
    expect(step.logs.hostkey_wrong).toEqual(["Dial 1/1 failed: retrying"]);
    expect(errorOf(step, "hostkey_garbage")).toBe("failed to parse host key: ssh: no key found");
    expect(step.logs.hostkey_garbage).toBeUndefined(); // not retried
    expect(errorOf(step, "unauthorized")).toBe(
      "after 1 failed attempts: ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain",
    );
    expect(errorOf(step, "nocreds")).toBe(
      "after 1 failed attempts: ssh: handshake failed: ssh: unable to authenticate, attempted methods [none], no supported methods remain",
    );
    expect(errorOf(step, "password")).toBe(
      "after 1 failed attempts: ssh: handshake failed: ssh: unable to authenticate, attempted methods [none], no supported methods remain",
    );
    expect(errorOf(step, "badkey")).toBe("ssh: no key found");
    expect(errorOf(step, "enc_nopw")).toBe("ssh: this private key is passphrase protected");
    expect(state.enc_pw?.outputs.stdout).toBe("enc_pw-out");
    expect(errorOf(step, "agent")).toBeUndefined();
    expect(state.agent?.outputs.stdout).toBe("agent-out");
    expect(state.nocreate?.outputs).toMatchObject({ stdout: "", stderr: "" });
    expect(state.nodial_delete?.outputs).toMatchObject({ stdout: "", stderr: "" });
    for (const failed of ["hostkey_wrong", "hostkey_garbage", "unauthorized", "badkey", "enc_nopw"]) {
      expect(state[failed], failed).toBeUndefined();
    }

    // R15 (proxy) is not implemented here: refused by Check, loudly, before anything runs.
    const proxy = await runStep(t.stack, "up", async () => {
      new command.remote.Command("proxy", {
        connection: conn(sshd.withCommandEnv, { proxy: { host: sshd.probeOnly.host, port: sshd.probeOnly.port } }),
        create: "echo never",
      });
    });
    expect(proxy.ok).toBe(false);
    expect(proxy.ops.proxy).toBeUndefined();
    expect(errorsOf(proxy).join("\n")).toContain("connection.proxy is not implemented by the test-only command plugin");

    // R22: provider-side Check on a raw resource (bypassing the SDK's client-side defaults).
    class RawRemoteCommand extends pulumi.CustomResource {
      constructor(name: string, props: Record<string, unknown>) {
        super("command:remote:Command", name, props);
      }
    }
    // Check failures stop the whole update, so each invalid resource gets its own step.
    const rawStep = (name: string, props: Record<string, unknown>) =>
      runStep(t.stack, "up", async () => {
        new RawRemoteCommand(name, props);
        new command.remote.Command("nodial_delete", { connection: conn(sshd.refused, limit1), delete: "echo never" });
        new command.remote.Command("nocreate", { connection: conn(sshd.refused, limit1) });
      });
    expectOk(await rawStep("defaults", { connection: { host: sshd.refused.host } }));
    const rawState = await stateResources(t.stack);
    const connection = rawState.defaults?.inputs.connection as { plaintext?: string } | undefined;
    expect(isSecretValue(connection)).toBe(true);
    expect(JSON.parse(connection!.plaintext!)).toEqual({
      host: sshd.refused.host, user: "root", port: 22, dialErrorLimit: 10, perDialTimeout: 15,
    });
    const nohost = await rawStep("nohost", { connection: { port: 22 }, create: "true" });
    expect(errorOf(nohost, "nohost")).toBe(
      "command:remote:Command resource 'nohost': property connection value {map[port:{22}]} has a problem: " +
        "An error occurred decoding 'CommandInputs.connection': 1 failures decoding:\n" +
        "\thost: Missing required field 'host' on 'remote.Connection'",
    );
    const strport = await rawStep("strport", { connection: { host: "127.0.0.1", port: "abc" }, create: "true" });
    expect(errorOf(strport, "strport")).toBe(
      "command:remote:Command resource 'strport': property connection value {map[host:{127.0.0.1} port:{abc}]} " +
        "has a problem: An error occurred decoding 'CommandInputs.connection': 1 failures decoding:\n" +
        "\tport: Field 'port' on 'remote.Connection' must be a 'float64'; got 'string' instead",
    );
    const noconn = await rawStep("noconn", { create: "true" });
    expect(errorOf(noconn, "noconn")).toBe(
      "command:remote:Command resource 'noconn': property connection value {<nil>} has a problem: " +
        "Missing required field 'connection' on 'remote.CommandInputs'",
    );
    for (const step of [nohost, strport, noconn]) expect(step.ok).toBe(false);

    // R16.2 / R23.2: destroy without delete does not dial; with delete it dials and fails.
    const destroy = await runStep(t.stack, "destroy");
    expect(destroy.ok).toBe(false);
    expect(errorOf(destroy, "nodial_delete")).toBe(
      `after 1 failed attempts: dial tcp ${sshd.refused.host}:${sshd.refused.port}: connect: connection refused`,
    );
    expect(errorOf(destroy, "nocreate")).toBeUndefined();
    expect(Object.keys(await stateResources(t.stack))).toContain("nodial_delete");
    // Clean up: an update without delete lets destroy pass.
    expectOk(
      await runStep(t.stack, "up", async () => {
        new command.remote.Command("nodial_delete", { connection: conn(sshd.refused, limit1) });
      }),
    );
    expectOk(await runStep(t.stack, "destroy"));
  });
});
