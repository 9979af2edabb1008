// The exec checker: a command in a service container on the host over SSH (pg_isready,
// redis-cli ping). Exit 0 passes; the host's timeout(1) bounds the command, and a deadline
// of our own bounds the SSH round trip.
import { execInService, execTimedOutCode, type HostLayout } from "../../../components/host-commands/index.js";
import type { HostExec } from "../host-prober.js";
import type { ProbeSample } from "../verdict.js";
import { withDeadline, type Checker } from "./checker.js";

export interface ExecCheckerArgs {
  name: string;
  layout: HostLayout;
  service: string;
  command: readonly string[];
  timeoutSeconds: number;
  exec: HostExec;
}

/** Time the SSH round trip may add to the command's own timeout. */
const sshGraceMs = 10_000;

/** The first line of what the command said, short (reports show it). */
function firstLine(text: string): string {
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

export function execChecker(args: ExecCheckerArgs): Checker {
  const command = execInService(args.layout, args);
  const deadlineMs = args.timeoutSeconds * 1000 + sshGraceMs;
  return {
    checks: 1,
    async probe(round) {
      const startedAt = Date.now();
      const base = { round, endpoint: args.name, startedAt };
      try {
        const out = await withDeadline(args.exec(command), deadlineMs);
        const latencyMs = Date.now() - startedAt;
        if (out.code === 0) return [{ ...base, ok: true, latencyMs }];
        const said = firstLine(out.stderr) || firstLine(out.stdout);
        const error =
          out.code === execTimedOutCode
            ? `timeout after ${args.timeoutSeconds} s`
            : `exit code ${out.code}${said ? `: ${said}` : ""}`;
        return [{ ...base, ok: false, latencyMs, error }];
      } catch (error) {
        const sample: ProbeSample = { ...base, ok: false, latencyMs: Date.now() - startedAt };
        sample.error = `ssh: ${error instanceof Error ? error.message : String(error)}`;
        return [sample];
      }
    },
  };
}
