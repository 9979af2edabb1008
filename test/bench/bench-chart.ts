// The bench's picture: for each measure (deploy to the monitor, recovery, detection), the
// driver's bar split into its stages next to its baseline's bar, as an SVG drawn by Vega-Lite
// (rendered headless: no browser, no canvas).
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export interface BenchBar {
  /** The measure this bar belongs to: "deploy", "recovery", "detection". */
  measure: string;
  /** "driver" or the baseline's name. */
  who: string;
  /** A part of the bar: a stage of the driver, or the baseline itself. */
  part: string;
  seconds: number;
}

export function benchChartSpec(bars: BenchBar[], title: string): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    data: { values: bars.map((b, order) => ({ ...b, order, row: `${b.measure}: ${b.who}` })) },
    width: 640,
    height: { step: 26 },
    mark: { type: "bar", tooltip: true },
    encoding: {
      y: { field: "row", type: "nominal", title: null, sort: null },
      x: { field: "seconds", type: "quantitative", aggregate: "sum", title: "seconds (median of the rounds)" },
      color: { field: "part", type: "nominal", title: "stage", sort: null, scale: { scheme: "tableau20" } },
      order: { field: "order", type: "quantitative" },
    },
    config: { font: "sans-serif" },
  };
}

/** The chart as an SVG document. */
export async function renderBenchChart(bars: BenchBar[], title: string): Promise<string> {
  const view = new vega.View(vega.parse(compile(benchChartSpec(bars, title)).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
