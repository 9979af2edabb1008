// command:local:Command through the real engine (Automation API inline programs, the real
// @pulumi/command SDK), checked against the per-step table of COMMAND-PROVIDER-FACTS.md
// (rows L01–L28): engine op and detailed diff, which commands ran in which order with which
// PULUMI_COMMAND_* / PROBE_X (marker files written by the commands), outputs in state,
// error texts, state after failures and the ephemeral log lines.
// These are the test-only plugin's own tests: they run its binary even where the official plugin
// is installed (test/support/plugins.ts "test-only"), its deliberate deviations included.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as command from "@pulumi/command";
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
  type MarkerLine,
  type StepResult,
} from "../support/plugin-steps.js";

/** What a marker line says, compactly: `tag[OUT=…,ERR=…,X=…]` like the facts' table. */
function seen(lines: MarkerLine[]): string[] {
  return lines.map((l) => {
    const parts: string[] = [];
    if (l.out === undefined && l.err === undefined) parts.push("no PULUMI_COMMAND_*");
    else parts.push(`OUT=${l.out ?? "<unset>"}`, `ERR=${l.err ?? "<unset>"}`);
    if (l.probeX !== undefined) parts.push(`X=${l.probeX}`);
    return `${l.tag}[${parts.join(",")}]`;
  });
}

function expectOk(step: StepResult): void {
  expect(step.error, `step failed: ${errorsOf(step).join("\n")}`).toBe("");
  expect(step.ok).toBe(true);
}

let stacks: TempStack[] = [];
async function newStack(): Promise<TempStack> {
  const t = await tempStack(async () => ({}), { commandPlugin: "test-only" });
  stacks.push(t);
  return t;
}
afterAll(async () => {
  for (const t of stacks) {
    await runStep(t.stack, "destroy").catch(() => undefined);
    await t.cleanup();
  }
  stacks = [];
});

describe("command:local:Command (test-only plugin, real engine)", () => {
  it("L01 preview, create, same, refresh, destroy", async () => {
    const t = await newStack();
    const mark = join(t.dir, "c.log");
    const program = async () => {
      new command.local.Command("c", { create: probe(mark, "create"), delete: probe(mark, "delete") });
    };

    const preview = await runStep(t.stack, "preview", program);
    expectOk(preview);
    expect(preview.ops).toEqual({ c: ["create"] });
    expect(preview.previewOutputs.c?.stdout).toBe(UNKNOWN);
    expect(preview.previewOutputs.c?.stderr).toBe(UNKNOWN);
    expect(takeMarkers(mark)).toEqual([]);

    const create = await runStep(t.stack, "up", program);
    expectOk(create);
    expect(create.ops).toEqual({ c: ["create"] });
    expect(seen(takeMarkers(mark))).toEqual(["create[no PULUMI_COMMAND_*]"]);
    let state = await stateResources(t.stack);
    expect(state.c?.id).toMatch(/^c[0-9a-f]{8}$/);
    expect(state.c?.outputs.stdout).toBe("create-out");
    expect(state.c?.outputs.stderr).toBe("create-err");
    // Inputs exactly as given: no defaults (interpreter, addPreviousOutputInEnv, ...) filled in.
    expect(Object.keys(state.c!.inputs).sort()).toEqual(["create", "delete"]);
    expect(Object.keys(state.c!.outputs).sort()).toEqual(["create", "delete", "stderr", "stdout"]);
    // Each line of output is an ephemeral info diagnostic of the resource.
    expect(create.logs.c?.sort()).toEqual(["create-err", "create-out"]);

    const same = await runStep(t.stack, "up", program);
    expectOk(same);
    expect(same.ops).toEqual({ c: ["same"] });
    expect(takeMarkers(mark)).toEqual([]);

    const refresh = await runStep(t.stack, "refresh");
    expectOk(refresh);
    expect(refresh.ops).toEqual({ c: ["refresh"] });
    expect(takeMarkers(mark)).toEqual([]);
    state = await stateResources(t.stack);
    expect(state.c?.outputs.stdout).toBe("create-out");

    const destroy = await runStep(t.stack, "destroy");
    expectOk(destroy);
    expect(destroy.ops).toEqual({ c: ["delete"] });
    expect(seen(takeMarkers(mark))).toEqual(["delete[OUT=create-out,ERR=create-err]"]);
    expect(await stateResources(t.stack)).toEqual({});
  });

  it("L02–L06, L10, L22, L28 in-place updates: which command runs with which previous outputs", async () => {
    const t = await newStack();
    const m = (name: string) => join(t.dir, `${name}.log`);
    const program = (step: 1 | 2 | 3) => async () => {
      // L02: create v1 -> v2 (no update): the update re-runs create.
      new command.local.Command("l02", {
        create: probe(m("l02"), step === 1 ? "create-v1" : "create-v2"),
        delete: probe(m("l02"), "delete"),
      });
      // L03: create v1 -> v2 with update set: update runs.
      new command.local.Command("l03", {
        create: probe(m("l03"), step === 1 ? "create-v1" : "create-v2"),
        update: probe(m("l03"), "update-u"),
        delete: probe(m("l03"), "delete"),
      });
      // L04: update u1 -> u2.
      new command.local.Command("l04", {
        create: probe(m("l04"), "create"),
        update: probe(m("l04"), step === 1 ? "update-u1" : "update-u2"),
        delete: probe(m("l04"), "delete"),
      });
      // L05: environment {PROBE_X: a} -> {PROBE_X: b} -> removed.
      new command.local.Command("l05", {
        create: probe(m("l05"), "create"),
        delete: probe(m("l05"), "delete"),
        ...(step === 3 ? {} : { environment: { PROBE_X: step === 1 ? "a" : "b" } }),
      });
      // L06: only delete changes (d1 -> d2): the update re-runs create; destroy runs d2.
      new command.local.Command("l06", {
        create: probe(m("l06"), "create"),
        delete: probe(m("l06"), step === 1 ? "delete-d1" : "delete-d2"),
      });
      // L10: addPreviousOutputInEnv false: no PULUMI_COMMAND_* on update and delete.
      new command.local.Command("l10", {
        create: probe(m("l10"), "create"),
        update: probe(m("l10"), step === 1 ? "update-u1" : "update-u2"),
        delete: probe(m("l10"), "delete"),
        addPreviousOutputInEnv: false,
      });
      // L22: only delete; then environment added (nothing to run); then update added.
      new command.local.Command("l22", {
        delete: probe(m("l22"), "delete"),
        ...(step >= 2 ? { environment: { PROBE_X: "z" } } : {}),
        ...(step === 3 ? { update: probe(m("l22"), "update") } : {}),
      });
      // L28: logging none, then addPreviousOutputInEnv false: both re-run create.
      new command.local.Command("l28", {
        create: probe(m("l28"), "create"),
        ...(step >= 2 ? { logging: "none" } : {}),
        ...(step === 3 ? { addPreviousOutputInEnv: false } : {}),
      });
    };

    const step1 = await runStep(t.stack, "up", program(1));
    expectOk(step1);
    expect(seen(takeMarkers(m("l02")))).toEqual(["create-v1[no PULUMI_COMMAND_*]"]);
    expect(seen(takeMarkers(m("l05")))).toEqual(["create[no PULUMI_COMMAND_*,X=a]"]);
    expect(takeMarkers(m("l22"))).toEqual([]);
    for (const name of ["l03", "l04", "l06", "l10", "l28"]) takeMarkers(m(name));
    let state = await stateResources(t.stack);
    expect(state.l22?.outputs.stdout).toBe("");
    expect(state.l22?.outputs.stderr).toBe("");
    expect(step1.logs.l28?.sort()).toEqual(["create-err", "create-out"]);

    const preview2 = await runStep(t.stack, "preview", program(2));
    expectOk(preview2);
    expect(preview2.ops.l02).toEqual(["update"]);
    expect(preview2.diffs.l02).toEqual({ create: "update" });
    expect(preview2.previewOutputs.l02?.stdout).toBe(UNKNOWN);
    expect(takeMarkers(m("l02"))).toEqual([]);

    const step2 = await runStep(t.stack, "up", program(2));
    expectOk(step2);
    expect(step2.ops).toMatchObject({
      l02: ["update"], l03: ["update"], l04: ["update"], l05: ["update"],
      l06: ["update"], l10: ["update"], l22: ["update"], l28: ["update"],
    });
    expect(step2.diffs.l02).toEqual({ create: "update" });
    expect(step2.diffs.l04).toEqual({ update: "update" });
    expect(step2.diffs.l05).toEqual({ "environment.PROBE_X": "update" });
    expect(step2.diffs.l06).toEqual({ delete: "update" });
    expect(step2.diffs.l22).toEqual({ environment: "add" });
    expect(step2.diffs.l28).toEqual({ logging: "add" });
    expect(seen(takeMarkers(m("l02")))).toEqual(["create-v2[OUT=create-v1-out,ERR=create-v1-err]"]);
    expect(seen(takeMarkers(m("l03")))).toEqual(["update-u[OUT=create-v1-out,ERR=create-v1-err]"]);
    expect(seen(takeMarkers(m("l04")))).toEqual(["update-u2[OUT=create-out,ERR=create-err]"]);
    expect(seen(takeMarkers(m("l05")))).toEqual(["create[OUT=create-out,ERR=create-err,X=b]"]);
    expect(seen(takeMarkers(m("l06")))).toEqual(["create[OUT=create-out,ERR=create-err]"]);
    expect(seen(takeMarkers(m("l10")))).toEqual(["update-u2[no PULUMI_COMMAND_*]"]);
    expect(takeMarkers(m("l22"))).toEqual([]);
    expect(seen(takeMarkers(m("l28")))).toEqual(["create[OUT=create-out,ERR=create-err]"]);
    expect(step2.logs.l28).toBeUndefined(); // logging: none
    state = await stateResources(t.stack);
    expect(state.l02?.outputs.stdout).toBe("create-v2-out");
    expect(state.l03?.outputs.stdout).toBe("update-u-out");
    expect(state.l04?.outputs).toMatchObject({ stdout: "update-u2-out", stderr: "update-u2-err" });
    expect(state.l22?.outputs.stdout).toBe("");

    const step3 = await runStep(t.stack, "up", program(3));
    expectOk(step3);
    expect(step3.diffs.l05).toEqual({ environment: "delete" });
    expect(step3.diffs.l22).toEqual({ update: "add" });
    expect(step3.diffs.l28).toEqual({ addPreviousOutputInEnv: "add" });
    expect(step3.ops.l02).toEqual(["same"]);
    expect(seen(takeMarkers(m("l05")))).toEqual(["create[OUT=create-out,ERR=create-err]"]);
    expect(seen(takeMarkers(m("l22")))).toEqual(["update[no PULUMI_COMMAND_*,X=z]"]);
    expect(seen(takeMarkers(m("l28")))).toEqual(["create[no PULUMI_COMMAND_*]"]);
    expect((await stateResources(t.stack)).l22?.outputs.stdout).toBe("update-out");

    const destroy = await runStep(t.stack, "destroy");
    expectOk(destroy);
    expect(seen(takeMarkers(m("l06")))).toEqual(["delete-d2[OUT=create-out,ERR=create-err]"]);
    expect(seen(takeMarkers(m("l04")))).toEqual(["delete[OUT=update-u2-out,ERR=update-u2-err]"]);
    expect(seen(takeMarkers(m("l10")))).toEqual(["delete[no PULUMI_COMMAND_*]"]);
    expect(seen(takeMarkers(m("l22")))).toEqual(["delete[OUT=update-out,ERR=update-err,X=z]"]);
    expect(await stateResources(t.stack)).toEqual({});
  });

  it("L07–L09 a triggers change replaces (create-before-delete, deleteBeforeReplace, also with update set)", async () => {
    const t = await newStack();
    const m = (name: string) => join(t.dir, `${name}.log`);
    const program = (n: number) => async () => {
      const args = (name: string) => ({
        create: probe(m(name), `create-t${n}`),
        delete: probe(m(name), `delete-t${n}`),
        triggers: [n],
      });
      new command.local.Command("cbd", args("cbd"));
      new command.local.Command("dbr", args("dbr"), { deleteBeforeReplace: true });
      new command.local.Command("upd", { ...args("upd"), update: probe(m("upd"), `update-t${n}`) });
    };
    expectOk(await runStep(t.stack, "up", program(1)));
    for (const name of ["cbd", "dbr", "upd"]) {
      expect(seen(takeMarkers(m(name)))).toEqual(["create-t1[no PULUMI_COMMAND_*]"]);
    }

    const preview = await runStep(t.stack, "preview", program(2));
    expectOk(preview);
    expect(preview.ops.cbd).toEqual(["create-replacement", "replace", "delete-replaced"]);
    expect(preview.ops.dbr).toEqual(["delete-replaced", "replace", "create-replacement"]);
    expect(preview.diffs.cbd).toEqual({ create: "update", delete: "update", "triggers[0]": "update-replace" });
    // As with the official plugin, the step's replace keys stay empty for trigger replacements.
    expect(preview.replaceKeys.cbd ?? []).toEqual([]);
    expect(preview.previewOutputs.cbd?.stdout).toBe(UNKNOWN);
    expect(takeMarkers(m("cbd"))).toEqual([]);

    const up = await runStep(t.stack, "up", program(2));
    expectOk(up);
    expect(up.ops.cbd).toEqual(["create-replacement", "replace", "delete-replaced"]);
    expect(up.ops.dbr).toEqual(["delete-replaced", "replace", "create-replacement"]);
    expect(up.ops.upd).toEqual(["create-replacement", "replace", "delete-replaced"]);
    expect(up.diffs.upd).toEqual({
      create: "update", delete: "update", update: "update", "triggers[0]": "update-replace",
    });
    // The new create runs first (no PULUMI_COMMAND_*), then the OLD resource's delete with old outputs.
    expect(seen(takeMarkers(m("cbd")))).toEqual([
      "create-t2[no PULUMI_COMMAND_*]",
      "delete-t1[OUT=create-t1-out,ERR=create-t1-err]",
    ]);
    expect(seen(takeMarkers(m("dbr")))).toEqual([
      "delete-t1[OUT=create-t1-out,ERR=create-t1-err]",
      "create-t2[no PULUMI_COMMAND_*]",
    ]);
    expect(seen(takeMarkers(m("upd")))).toEqual([
      "create-t2[no PULUMI_COMMAND_*]",
      "delete-t1[OUT=create-t1-out,ERR=create-t1-err]",
    ]);
    expect((await stateResources(t.stack)).cbd?.outputs.stdout).toBe("create-t2-out");

    const again = await runStep(t.stack, "up", program(2));
    expectOk(again);
    expect(again.ops).toEqual({ cbd: ["same"], dbr: ["same"], upd: ["same"] });

    expectOk(await runStep(t.stack, "destroy"));
    expect(seen(takeMarkers(m("cbd")))).toEqual(["delete-t2[OUT=create-t2-out,ERR=create-t2-err]"]);
  });

  it("L11–L13 stdin, dir, interpreter (and their run-time failures)", async () => {
    const t = await newStack();
    const wd = join(t.dir, "local", "wd");
    mkdirSync(wd, { recursive: true });
    const program = (stdin: string) => async () => {
      new command.local.Command("cat", { create: "cat", stdin });
      new command.local.Command("empty", { create: "cat; echo '[done]'", stdin: "" });
      new command.local.Command("none", { create: "cat; echo '[done]'" });
      new command.local.Command("nodir", { create: "pwd" });
      new command.local.Command("withdir", { create: "pwd", dir: wd });
      new command.local.Command("bash", {
        create: 'echo "$BASH ${BASH_VERSION:+has-bash-version}"',
        interpreter: ["/bin/bash", "-c"],
      });
      new command.local.Command("sh", { create: 'echo "$0"', interpreter: ["/bin/sh", "-c"] });
      new command.local.Command("emptyinterp", { create: 'echo "$0"', interpreter: [] });
      new command.local.Command("echo", { create: "the command string", interpreter: ["echo", "arg1"] });
    };
    const first = await runStep(t.stack, "up", program("line1\nline2\n"));
    expectOk(first);
    const state = await stateResources(t.stack);
    const stdout = (name: string) => state[name]?.outputs.stdout;
    expect(stdout("cat")).toBe("line1\nline2");
    expect(first.logs.cat).toEqual(["line1", "line2"]);
    expect(stdout("empty")).toBe("[done]");
    expect(stdout("none")).toBe("[done]");
    // No dir: the plugin's own working directory, which the engine chooses. With inline
    // programs (this driver's way) that is the program host's cwd, not the stack's workDir.
    expect(stdout("nodir")).toBe(process.cwd());
    expect(stdout("withdir")).toBe(wd);
    expect(stdout("bash")).toBe("/bin/bash has-bash-version");
    expect(stdout("sh")).toBe("/bin/sh");
    expect(stdout("emptyinterp")).toBe("/bin/sh");
    expect(stdout("echo")).toBe("arg1 the command string");

    const second = await runStep(t.stack, "up", program("changed\n"));
    expectOk(second);
    expect(second.ops).toMatchObject({ cat: ["update"], empty: ["same"], none: ["same"] });
    expect(second.diffs.cat).toEqual({ stdin: "update" });
    expect((await stateResources(t.stack)).cat?.outputs.stdout).toBe("changed");

    const missingDir = join(t.dir, "local", "nope");
    const badDir = await runStep(t.stack, "up", async () => {
      new command.local.Command("missing", { create: "pwd", dir: missingDir });
    });
    expect(badDir.ok).toBe(false);
    expect(errorsOf(badDir)).toContain(`missing: chdir ${missingDir}: no such file or directory: running "pwd":\n`);
    expect(errorsOf(badDir)).toContain(": update failed");
    expect((await stateResources(t.stack)).missing).toBeUndefined();

    const badInterp = await runStep(t.stack, "up", async () => {
      new command.local.Command("bad", { create: "true", interpreter: ["/nonexistent/interp"] });
    });
    expect(badInterp.ok).toBe(false);
    expect(errorsOf(badInterp)).toContain(
      'bad: fork/exec /nonexistent/interp: no such file or directory: running "true":\n',
    );
    expect((await stateResources(t.stack)).bad).toBeUndefined();
  });

  it("L14–L16 failed create / update / delete: error text and what stays in state", async () => {
    const t = await newStack();
    const m = (name: string) => join(t.dir, `${name}.log`);
    const failing = (file: string, tag: string, code: number) =>
      `${probe(file, tag, { print: false })}; echo ${tag}-out; echo ${tag}-err >&2; exit ${code}`;
    const c14 = (fixed: boolean) =>
      new command.local.Command("c14", {
        create: fixed ? probe(m("c14"), "create-fixed") : failing(m("c14"), "create", 1),
        delete: probe(m("c14"), "delete"),
      });

    for (let attempt = 0; attempt < 2; attempt++) {
      const failed = await runStep(t.stack, "up", async () => {
        c14(false);
      });
      expect(failed.ok).toBe(false);
      expect(failed.ops.c14).toEqual(["create"]);
      const error = errorsOf(failed).find((e) => e.startsWith("c14: "));
      expect(error).toMatch(/^c14: exit status 1: running ".*exit 1":\n/s);
      expect(error).toContain("create-out\n");
      expect(error).toContain("create-err\n");
      expect(errorsOf(failed)).toContain(": update failed");
      expect(seen(takeMarkers(m("c14")))).toEqual(["create[no PULUMI_COMMAND_*]"]);
      expect(await stateResources(t.stack)).toEqual({}); // no partial outputs
    }

    const c15 = (v: string, code = 0) =>
      new command.local.Command("c15", {
        create: code ? failing(m("c15"), `create-${v}`, code) : probe(m("c15"), `create-${v}`),
        delete: probe(m("c15"), "delete"),
      });
    const c16 = (good: boolean) =>
      new command.local.Command("c16", {
        create: probe(m("c16"), "create"),
        delete: good ? probe(m("c16"), "delete-good") : failing(m("c16"), "delete-bad", 2),
      });
    expectOk(
      await runStep(t.stack, "up", async () => {
        c14(true);
        c15("v1");
        c16(false);
      }),
    );
    expect(seen(takeMarkers(m("c14")))).toEqual(["create-fixed[no PULUMI_COMMAND_*]"]);
    takeMarkers(m("c15"));
    takeMarkers(m("c16"));
    const before = await stateResources(t.stack);

    // L15: a failed update keeps the old inputs and outputs; the next up runs it again with the old outputs.
    for (let attempt = 0; attempt < 2; attempt++) {
      const failed = await runStep(t.stack, "up", async () => {
        c14(true);
        c15("v2", 3);
        c16(false);
      });
      expect(failed.ok).toBe(false);
      expect(failed.ops.c15).toEqual(["update"]);
      expect(failed.diffs.c15).toEqual({ create: "update" });
      expect(errorsOf(failed).find((e) => e.startsWith("c15: "))).toMatch(/^c15: exit status 3: running ".*exit 3":\n/s);
      expect(seen(takeMarkers(m("c15")))).toEqual(["create-v2[OUT=create-v1-out,ERR=create-v1-err]"]);
      expect((await stateResources(t.stack)).c15).toEqual(before.c15);
    }
    expectOk(
      await runStep(t.stack, "up", async () => {
        c14(true);
        c15("v3");
        c16(false);
      }),
    );
    expect(seen(takeMarkers(m("c15")))).toEqual(["create-v3[OUT=create-v1-out,ERR=create-v1-err]"]);
    expect((await stateResources(t.stack)).c15?.outputs.stdout).toBe("create-v3-out");

    // L16: a failing delete keeps the resource in state; every destroy runs it again.
    for (let attempt = 0; attempt < 2; attempt++) {
      const failed = await runStep(t.stack, "destroy");
      expect(failed.ok).toBe(false);
      expect(errorsOf(failed).find((e) => e.startsWith("c16: "))).toMatch(
        /^c16: exit status 2: running ".*exit 2":\n/s,
      );
      expect(errorsOf(failed)).toContain(": update failed");
      expect(seen(takeMarkers(m("c16")))).toEqual(["delete-bad[OUT=create-out,ERR=create-err]"]);
      const state = await stateResources(t.stack);
      expect(state.c16).toEqual(before.c16);
    }
    const fix = await runStep(t.stack, "up", async () => {
      c16(true);
    });
    expectOk(fix);
    expect(fix.ops.c16).toEqual(["update"]);
    expect(fix.diffs.c16).toEqual({ delete: "update" });
    expect(seen(takeMarkers(m("c16")))).toEqual(["create[OUT=create-out,ERR=create-err]"]);
    expectOk(await runStep(t.stack, "destroy"));
    expect(seen(takeMarkers(m("c16")))).toEqual(["delete-good[OUT=create-out,ERR=create-err]"]);
    expect(await stateResources(t.stack)).toEqual({});
  });

  it("L17–L20 trimming, logging per line, big outputs, and no hang on a >64 KiB line", async () => {
    const t = await newStack();
    const m = (name: string) => join(t.dir, `${name}.log`);
    const outputs: Record<string, string> = {
      crlf: "printf 'x\\r\\n'",
      leadNL: "printf '\\nlead'",
      multi: "printf 'a\\nb\\n'",
      noNL: "printf x",
      nothing: "true",
      onlyNL: "printf '\\n'",
      spaces: "printf '  x  \\n'",
      stderr2NL: "printf 'e\\n\\n' >&2",
      twoNL: "printf 'a\\n\\n'",
    };
    const loggingModes = ["stdout", "stderr", "stdoutAndStderr", "none", "bogus", undefined] as const;
    const program = async () => {
      for (const [name, create] of Object.entries(outputs)) {
        new command.local.Command(name, { create, delete: probe(m(name), `delete-${name}`, { print: false }) });
      }
      for (const mode of loggingModes) {
        new command.local.Command(`log_${mode ?? "unset"}`, {
          create: `echo out-${mode ?? "unset"}; echo err-${mode ?? "unset"} >&2`,
          // "bogus" is outside the SDK's enum on purpose: the plugin must accept it and log nothing.
          ...(mode ? { logging: mode as command.types.enums.local.Logging } : {}),
        });
      }
      new command.local.Command("logged3000", { create: "seq 1 3000" });
      // L19: one 100 KB line with logging on: the official plugin hangs here; this one must not.
      new command.local.Command("longLineLogged", { create: "head -c 100000 /dev/zero | tr '\\0' x; echo" });
    };
    const up = await runStep(t.stack, "up", program);
    expectOk(up);
    expect(up.durationMs).toBeLessThan(30_000);
    const state = await stateResources(t.stack);
    const out = (name: string) => [state[name]?.outputs.stdout, state[name]?.outputs.stderr];
    expect(out("crlf")).toEqual(["x\r", ""]);
    expect(out("leadNL")).toEqual(["\nlead", ""]);
    expect(out("multi")).toEqual(["a\nb", ""]);
    expect(out("noNL")).toEqual(["x", ""]);
    expect(out("nothing")).toEqual(["", ""]);
    expect(out("onlyNL")).toEqual(["", ""]);
    expect(out("spaces")).toEqual(["  x  ", ""]);
    expect(out("stderr2NL")).toEqual(["", "e\n"]);
    expect(out("twoNL")).toEqual(["a\n", ""]);
    expect(up.logs.crlf).toEqual(["x"]);
    expect(up.logs.leadNL).toEqual(["", "lead"]);
    expect(up.logs.onlyNL).toEqual([""]);
    expect(up.logs.stderr2NL).toEqual(["e", ""]);
    expect(up.logs.twoNL).toEqual(["a", ""]);
    expect(up.logs.nothing).toBeUndefined();
    // L20: which streams are logged; capture is unaffected.
    expect(up.logs.log_stdout).toEqual(["out-stdout"]);
    expect(up.logs.log_stderr).toEqual(["err-stderr"]);
    expect(up.logs.log_stdoutAndStderr?.sort()).toEqual(["err-stdoutAndStderr", "out-stdoutAndStderr"]);
    expect(up.logs.log_unset?.sort()).toEqual(["err-unset", "out-unset"]);
    expect(up.logs.log_none).toBeUndefined();
    expect(up.logs.log_bogus).toBeUndefined();
    expect(out("log_none")).toEqual(["out-none", "err-none"]);
    expect(out("log_bogus")).toEqual(["out-bogus", "err-bogus"]);
    expect(up.logs.logged3000).toHaveLength(3000);
    expect(up.logs.logged3000?.[2999]).toBe("3000");
    expect(state.longLineLogged?.outputs.stdout).toBe("x".repeat(100_000));
    expect(up.logs.longLineLogged).toEqual(["x".repeat(100_000)]);

    const destroy = await runStep(t.stack, "destroy");
    expectOk(destroy);
    const deleteSaw = (name: string) => {
      const [line] = takeMarkers(m(name));
      return [line?.out, line?.err];
    };
    expect(deleteSaw("crlf")).toEqual(["x\r", undefined]);
    expect(deleteSaw("leadNL")).toEqual(["\nlead", undefined]);
    expect(deleteSaw("multi")).toEqual(["a\nb", undefined]);
    expect(deleteSaw("nothing")).toEqual([undefined, undefined]);
    expect(deleteSaw("onlyNL")).toEqual([undefined, undefined]);
    expect(deleteSaw("spaces")).toEqual(["  x  ", undefined]);
    expect(deleteSaw("stderr2NL")).toEqual([undefined, "e\n"]);
    expect(deleteSaw("twoNL")).toEqual(["a\n", undefined]);
  });

  it("L18 a stdout too big for the environment breaks delete until addPreviousOutputInEnv is false", async () => {
    const t = await newStack();
    const mark = join(t.dir, "big.log");
    const program = (passOutputs: boolean) => async () => {
      new command.local.Command("bigLines", {
        create: "seq 1 40000 | sed 's/^/line-/'", // ~430 KB, more than one env string may hold (128 KiB)
        delete: `printf 'delete-bigLines %s\\n' "\${#PULUMI_COMMAND_STDOUT}" >> '${mark}'`,
        logging: "none",
        ...(passOutputs ? {} : { addPreviousOutputInEnv: false }),
      });
    };
    expectOk(await runStep(t.stack, "up", program(true)));
    const failed = await runStep(t.stack, "destroy");
    expect(failed.ok).toBe(false);
    expect(errorsOf(failed).find((e) => e.startsWith("bigLines: "))).toMatch(
      /^bigLines: fork\/exec \/bin\/sh: argument list too long: running ".*":\n$/s,
    );
    expect((await stateResources(t.stack)).bigLines).toBeDefined();
    const fix = await runStep(t.stack, "up", program(false));
    expectOk(fix);
    expect(fix.diffs.bigLines).toEqual({ addPreviousOutputInEnv: "add" });
    expectOk(await runStep(t.stack, "destroy"));
    // The delete ran without PULUMI_COMMAND_STDOUT (length 0).
    expect(readFileSync(mark, "utf8")).toBe("delete-bigLines 0\n");
  });

  it("L23–L25 dependents preview unknown, ignoreChanges, secret create", async () => {
    const t = await newStack();
    const program = (n: number) => async () => {
      const a = new command.local.Command("a", { create: `echo A-${n}` });
      new command.local.Command("b", { create: pulumi.interpolate`echo got-${a.stdout}` });
      new command.local.Command("ign", { create: `echo create-v${n}` }, { ignoreChanges: ["create"] });
      const s = new command.local.Command("sec", { create: pulumi.secret("echo s3cret-out") });
      return { secStdout: s.stdout };
    };
    const preview = await runStep(t.stack, "preview", program(1));
    expectOk(preview);
    expect(preview.ops).toMatchObject({ a: ["create"], b: ["create"] });
    expect(preview.previewOutputs.b?.create).toBe(UNKNOWN);

    const up = await runStep(t.stack, "up", program(1));
    expectOk(up);
    let state = await stateResources(t.stack);
    expect(state.b?.outputs.stdout).toBe("got-A-1");
    // L25: a secret create stays secret in state; stdout/stderr are not secret.
    expect(isSecretValue(state.sec?.inputs.create)).toBe(true);
    expect(isSecretValue(state.sec?.outputs.create)).toBe(true);
    expect(state.sec?.outputs.stdout).toBe("s3cret-out");
    const outputs = await t.stack.outputs();
    expect(outputs.secStdout).toEqual({ value: "s3cret-out", secret: false });

    const preview2 = await runStep(t.stack, "preview", program(2));
    expectOk(preview2);
    expect(preview2.ops).toMatchObject({ a: ["update"], b: ["update"], ign: ["same"] });
    expect(preview2.diffs.b).toEqual({ create: "update" });
    expect(preview2.previewOutputs.b?.create).toBe(UNKNOWN);

    const up2 = await runStep(t.stack, "up", program(2));
    expectOk(up2);
    expect(up2.ops.ign).toEqual(["same"]);
    state = await stateResources(t.stack);
    expect(state.b?.outputs.stdout).toBe("got-A-2");
    expect(state.ign?.outputs.stdout).toBe("create-v1");
  });

  it("a deadline abort: the engine cancels the request, the shell is killed, its orphans still hold the step", async () => {
    // What the driver's deadline (runner.withDeadline -> AbortSignal -> one SIGINT to the CLI)
    // does to a running local command: the engine cancels the provider request, whose context
    // kills the `sh` (exec.CommandContext, as in the official plugin) but not its children; the
    // step only returns when the orphaned `sleep` closes the output pipe. So an abort is prompt
    // only for commands whose children die with them.
    const t = await newStack();
    const mark = join(t.dir, "slow.log");
    const create = `echo started >> '${mark}'; sleep 8; echo finished >> '${mark}'`;
    const hung = await runStep(t.stack, "up", async () => void new command.local.Command("slow", { create }), {
      deadlineMs: 2_000,
      deadlineFrom: () => existsSync(mark), // 2 s into the command, however long the engine took to start it
    });
    expect(hung.timedOut).toBe(true);
    expect(hung.error).toContain("did not finish within 2 s");
    expect(errorsOf(hung)).toContain(`slow: signal: killed: running ${JSON.stringify(create)}:\n`);
    expect(readFileSync(mark, "utf8")).toBe("started\n"); // the shell died before "finished"
    expect(hung.durationMs).toBeGreaterThan(7_500); // ... but the step waited for the orphaned sleep
    expect(hung.durationMs).toBeLessThan(30_000);
    expect((await stateResources(t.stack)).slow).toBeUndefined();
    // The cancelled update released the stack's lock: the next operation runs.
    const next = await runStep(t.stack, "up", async () => void new command.local.Command("quick", { create: "echo ok" }));
    expectOk(next);
    expect((await stateResources(t.stack)).quick?.outputs.stdout).toBe("ok");
  });

  it("L27 Check rejects wrong inputs with the official texts; unimplemented parts fail loudly", async () => {
    const t = await newStack();
    // A raw resource bypasses the SDK's typing, so wrong input types reach the plugin's Check.
    class RawLocalCommand extends pulumi.CustomResource {
      constructor(name: string, props: Record<string, unknown>) {
        super("command:local:Command", name, props);
      }
    }
    const raw = (props: Record<string, unknown>) => async () => {
      new RawLocalCommand("raw", props);
    };
    const cases: [Record<string, unknown>, string][] = [
      [
        { environment: { A: 1 } },
        "raw: command:local:Command resource 'raw': property environment[A] value value {<nil>} has a problem: " +
          "Field 'environment[A] value' on 'local.CommandInputs' must be a 'string'; got 'float64' instead",
      ],
      [
        { create: 42 },
        "raw: command:local:Command resource 'raw': property create value {42} has a problem: " +
          "Field 'create' on 'local.CommandInputs' must be a 'string'; got 'float64' instead",
      ],
      [
        { interpreter: "sh" },
        "raw: command:local:Command resource 'raw': property interpreter value {sh} has a problem: " +
          "Field 'interpreter' on 'local.CommandInputs' must be a '[]string'; got 'string' instead",
      ],
      [
        { bogusProp: "x" },
        "raw: command:local:Command resource 'raw': property bogusProp value {x} has a problem: " +
          "Unrecognized field 'bogusProp' on 'local.CommandInputs'",
      ],
    ];
    for (const [props, expected] of cases) {
      const step = await runStep(t.stack, "up", raw(props));
      expect(step.ok).toBe(false);
      expect(step.ops.raw).toBeUndefined(); // Check fails before any resource step
      expect(errorsOf(step)).toContain(expected);
    }

    const assets = await runStep(t.stack, "up", async () => {
      new command.local.Command("assets", { create: "touch f.txt", assetPaths: ["*.txt"] });
    });
    expect(assets.ok).toBe(false);
    expect(errorsOf(assets).join("\n")).toContain("assetPaths is not implemented by the test-only command plugin");

    const invoke = await runStep(t.stack, "up", async () => {
      await command.local.run({ command: "echo hi" });
    });
    expect(invoke.ok).toBe(false);
    expect(invoke.error).toContain("command:local:run is not implemented by the test-only command plugin");
    expect(await stateResources(t.stack)).toEqual({});
  });
});
