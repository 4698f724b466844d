/**
 * The series the load models run on, built online from the engine's load-history rows: rows
 * (1 s apart by default) are aggregated onto the model's own step (5 min for the shipped
 * models), because a model only knows the step it was trained on. Feature rows come from the
 * same `buildFeatures` that training used, so training and serving cannot drift apart.
 */
import { buildFeatures, featureNames } from './model/data.js';

/** How the samples of one step combine: counts add up, levels average. */
export type StepAggregate = 'sum' | 'mean';

/** The features {@link StepSeries.window} produces (a series without extra columns). */
export const SERIES_FEATURES: readonly string[] = featureNames({
  name: '',
  start: 0,
  stepSeconds: 1,
  values: [],
  filled: 0,
  merged: 0,
});

/** A fixed-step series fed sample by sample; keeps the latest `keep` closed steps. */
export class StepSeries {
  readonly stepMs: number;
  readonly #aggregate: StepAggregate;
  readonly #keep: number;
  readonly #values: number[] = [];
  /** Index (time / stepMs) of `#values[0]`. */
  #firstStep = 0;
  #openStep: number | undefined;
  #openSum = 0;
  #openCount = 0;

  constructor(stepMs: number, aggregate: StepAggregate, keep: number) {
    this.stepMs = stepMs;
    this.#aggregate = aggregate;
    this.#keep = Math.max(1, keep);
  }

  /** Adds a sample taken at `at` (epoch ms); returns true when it closed at least one step. */
  add(at: number, value: number): boolean {
    if (!Number.isFinite(at) || !Number.isFinite(value)) return false;
    const step = Math.floor(at / this.stepMs);
    if (this.#openStep === undefined) {
      this.#open(step);
    } else if (step < this.#openStep) {
      // A late sample of a step already closed: dropping it keeps closed steps immutable.
      return false;
    }
    let closed = false;
    if (step > (this.#openStep as number)) {
      this.#close(step);
      closed = true;
    }
    this.#openSum += value;
    this.#openCount++;
    return closed;
  }

  /** Closed steps kept, oldest first. */
  get length(): number {
    return this.#values.length;
  }

  /** The latest closed value, if any. */
  last(): number | undefined {
    return this.#values.at(-1);
  }

  /** Mean and standard deviation of the kept steps (std 1 for a flat series, as in training). */
  scale(): { mean: number; std: number } {
    const n = this.#values.length;
    const mean = this.#values.reduce((a, b) => a + b, 0) / Math.max(1, n);
    const sd = Math.sqrt(this.#values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n));
    return { mean, std: sd > 1e-12 ? sd : 1 };
  }

  /**
   * The latest `window` feature rows (see {@link SERIES_FEATURES}), computed over
   * `(value - shift) / divide` with `rollingSteps` of history before the window when available;
   * undefined until `window` steps have closed.
   */
  window(window: number, rollingSteps: number, shift = 0, divide = 1): number[][] | undefined {
    if (this.#values.length < window) return undefined;
    const from = Math.max(0, this.#values.length - window - rollingSteps + 1);
    const values = this.#values.slice(from).map((v) => (v - shift) / divide);
    const rows = buildFeatures(
      {
        name: '',
        start: (this.#firstStep + from) * this.stepMs,
        stepSeconds: this.stepMs / 1000,
        values,
        filled: 0,
        merged: 0,
      },
      { rollingSteps },
    );
    return rows.slice(rows.length - window);
  }

  #open(step: number): void {
    this.#openStep = step;
    this.#openSum = 0;
    this.#openCount = 0;
    if (this.#values.length === 0) this.#firstStep = step;
  }

  #close(next: number): void {
    const open = this.#openStep as number;
    const value =
      this.#aggregate === 'sum' ? this.#openSum : this.#openCount > 0 ? this.#openSum / this.#openCount : 0;
    this.#values.push(value);
    // Steps without any sample: nothing was counted, and a level stays where it was.
    const gap = Math.min(next - open - 1, this.#keep);
    for (let i = 0; i < gap; i++) this.#values.push(this.#aggregate === 'sum' ? 0 : value);
    this.#firstStep = next - this.#values.length;
    if (this.#values.length > this.#keep) {
      this.#values.splice(0, this.#values.length - this.#keep);
      this.#firstStep = next - this.#values.length;
    }
    this.#open(next);
  }
}
