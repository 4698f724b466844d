/**
 * The engine's load history: one row per step (1 s by default) of what the scheduler saw:
 * arrivals, completions, queue length, busy workers, mean duration, priority mix, and each
 * worker's load. Rows feed the Predictor online (`Predictor.observeLoad`), the prediction
 * metrics, and the `scheduler:load:sampled` event, so a recorder outside the engine can persist
 * them for `smartqueue model train` without the engine knowing where they go.
 */
import { priorityClass } from '../dsl/ir.js';
import type { LoadHistoryRow, PriorityMix, WorkerLoad, WorkerStepLoad } from './stages.js';

// The row format is part of the Predictor's contract, so it lives with it in stages.ts.
export type { LoadHistoryRow, PriorityMix, WorkerStepLoad } from './stages.js';

/** Counts of the step in progress. */
interface StepCounts {
  arrivals: number;
  completions: number;
  durationSumMs: number;
  mix: PriorityMix;
  assigned: Map<string, number>;
  completed: Map<string, number>;
}

function emptyStep(): StepCounts {
  return {
    arrivals: 0,
    completions: 0,
    durationSumMs: 0,
    mix: { high: 0, medium: 0, low: 0 },
    assigned: new Map(),
    completed: new Map(),
  };
}

/**
 * Counts what happens during a step (O(1) per event, no allocation on the hot path but one map
 * entry per worker) and turns it into a {@link LoadHistoryRow} when the step closes. Keeps the
 * latest `keep` rows for readers that join late (metrics, a model retrained online).
 */
export class LoadHistoryRecorder {
  readonly stepMs: number;
  readonly #keep: number;
  readonly #rows: LoadHistoryRow[] = [];
  #step = emptyStep();
  #lastMeanMs = 0;

  /**
   * @param stepMs length of a step (ms)
   * @param keep rows kept for {@link recent}
   */
  constructor(stepMs: number, keep: number) {
    this.stepMs = stepMs;
    this.#keep = Math.max(1, keep);
  }

  /** A task of the given numeric priority became ready. */
  arrival(priority: number): void {
    this.#step.arrivals++;
    this.#step.mix[priorityClass(priority)]++;
  }

  /** An attempt was assigned to `workerId`. */
  assigned(workerId: string): void {
    const m = this.#step.assigned;
    m.set(workerId, (m.get(workerId) ?? 0) + 1);
  }

  /** An attempt succeeded on `workerId` after running `durationMs`. */
  completed(workerId: string, durationMs: number): void {
    const s = this.#step;
    s.completions++;
    if (Number.isFinite(durationMs) && durationMs >= 0) s.durationSumMs += durationMs;
    s.completed.set(workerId, (s.completed.get(workerId) ?? 0) + 1);
  }

  /** Closes the step at `at` with the levels read now, and starts the next one. */
  sample(at: number, queueLength: number, loads: readonly WorkerLoad[]): LoadHistoryRow {
    const s = this.#step;
    this.#step = emptyStep();
    if (s.completions > 0) this.#lastMeanMs = s.durationSumMs / s.completions;
    let busy = 0;
    const workers = loads.map((w): WorkerStepLoad => {
      if (w.running > 0) busy++;
      return {
        id: w.id,
        capacity: w.capacity,
        running: w.running,
        weight: w.weight,
        reported: w.reported,
        utilisation: w.capacity > 0 ? (w.weight + w.reported) / w.capacity : 0,
        assigned: s.assigned.get(w.id) ?? 0,
        completed: s.completed.get(w.id) ?? 0,
      };
    });
    const row: LoadHistoryRow = {
      at,
      stepMs: this.stepMs,
      arrivals: s.arrivals,
      completions: s.completions,
      meanDurationMs: this.#lastMeanMs,
      queueLength,
      busyWorkers: busy,
      arrivalsByPriority: s.mix,
      workers,
    };
    this.#rows.push(row);
    if (this.#rows.length > this.#keep) this.#rows.splice(0, this.#rows.length - this.#keep);
    return row;
  }

  /** The latest rows, oldest first (at most `keep`). */
  recent(): readonly LoadHistoryRow[] {
    return this.#rows;
  }
}
