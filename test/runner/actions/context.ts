// What a stand-in for a `uses:` action gets: its `with:` inputs, the step's environment, the
// runner's folders, and the runner's ways to hand results on (outputs, PATH).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { StandInSettings } from "../types.js";

export interface ActionContext {
  with: Record<string, string>;
  env: Record<string, string>;
  workspace: string;
  runnerTemp: string;
  toolCache: string;
  repo: string;
  sha: string;
  settings: StandInSettings;
  addPath(dir: string): void;
  setOutput(name: string, value: string): void;
  log(line: string): void;
}

export interface StandIn {
  /** owner/name@commit exactly as the workflow pins it. */
  uses: string;
  run(ctx: ActionContext): Promise<void>;
}

/** Runs a program for a stand-in with the step's environment; a failure carries its output. */
export async function exec(ctx: ActionContext, argv: string[], cwd = ctx.workspace, input?: string): Promise<string> {
  const run = promisify(execFile);
  try {
    const child = run(argv[0]!, argv.slice(1), { cwd, env: ctx.env, maxBuffer: 64 * 1024 * 1024 });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    const { stdout, stderr } = await child;
    if (stderr.trim()) ctx.log(stderr.trim());
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${argv.slice(0, 2).join(" ")} failed: ${(e.stderr || e.message).trim()}`);
  }
}

export function requireInput(ctx: ActionContext, name: string): string {
  const value = ctx.with[name];
  if (!value) throw new Error(`Input required and not supplied: ${name}`);
  return value;
}
