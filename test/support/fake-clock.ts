// A clock for tests: time moves only when someone sleeps or calls `advance`, so a
// five-minute watch runs in microseconds and every timestamp is exact.
import type { Clock } from "../../automation/monitor/monitor.js";

export interface FakeClock extends Clock {
  /** Moves time forward (e.g. a probe that "takes" 200 ms). */
  advance(ms: number): void;
  /** Every sleep asked for, in order (ms). */
  readonly sleeps: number[];
}

export function fakeClock(start = Date.UTC(2026, 0, 1)): FakeClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleeps,
    advance(ms) {
      now += ms;
    },
    async sleep(ms, signal) {
      sleeps.push(ms);
      if (signal?.aborted) return;
      now += Math.max(0, ms);
      // Yield like a real timer would, so other tasks (and aborts) get a turn.
      await Promise.resolve();
    },
  };
}
