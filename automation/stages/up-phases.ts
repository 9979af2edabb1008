// Where an `up`'s time goes, from its engine events: the engine's start (program and plugin
// up to the first step), each step (the pulls, the switch), and the engine's finish. The switch
// itself prints a line as each of its phases ends (host-commands/deploy.ts switchPhaseMarker,
// the host's clock in ms), which splits it into staging and images, backup, compose up, the
// wait until every container runs (and is healthy), and the record.
import type { EngineEvent } from "@pulumi/pulumi/automation/index.js";
import { switchPhaseMarker } from "../../components/host-commands/deploy.js";

export interface UpPhase {
  phase: string;
  ms: number;
}

/** The switch's phases, in order, each named by the work that ends with its marker. */
const switchPhases: [marker: string, label: string][] = [
  ["images", "switch: stage files, check images"],
  ["backup", "switch: back up"],
  ["start", "switch: compose up"],
  ["wait", "switch: wait running/healthy"],
  // blue-green only: the proxy sends new requests to the new color.
  ["flip", "switch: proxy flip"],
  ["record", "switch: write the record"],
];

// Milliseconds only (a date without %N, such as busybox's, prints no number that would pass).
const markerPattern = new RegExp(`${switchPhaseMarker} ([a-z]+) (\\d{13})\\s*$`, "gm");

/** Whether a line of engine output is one of the switch's phase lines (not worth a progress line). */
export const isPhaseLine = (line: string): boolean => line.includes(switchPhaseMarker);

/** Collects an up's engine events as they arrive (arrival time on this machine's clock). */
export class UpPhaseRecorder {
  private readonly began = performance.now();
  private firstStep: number | undefined;
  private lastDone: number | undefined;
  private readonly steps = new Map<string, { start?: number; end?: number }>();
  /** The switch's phase lines, per step (each host has its own switch). */
  private readonly hostMarks = new Map<string, Map<string, number>>();

  onEvent = (event: EngineEvent): void => {
    const now = performance.now();
    const pre = event.resourcePreEvent?.metadata;
    const done = event.resOutputsEvent?.metadata;
    if (pre && pre.type !== "pulumi:pulumi:Stack" && !pre.type.startsWith("pulumi:providers:") && pre.op !== "same") {
      this.firstStep ??= now;
      this.step(pre.urn).start ??= now;
    }
    if (done && this.steps.has(done.urn)) {
      this.step(done.urn).end = now;
      this.lastDone = now;
      this.readMarks(done.urn, String(done.new?.outputs?.["stderr"] ?? ""));
    }
    const diag = event.diagnosticEvent;
    if (diag?.urn) this.readMarks(diag.urn, diag.message);
  };

  private step(urn: string): { start?: number; end?: number } {
    let s = this.steps.get(urn);
    if (!s) this.steps.set(urn, (s = {}));
    return s;
  }

  private readMarks(urn: string, text: string): void {
    for (const m of text.matchAll(markerPattern)) {
      let marks = this.hostMarks.get(urn);
      if (!marks) this.hostMarks.set(urn, (marks = new Map()));
      if (!marks.has(m[1]!)) marks.set(m[1]!, Number(m[2]));
    }
  }

  /** The phases so far, in order; `ended` is when the up returned. */
  phases(ended = performance.now()): UpPhase[] {
    const out: UpPhase[] = [];
    const ms = (a: number, b: number) => Math.max(0, Math.round(b - a));
    if (this.firstStep === undefined) return [{ phase: "engine (no step ran)", ms: ms(this.began, ended) }];
    out.push({ phase: "engine start (program, plugins, plan)", ms: ms(this.began, this.firstStep) });
    for (const [urn, s] of this.steps) {
      if (s.start === undefined) continue;
      const name = stepName(urn);
      const took = ms(s.start, s.end ?? ended);
      const sw = /^(?:(.+)-)?switch$/.exec(name);
      if (!sw) {
        out.push({ phase: name.replace(/^(?:(.+)-)?pull-(.+)$/, (_, host: string | undefined, svc: string) => `pull ${svc}${onHost(host)}`), ms: took });
        continue;
      }
      const split = this.switchSplit(urn).map((p) => ({ ...p, phase: `${p.phase}${onHost(sw[1])}` }));
      out.push({ phase: `switch: ssh and engine${onHost(sw[1])}`, ms: Math.max(0, took - split.reduce((n, p) => n + p.ms, 0)) }, ...split);
    }
    out.push({ phase: "engine finish", ms: ms(this.lastDone ?? ended, ended) });
    return out;
  }

  private switchSplit(urn: string): UpPhase[] {
    const marks = this.hostMarks.get(urn) ?? new Map<string, number>();
    let from = marks.get("begin");
    if (from === undefined) return [];
    const out: UpPhase[] = [];
    for (const [marker, label] of switchPhases) {
      const at = marks.get(marker);
      // A phase this strategy has not (the flip) is skipped; the first missing one of a failed switch ends the list.
      if (at === undefined) {
        if (marker === "flip") continue;
        break;
      }
      out.push({ phase: label, ms: Math.max(0, at - from) });
      from = at;
    }
    return out;
  }
}

const onHost = (host: string | undefined) => (host ? ` (${host})` : "");

/** A step's name without the stack's component prefix: "awareness-sandbox-pull-backend" -> "sandbox-pull-backend". */
function stepName(urn: string): string {
  return (urn.split("::").at(-1) ?? urn).replace(/^awareness-/, "");
}
