// What a CLI run prints where: progress on stderr (plain lines, or the display in place on a
// terminal), and stdout for the result: `--json` (the summary at the end) or `--events ndjson`
// (each event as one JSON line, as it happens). The CLI configures it from its options.
import { UsageError } from "../common/errors.js";
import { streamLogger } from "../common/log.js";
import type { RunSummary } from "../report/summary.js";
import { plainLines, RunEvents, type EventSink } from "./emitter.js";
import { chooseProgress, ProgressDisplay, progressModes, type DisplayStream, type ProgressMode } from "./progress-display.js";

export const eventFormats = ["ndjson"] as const;

export interface OutputOptions {
  json?: boolean | undefined;
  events?: string | undefined;
  progress?: string | undefined;
}

export interface OutputStreams {
  stdout: { write(chunk: string): boolean };
  stderr: DisplayStream & { isTTY?: boolean | undefined };
}

/** One JSON object a line, written as each event happens. */
export function ndjsonSink(stream: { write(chunk: string): boolean }): EventSink {
  return (event) => void stream.write(`${JSON.stringify(event)}\n`);
}

/** Checks the output options (bad ones are usage errors, before anything runs). */
export function outputChoice(o: OutputOptions, stderr: { isTTY?: boolean | undefined }, env: NodeJS.ProcessEnv) {
  if (o.events !== undefined && !(eventFormats as readonly string[]).includes(o.events)) {
    throw new UsageError(`--events: unknown format "${o.events}" (known: ${eventFormats.join(", ")})`);
  }
  if (o.events && o.json) {
    throw new UsageError("--events and --json both want stdout: use one (the last --events line, run-ended, carries the summary)");
  }
  const mode = o.progress ?? "auto";
  if (!(progressModes as readonly string[]).includes(mode)) throw new UsageError(`--progress: expected plain, fancy or auto, got "${mode}"`);
  return { ndjson: o.events === "ndjson", progress: chooseProgress(mode as ProgressMode, stderr, env) };
}

export class CliOutput {
  /** The run's stream (pass it as the run's `events`); also the CLI's own logger. */
  readonly events = new RunEvents();
  private ndjson = false;
  private display: ProgressDisplay | undefined;
  private readonly unplug: (() => void)[] = [];

  constructor(private readonly streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr }) {
    this.unplug.push(this.events.on(plainLines(streamLogger(streams.stderr))));
  }

  /** Applies a command's options (throws UsageError on bad ones). */
  configure(o: OutputOptions, env: NodeJS.ProcessEnv = process.env): void {
    const choice = outputChoice(o, this.streams.stderr, env);
    this.ndjson = choice.ndjson;
    if (choice.ndjson) this.events.on(ndjsonSink(this.streams.stdout));
    if (choice.progress === "fancy") {
      this.unplug.splice(0).forEach((off) => off());
      this.display = new ProgressDisplay(this.streams.stderr);
      this.events.on(this.display.sink);
    }
  }

  /** A command's printed result: stdout, or stderr while stdout carries the events. */
  print(text: string): void {
    (this.ndjson ? this.streams.stderr : this.streams.stdout).write(text);
  }

  /** The last event (run-ended, with the summary); the display's final frame stays. */
  end(summary: RunSummary): void {
    this.events.end(summary);
    this.display?.close();
  }
}
