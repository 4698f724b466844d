/**
 * The two uses of a loaded model inside the `onnx` predictor. Both keep their inputs as data
 * arrives, run the model in batches off the dispatch path, and cache the answers that the
 * predictor's synchronous methods return.
 */
import type { ArrivalForecast } from '../../../engine/stages.js';
import type { LoadHistoryRow } from '../../../engine/load-history.js';
import type { OnnxModelMetadata } from './export/index.js';
import { resolveLoadDataOptions } from './model/load-forecast.js';
import type { OnnxSequenceSession } from './session.js';
import { SERIES_FEATURES, StepSeries } from './step-series.js';

const DURATION_FEATURES: Record<string, (durationMs: number, priority: number) => number> = {
  duration_ms: (d) => d,
  log_duration_ms: (d) => Math.log1p(d),
  priority: (_d, p) => p,
};

/**
 * How a duration model's output becomes milliseconds, by `targetTransform` in its training
 * metadata: none (the output is milliseconds) or `log1p` (it predicts log1p(ms), which suits
 * runtimes spanning orders of magnitude).
 */
const DURATION_OUTPUTS: Record<string, (y: number) => number> = {
  none: (y) => y,
  log1p: (y) => Math.expm1(y),
};

function durationOutputOf(meta: OnnxModelMetadata): string {
  const raw = meta.training.targetTransform;
  return raw === undefined ? 'none' : String(raw);
}

/** Why a model cannot serve durations, or undefined when it can. */
export function durationModelProblem(meta: OnnxModelMetadata): string | undefined {
  const unknown = meta.features.filter((f) => !(f in DURATION_FEATURES));
  if (unknown.length > 0) {
    return `a duration model's features must be among ${Object.keys(DURATION_FEATURES).join(', ')}; it has ${unknown.join(', ')}`;
  }
  const output = durationOutputOf(meta);
  if (!(output in DURATION_OUTPUTS)) {
    return `a duration model's targetTransform must be log1p or absent; it has ${output}`;
  }
  return undefined;
}

/** Why a model cannot serve load or arrivals, or undefined when it can. */
export function loadModelProblem(meta: OnnxModelMetadata): string | undefined {
  if (meta.features.join() !== SERIES_FEATURES.join()) {
    return `a load model's features must be ${SERIES_FEATURES.join(', ')}; it has ${meta.features.join(', ')}`;
  }
  return undefined;
}

/** Per handler (and priority, when the model uses it): the latest durations and the cached forecast. */
export class DurationForecaster {
  readonly #session: OnnxSequenceSession;
  readonly #maxKeys: number;
  readonly #usesPriority: boolean;
  readonly #columns: ((durationMs: number, priority: number) => number)[];
  readonly #toMs: (y: number) => number;
  readonly #recent = new Map<string, number[]>();
  readonly #keys = new Map<string, { handler: string; priority: number }>();
  readonly #keysOf = new Map<string, string[]>();
  readonly #cache = new Map<string, number>();
  readonly #dirty = new Set<string>();

  constructor(session: OnnxSequenceSession, maxKeys: number) {
    this.#session = session;
    this.#maxKeys = maxKeys;
    this.#usesPriority = session.metadata.features.includes('priority');
    this.#columns = session.metadata.features.map(
      (f) => DURATION_FEATURES[f] as (d: number, p: number) => number,
    );
    this.#toMs = DURATION_OUTPUTS[durationOutputOf(session.metadata)] as (y: number) => number;
  }

  observe(handler: string, durationMs: number): void {
    const window = this.#session.metadata.spec.window;
    let recent = this.#recent.get(handler);
    if (recent === undefined) {
      if (this.#recent.size >= this.#maxKeys) return;
      recent = [];
      this.#recent.set(handler, recent);
    }
    recent.push(durationMs);
    if (recent.length > window) recent.shift();
    for (const key of this.#keysOf.get(handler) ?? []) this.#dirty.add(key);
  }

  /** The cached forecast; asking marks the key so the next refresh computes it. */
  lookup(handler: string, priority: number): number | undefined {
    const key = this.#usesPriority ? `${handler}\u0000${priority}` : handler;
    const cached = this.#cache.get(key);
    if (cached === undefined && !this.#keys.has(key) && this.#keys.size < this.#maxKeys) {
      this.#keys.set(key, { handler, priority });
      const keys = this.#keysOf.get(handler) ?? [];
      keys.push(key);
      this.#keysOf.set(handler, keys);
      this.#dirty.add(key);
    }
    return cached;
  }

  /** Runs the model once for every key whose inputs changed and whose handler has a full window. */
  async refresh(): Promise<void> {
    const window = this.#session.metadata.spec.window;
    const batch: { key: string; rows: number[][] }[] = [];
    for (const key of this.#dirty) {
      const { handler, priority } = this.#keys.get(key) as { handler: string; priority: number };
      const recent = this.#recent.get(handler);
      if (recent === undefined || recent.length < window) continue;
      this.#dirty.delete(key);
      batch.push({ key, rows: recent.map((d) => this.#columns.map((column) => column(d, priority))) });
    }
    if (batch.length === 0) return;
    const outputs = await this.#session.run(batch.map((b) => b.rows));
    batch.forEach(({ key }, i) => {
      const raw = outputs[i]?.[0];
      const value = raw === undefined ? undefined : this.#toMs(raw);
      // A duration is never negative; a non-finite output is no answer at all.
      if (value !== undefined && Number.isFinite(value)) this.#cache.set(key, Math.max(0, value));
      else this.#cache.delete(key);
    });
  }
}

interface WorkerSeries {
  series: StepSeries;
  capacity: number;
  utilisation: number;
  lastSeen: number;
}

/** Rolling-window length the model was trained with (training metadata, else training's default). */
function rollingStepsOf(meta: OnnxModelMetadata): number {
  const raw = meta.training.rollingSteps;
  return typeof raw === 'number' && Number.isInteger(raw) && raw > 0
    ? raw
    : resolveLoadDataOptions().rollingSteps;
}

/**
 * Forecasts one series per worker (utilisation, percent) or one global series (arrivals per
 * step) with a load model, once per closed step, all workers in one batch.
 */
export class LoadForecaster {
  readonly stepMs: number;
  readonly #session: OnnxSequenceSession;
  readonly #mode: 'workers' | 'arrivals';
  readonly #rollingSteps: number;
  readonly #keep: number;
  /** A model folded onto one series' scale takes raw values; the others take standardized ones. */
  readonly #standardize: boolean;
  readonly #workers = new Map<string, WorkerSeries>();
  readonly #arrivals: StepSeries;
  readonly #workerForecasts = new Map<string, number>();
  #arrivalForecast: ArrivalForecast | undefined;

  constructor(session: OnnxSequenceSession, mode: 'workers' | 'arrivals', stepMs: number | undefined) {
    const meta = session.metadata;
    this.#session = session;
    this.#mode = mode;
    this.stepMs = stepMs ?? meta.stepSeconds * 1000;
    this.#rollingSteps = rollingStepsOf(meta);
    // Enough steps for the window, its rolling features, and a day of 5-minute steps for the scale.
    this.#keep = meta.spec.window + this.#rollingSteps + 288;
    this.#standardize = meta.training.seriesScale === undefined;
    this.#arrivals = new StepSeries(this.stepMs, 'sum', this.#keep);
  }

  /** Adds one load-history row; resolves true when it closed a step (the caller then runs {@link refresh}). */
  observe(row: LoadHistoryRow): boolean {
    if (this.#mode === 'arrivals') return this.#arrivals.add(row.at, row.arrivals);
    let closed = false;
    for (const w of row.workers) {
      let entry = this.#workers.get(w.id);
      if (entry === undefined) {
        entry = {
          series: new StepSeries(this.stepMs, 'mean', this.#keep),
          capacity: 0,
          utilisation: 0,
          lastSeen: 0,
        };
        this.#workers.set(w.id, entry);
      }
      entry.capacity = w.capacity;
      entry.utilisation = w.utilisation;
      entry.lastSeen = row.at;
      if (entry.series.add(row.at, w.utilisation * 100)) closed = true;
    }
    // A worker absent for a whole step has left (or was lost): forget it and its forecast.
    for (const [id, entry] of this.#workers) {
      if (row.at - entry.lastSeen > this.stepMs) {
        this.#workers.delete(id);
        this.#workerForecasts.delete(id);
      }
    }
    return closed;
  }

  workerForecast(workerId: string): number | undefined {
    return this.#workerForecasts.get(workerId);
  }

  arrivalForecast(): ArrivalForecast | undefined {
    return this.#arrivalForecast;
  }

  /** Runs the model on every series with a full window, in one batch. */
  async refresh(): Promise<void> {
    const { window, outputSize } = this.#session.metadata.spec;
    const jobs: { id: string; series: StepSeries }[] =
      this.#mode === 'arrivals'
        ? [{ id: '', series: this.#arrivals }]
        : [...this.#workers].map(([id, entry]) => ({ id, series: entry.series }));
    const batch: { id: string; rows: number[][]; mean: number; std: number }[] = [];
    for (const { id, series } of jobs) {
      const { mean, std } = this.#standardize ? series.scale() : { mean: 0, std: 1 };
      const rows = series.window(window, this.#rollingSteps, mean, std);
      if (rows !== undefined) batch.push({ id, rows, mean, std });
    }
    if (batch.length === 0) return;
    const outputs = await this.#session.run(batch.map((b) => b.rows));
    batch.forEach(({ id, mean, std }, i) => {
      const forecast = (outputs[i] ?? []).map((y) => y * std + mean);
      if (forecast.length === 0 || !forecast.every(Number.isFinite)) return;
      if (this.#mode === 'arrivals') {
        const perStep = forecast.reduce((sum, y) => sum + Math.max(0, y), 0) / forecast.length;
        this.#arrivalForecast = {
          perSecond: perStep / (this.stepMs / 1000),
          horizonMs: outputSize * this.stepMs,
        };
        return;
      }
      const entry = this.#workers.get(id);
      if (entry === undefined) return;
      // Extra load = how far the peak forecast utilisation rises above the current one, in cost units.
      const peak = Math.max(...forecast) / 100;
      this.#workerForecasts.set(id, Math.max(0, peak - entry.utilisation) * entry.capacity);
    });
  }
}
