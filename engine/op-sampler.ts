/**
 * Sampled timing of hot-path operations (heap push/pop) for metrics. Timing every operation
 * would cost two clock reads per push and pop, more than a small heap operation itself, so one
 * operation in `every` is timed and its duration kept in a small ring until a scraper drains it.
 * The engine never depends on a metrics library: whoever reads the samples turns them into a
 * histogram (plugins/telemetry/metrics).
 */

/** The operations timed. */
export type SampledOp = 'push' | 'pop';

/** Sampled durations, in seconds, by operation. */
export interface OpSamples {
  push: number[];
  pop: number[];
}

/** Options of {@link OpSampler}. */
export interface OpSamplerOptions {
  /** Time one operation in this many (per operation kind). @default 64 */
  every?: number;
  /** Samples kept per operation between two drains; older ones are overwritten. @default 1024 */
  capacity?: number;
}

/** Keeps a ring of sampled durations per operation; `drain()` hands them over and empties it. */
export class OpSampler {
  private readonly every: number;
  private readonly capacity: number;
  private readonly countdown: Record<SampledOp, number>;
  private readonly rings: Record<SampledOp, Float64Array>;
  private readonly written: Record<SampledOp, number> = { push: 0, pop: 0 };

  constructor(options: OpSamplerOptions = {}) {
    this.every = Math.max(1, Math.floor(options.every ?? 64));
    this.capacity = Math.max(1, Math.floor(options.capacity ?? 1024));
    // The first operation of each kind is timed, so a short run still yields a sample.
    this.countdown = { push: 1, pop: 1 };
    this.rings = { push: new Float64Array(this.capacity), pop: new Float64Array(this.capacity) };
  }

  /** Whether to time this operation (true once every `every` calls). */
  shouldTime(op: SampledOp): boolean {
    if (--this.countdown[op] > 0) return false;
    this.countdown[op] = this.every;
    return true;
  }

  /** Records one timed operation, `ms` as measured by `performance.now()` differences. */
  record(op: SampledOp, ms: number): void {
    this.rings[op][this.written[op]++ % this.capacity] = ms / 1000;
  }

  /** The samples since the last drain (at most `capacity` per operation, newest kept). */
  drain(): OpSamples {
    const out: OpSamples = { push: [], pop: [] };
    for (const op of ['push', 'pop'] as const) {
      const n = this.written[op];
      const ring = this.rings[op];
      const start = n > this.capacity ? n - this.capacity : 0;
      for (let i = start; i < n; i++) out[op].push(ring[i % this.capacity]!);
      this.written[op] = 0;
    }
    return out;
  }
}
