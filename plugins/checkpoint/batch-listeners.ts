/**
 * Listeners of a store's group-commit batches (for metrics: flush latency, batch size, errors),
 * shared by the SQLite, Redis and Cassandra stores.
 */

/** One batch write: its duration in seconds, its number of writes, and whether it committed. */
export interface BatchReport {
  seconds: number;
  writes: number;
  ok: boolean;
}

export class BatchListeners {
  readonly #listeners = new Set<(batch: BatchReport) => void>();

  /** Adds `listener`; returns its remover. */
  add(listener: (batch: BatchReport) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The start time of a batch (0 when nobody listens, so an unobserved store pays nothing). */
  start(): number {
    return this.#listeners.size ? performance.now() : 0;
  }

  /** Reports a batch that began at `t0` (from {@link start}). */
  done(t0: number, writes: number, ok: boolean): void {
    if (!this.#listeners.size) return;
    const batch = { seconds: (performance.now() - t0) / 1000, writes, ok };
    for (const l of this.#listeners) {
      try {
        l(batch);
      } catch {
        // A metrics listener's bug must not fail a commit.
      }
    }
  }
}
