// Cancellation of a run: the first SIGTERM/SIGINT aborts the run's signal (every stage stops
// after its step in flight and the locks are released on the way out); a second signal, or
// the grace period running out, runs the urgent work at once (release the locks, stop the
// engine) and exits. Stages register that urgent work while they hold something.

export type UrgentWork = () => Promise<void> | void;

export class Cancellation {
  private readonly controller = new AbortController();
  private readonly urgent = new Set<UrgentWork>();
  /** The signal name that cancelled the run (SIGTERM, SIGINT), when one did. */
  reason: string | undefined;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  cancel(reason: string): void {
    if (this.signal.aborted) return;
    this.reason = reason;
    this.controller.abort(new Error(reason));
  }

  /** Work that must be done even if the run is cut short; returns its deregistration. */
  onUrgent(work: UrgentWork): () => void {
    this.urgent.add(work);
    return () => this.urgent.delete(work);
  }

  /** Runs the registered urgent work, newest first, each bounded; never throws. */
  async runUrgent(timeoutMs: number): Promise<string[]> {
    const problems: string[] = [];
    for (const work of [...this.urgent].reverse()) {
      this.urgent.delete(work);
      try {
        await Promise.race([
          Promise.resolve().then(work),
          new Promise((_, reject) => setTimeout(() => reject(new Error(`took longer than ${timeoutMs} ms`)), timeoutMs).unref()),
        ]);
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
      }
    }
    return problems;
  }
}
