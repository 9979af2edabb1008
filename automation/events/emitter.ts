// The run's event stream: every progress line and every structured event goes through one
// emitter, which masks the run's secrets and hands each event to its sinks (plain lines on
// stderr, the terminal display, `--events ndjson`) as it happens.
import type { Logger } from "../common/log.js";
import { outcomes } from "../report/outcomes.js";
import { redact } from "../report/redact.js";
import type { RunSummary } from "../report/summary.js";
import { plainLine } from "./plain.js";
import { eventsVersion, type RunEvent, type RunEventBody } from "./types.js";

export type EventSink = (event: RunEvent) => void;

export class RunEvents implements Logger {
  private readonly sinks: EventSink[] = [];
  private readonly secretLists: (readonly string[])[] = [];
  private seq = 0;

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Adds a sink; returns its removal. */
  on(sink: EventSink): () => void {
    this.sinks.push(sink);
    return () => void this.sinks.splice(this.sinks.indexOf(sink) >>> 0, 1);
  }

  /** Masks these secrets in every later event (the list may grow as the run learns secrets). */
  maskWith(secrets: readonly string[]): void {
    if (!this.secretLists.includes(secrets)) this.secretLists.push(secrets);
  }

  emit(body: RunEventBody): void {
    this.seq += 1;
    const event = redact({ v: eventsVersion, seq: this.seq, at: this.now().toISOString(), ...body } as RunEvent, this.secretLists.flat());
    for (const sink of [...this.sinks]) {
      try {
        sink(event);
      } catch {
        // A sink that cannot write (a closed pipe) must not stop the deployment.
      }
    }
  }

  info(line: string): void {
    this.emit({ type: "notice", level: "info", message: line });
  }

  warn(line: string): void {
    this.emit({ type: "notice", level: "warning", message: line });
  }

  /** The run's last event: its outcome, exit code and summary. */
  end(summary: RunSummary): void {
    const { outcome, exitCode } = summary;
    this.emit({ type: "run-ended", outcome, exitCode, headline: outcomes[outcome].headline, summary });
  }
}

/** Sends an event to a run's stream; a plain logger (tests, the demo) gets its progress line. */
export function emitEvent(log: Logger, event: RunEventBody): void {
  if (log.emit) return log.emit(event);
  writePlain(log, event);
}

function writePlain(log: Logger, event: RunEventBody): void {
  const line = plainLine(event);
  if (line) (line.warning ? log.warn : log.info)(line.text);
}

/** The sink that writes the plain progress lines to a logger (stderr in CI). */
export function plainLines(log: Logger): EventSink {
  return (event) => writePlain(log, event);
}

/** Runs one stage between its started and ended events (timed, also when it throws). */
export async function inStage<T>(events: Logger, stage: string, run: () => Promise<T>): Promise<T> {
  const began = performance.now();
  emitEvent(events, { type: "stage-started", stage });
  let outcome: { ok: boolean; endsRun: boolean } = { ok: false, endsRun: true };
  try {
    const result = await run();
    outcome = { ok: true, endsRun: result !== undefined };
    return result;
  } finally {
    emitEvent(events, { type: "stage-ended", stage, ms: Math.round(performance.now() - began), ...outcome });
  }
}

/** A run's stream: the caller's (the CLI's outputs), or one writing plain lines to `log`. */
export function runEventsFor(opts: { events?: RunEvents | undefined; log?: Logger | undefined }): RunEvents {
  if (opts.events) return opts.events;
  const events = new RunEvents();
  if (opts.log) events.on(plainLines(opts.log));
  return events;
}
