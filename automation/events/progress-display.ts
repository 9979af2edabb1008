// The terminal display: the run's stages and its watch updating in place on stderr (with
// log-update), fed by the event stream. Warnings, and every line outside a stage (the final
// headline, the report's path), are written above the live area and stay.
import spinners from "cli-spinners";
import { createLogUpdate } from "log-update";
import type { EventSink } from "./emitter.js";
import { emptyView, foldEvent, renderView, runningStage, type ProgressView } from "./progress-view.js";
import type { RunEvent } from "./types.js";

export type ProgressMode = "plain" | "fancy" | "auto";
export const progressModes: readonly ProgressMode[] = ["plain", "fancy", "auto"];

/** auto: in place only on a terminal outside CI (CI logs want plain lines). */
export function chooseProgress(mode: ProgressMode, stream: { isTTY?: boolean | undefined }, env: NodeJS.ProcessEnv): "plain" | "fancy" {
  if (mode !== "auto") return mode;
  const ci = !!(env.CI || env.GITHUB_ACTIONS) || env.TERM === "dumb";
  return stream.isTTY && !ci ? "fancy" : "plain";
}

export interface DisplayStream {
  write(chunk: string): boolean;
  columns?: number | undefined;
  rows?: number | undefined;
}

export class ProgressDisplay {
  private view: ProgressView = emptyView();
  private readonly area: ReturnType<typeof createLogUpdate>;
  private readonly frames = spinners.dots.frames;
  private frame = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  /** The live area was left in place (the stages are over); lines now go below it. */
  private frozen = false;

  constructor(
    private readonly stream: DisplayStream,
    private readonly now: () => number = Date.now,
  ) {
    this.area = createLogUpdate(stream as NodeJS.WriteStream, { defaultWidth: 120 });
  }

  readonly sink: EventSink = (event) => this.take(event);

  private take(event: RunEvent): void {
    if (event.type === "run-ended") return this.close();
    if (event.type === "notice" && (event.level === "warning" || !runningStage(this.view))) {
      return this.persist(event.level === "warning" ? `warning: ${event.message}` : event.message);
    }
    if (event.type === "stage-started" && this.frozen) {
      this.frozen = false;
      this.view = emptyView();
    }
    this.view = foldEvent(this.view, event, this.now());
    this.draw();
  }

  /** A line that stays: above the live area while stages run, below the finished area after them. */
  private persist(line: string): void {
    if (this.view.stages.length && !runningStage(this.view) && !this.frozen) this.freeze();
    if (this.frozen || !this.view.stages.length) this.stream.write(`${line}\n`);
    else {
      // persist() erases the area and writes the line; the area is drawn again below it.
      this.area.persist(line);
      this.draw();
    }
  }

  private freeze(): void {
    this.stopTicking();
    this.area(this.lines());
    this.area.done();
    this.frozen = true;
  }

  private lines(): string {
    return renderView(this.view, this.now(), this.frames[this.frame % this.frames.length]!, (this.stream.columns || 120) - 1).join("\n");
  }

  private draw(): void {
    if (this.frozen) return;
    this.area(this.lines());
    if (runningStage(this.view) && !this.ticker) {
      this.ticker = setInterval(() => {
        this.frame += 1;
        this.area(this.lines());
      }, spinners.dots.interval).unref();
    } else if (!runningStage(this.view)) this.stopTicking();
  }

  private stopTicking(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** The final frame stays on screen. */
  close(): void {
    if (!this.frozen && this.view.stages.length) this.freeze();
    this.stopTicking();
  }
}
