// The one interface every kind of health check implements: a checker takes its samples for a
// round (one sample per check it stands for) and never rejects for a failed check.
import type { Prober } from "../probers.js";
import type { ProbeSample } from "../verdict.js";

export interface Checker extends Prober {
  /** How many checks (samples) a round of this checker yields: the verdict plans with it. */
  readonly checks: number;
}

/** A prober of `checks` samples a round as a checker. */
export function asChecker(prober: Prober, checks: number): Checker {
  return { checks, probe: (round, signal) => prober.probe(round, signal) };
}

/** All checkers as one prober: they run in parallel, their samples in the order given. */
export function allOf(checkers: readonly Checker[]): Checker {
  return {
    checks: checkers.reduce((n, c) => n + c.checks, 0),
    async probe(round, signal) {
      const results = await Promise.all(checkers.map((c) => c.probe(round, signal)));
      return results.flat() satisfies ProbeSample[];
    },
  };
}

/** Rejects when `work` takes longer than `ms` (a hung SSH session is bounded too). */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
