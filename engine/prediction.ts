/**
 * The engine's prediction loop: it records the load history step by step, feeds it to the
 * Predictor, pushes the Predictor's per-worker load forecasts into the Balancer once per
 * scheduling tick, scores forecasts against what happened, and turns the predicted arrival rate
 * into the recommended worker and shard counts (exported as metrics for autoscaling).
 */
import { SmartQueueError } from './errors.js';
import { LoadHistoryRecorder } from './load-history.js';
import type { LoadHistoryRow } from './load-history.js';
import type { ArrivalForecast, Balancer, DurationSample, Predictor } from './stages.js';

/** Options of the prediction loop (engine option `prediction`). */
export interface PredictionOptions {
  /** Length of one load-history step (ms). @default 1000 */
  stepMs?: number;
  /** Load-history rows kept in memory for late readers. @default 3600 */
  historyRows?: number;
  /** Share of worker slots the recommended worker count aims to keep busy, in (0, 1]. @default 0.8 */
  targetUtilisation?: number;
  /** Arrivals per second one shard is sized for, for the recommended shard count. @default 500 */
  shardArrivalRate?: number;
  /** Most shards ever recommended. @default 1024 */
  maxShards?: number;
  /** Rows over which the mean task duration (for the worker count) is averaged. @default 60 */
  durationWindowRows?: number;
}

/** {@link PredictionOptions} with every default applied. */
export type ResolvedPredictionOptions = Required<PredictionOptions>;

/** What the prediction metrics read (at scrape time). */
export interface PredictionStats {
  /** Predicted arrivals (tasks becoming ready) per second; undefined before the first step. */
  predictedArrivalsPerSecond: number | undefined;
  /** Where the arrival forecast came from: the predictor's name, or `rate-ewma` (fallback). */
  arrivalModel: string;
  /** See {@link recommendWorkers}; undefined until a task has finished. */
  recommendedWorkers: number | undefined;
  /** See {@link ShardAdvisor}. */
  recommendedShards: number;
}

/** One forecast scored against what happened (absolute relative error). */
export interface ForecastError {
  /** The predictor (or fallback) that made the forecast. */
  model: string;
  /** What was forecast: `arrivals` (rate over the horizon) or `duration` (one task's run time). */
  target: 'arrivals' | 'duration';
  /** |forecast − actual| / max(actual, floor): see {@link relativeError}. */
  error: number;
}

/**
 * Absolute relative error |forecast − actual| / max(|actual|, floor). The floor keeps idle
 * periods (actual 0) from dividing by zero: one task per step for rates, 1 ms for durations.
 */
export function relativeError(forecast: number, actual: number, floor: number): number {
  return Math.abs(forecast - actual) / Math.max(Math.abs(actual), floor);
}

/**
 * Workers needed for a predicted arrival rate, by Little's law: the busy slots are
 * λ × D (arrivals per second × mean duration in seconds); each worker offers `capacity` slots
 * and should keep `targetUtilisation` of them busy, so
 *
 * ```
 * workers = max(1, ceil(λ × D / (capacity × targetUtilisation)))
 * ```
 */
export function recommendWorkers(input: {
  arrivalsPerSecond: number;
  meanDurationMs: number;
  capacityPerWorker: number;
  targetUtilisation: number;
}): number {
  const busySlots = Math.max(0, input.arrivalsPerSecond) * (Math.max(0, input.meanDurationMs) / 1000);
  const perWorker = Math.max(1, input.capacityPerWorker) * input.targetUtilisation;
  // 1e-9 absorbs float noise, so exactly 2 workers' worth is not rounded up to 3.
  return Math.max(1, Math.ceil(busySlots / perWorker - 1e-9));
}

/**
 * The recommended shard count, with hysteresis so it changes only when the load shifts:
 * `needed = clamp(ceil(λ / shardArrivalRate), 1, maxShards)` for the predicted rate λ. The
 * recommendation rises to `needed` as soon as `needed` exceeds it, and falls to `needed` only
 * once `needed` is at most half of it; in between it stays, so a rate wavering around a
 * boundary does not flap the count. It starts at the engine's shard count.
 */
export class ShardAdvisor {
  #current: number;

  constructor(
    initial: number,
    private readonly shardArrivalRate: number,
    private readonly maxShards: number,
  ) {
    this.#current = initial;
  }

  get current(): number {
    return this.#current;
  }

  /** Updates the recommendation for a predicted rate; returns it. */
  update(arrivalsPerSecond: number): number {
    const needed = Math.min(
      this.maxShards,
      Math.max(1, Math.ceil(Math.max(0, arrivalsPerSecond) / this.shardArrivalRate - 1e-9)),
    );
    if (needed > this.#current || needed * 2 <= this.#current) this.#current = needed;
    return this.#current;
  }
}

/** Weight of the newest step in the fallback arrival-rate forecast. */
const RATE_ALPHA = 0.3;
/** Forecast errors kept until a scrape drains them. */
const MAX_PENDING_ERRORS = 4096;

/** An arrival forecast waiting for its horizon to pass. */
interface PendingForecast {
  model: string;
  perSecond: number;
  stepsLeft: number;
  arrivals: number;
  ms: number;
}

/** What the loop needs from the engine. */
export interface PredictionLoopDeps {
  predictor: Predictor | undefined;
  balancer: Balancer;
  /** Ready tasks waiting now. */
  readyCount(): number;
  /** The engine's shard count (the shard recommendation starts there). */
  shards: number;
  /** Called with every row (the engine emits `scheduler:load:sampled`). */
  onRow?(row: LoadHistoryRow): void;
}

/** Runs the prediction side of the engine; see the file comment. */
export class PredictionLoop {
  readonly history: LoadHistoryRecorder;
  readonly #o: ResolvedPredictionOptions;
  readonly #d: PredictionLoopDeps;
  readonly #advisor: ShardAdvisor;
  readonly #sent = new Map<string, number>();
  readonly #pending: PendingForecast[] = [];
  #errors: ForecastError[] = [];
  #timer: NodeJS.Timeout | undefined;
  #rate: number | undefined;
  #arrivalModel = 'rate-ewma';
  #recommendedWorkers: number | undefined;

  constructor(options: ResolvedPredictionOptions, deps: PredictionLoopDeps) {
    this.#o = options;
    this.#d = deps;
    this.history = new LoadHistoryRecorder(options.stepMs, options.historyRows);
    this.#advisor = new ShardAdvisor(deps.shards, options.shardArrivalRate, options.maxShards);
  }

  /** Starts stepping every `stepMs` (the timer does not keep the process alive). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.step(Date.now()), this.#o.stepMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A task became ready. */
  arrival(priority: number): void {
    this.history.arrival(priority);
  }

  /** An attempt went to a worker. */
  assigned(workerId: string): void {
    this.history.assigned(workerId);
  }

  /**
   * An attempt succeeded: recorded, fed to the predictor, and, when the task's estimate was the
   * predictor's (`predicted`), scored against the actual duration.
   */
  completed(sample: DurationSample, predicted: boolean): void {
    this.history.completed(sample.workerId ?? '', sample.durationMs);
    const predictor = this.#d.predictor;
    if (!predictor) return;
    predictor.observe(sample);
    if (predicted && sample.estimateMs !== undefined && Number.isFinite(sample.durationMs)) {
      this.#pushError({
        model: predictor.name,
        target: 'duration',
        error: relativeError(sample.estimateMs, sample.durationMs, 1),
      });
    }
  }

  /**
   * Scheduling tick: pushes each worker's forecast extra load into the balancer. Only changed
   * values reach it; a worker the predictor has nothing on carries no forecast.
   */
  refreshForecasts(): void {
    const predictor = this.#d.predictor;
    const forecast = this.#d.balancer.forecast;
    if (!predictor?.forecastWorkerLoad || !forecast) return;
    for (const [id, last] of this.#sent) {
      const raw = predictor.forecastWorkerLoad(id);
      const extra = raw !== undefined && raw >= 0 && raw < Infinity ? raw : 0;
      if (extra === last) continue;
      this.#sent.set(id, extra);
      forecast.call(this.#d.balancer, id, extra);
    }
  }

  /** Closes the current step at `now` (the timer calls it; tests call it directly). */
  step(now: number): LoadHistoryRow {
    const loads = this.#d.balancer.snapshot();
    const row = this.history.sample(now, this.#d.readyCount(), loads);
    // The workers forecasts are refreshed for: those the balancer knows now.
    const known = new Set(loads.map((w) => w.id));
    for (const id of this.#sent.keys()) if (!known.has(id)) this.#sent.delete(id);
    for (const id of known) if (!this.#sent.has(id)) this.#sent.set(id, -1);
    this.#scoreArrivals(row);
    const predictor = this.#d.predictor;
    try {
      predictor?.observeLoad?.(row);
    } catch {
      // A predictor's failure must not stop the engine; its forecasts just go stale.
    }
    this.#forecastArrivals(row, predictor);
    this.#recommend(loads);
    this.refreshForecasts();
    this.#d.onRow?.(row);
    return row;
  }

  /** Latest figures for the metrics. */
  stats(): PredictionStats {
    return {
      predictedArrivalsPerSecond: this.#rate,
      arrivalModel: this.#arrivalModel,
      recommendedWorkers: this.#recommendedWorkers,
      recommendedShards: this.#advisor.current,
    };
  }

  /** Forecast errors scored since the last call (metrics observe them at scrape time). */
  drainErrors(): ForecastError[] {
    const errors = this.#errors;
    this.#errors = [];
    return errors;
  }

  #pushError(e: ForecastError): void {
    // Without a scraper nobody drains: keep the newest errors only.
    if (this.#errors.length >= MAX_PENDING_ERRORS) this.#errors.shift();
    this.#errors.push(e);
  }

  /** Adds the step to every forecast still waiting; scores those whose horizon is now over. */
  #scoreArrivals(row: LoadHistoryRow): void {
    for (let i = 0; i < this.#pending.length;) {
      const p = this.#pending[i]!;
      p.arrivals += row.arrivals;
      p.ms += row.stepMs;
      if (--p.stepsLeft > 0) {
        i++;
        continue;
      }
      const actual = p.arrivals / (p.ms / 1000);
      this.#pushError({
        model: p.model,
        target: 'arrivals',
        error: relativeError(p.perSecond, actual, 1000 / this.#o.stepMs),
      });
      this.#pending.splice(i, 1);
    }
  }

  #forecastArrivals(row: LoadHistoryRow, predictor: Predictor | undefined): void {
    let f: ArrivalForecast | undefined;
    try {
      f = predictor?.forecastArrivals?.();
    } catch {
      f = undefined;
    }
    const observed = row.arrivals / (row.stepMs / 1000);
    let model = predictor?.name ?? 'rate-ewma';
    if (f === undefined || !(f.perSecond >= 0 && f.perSecond < Infinity) || !(f.horizonMs > 0)) {
      // No model forecast: an EWMA of the observed rate, one step ahead.
      const last = this.#arrivalModel === 'rate-ewma' ? this.#rate : undefined;
      f = {
        perSecond: last === undefined ? observed : last + RATE_ALPHA * (observed - last),
        horizonMs: row.stepMs,
      };
      model = 'rate-ewma';
    }
    this.#rate = f.perSecond;
    this.#arrivalModel = model;
    this.#pending.push({
      model,
      perSecond: f.perSecond,
      stepsLeft: Math.max(1, Math.round(f.horizonMs / row.stepMs)),
      arrivals: 0,
      ms: 0,
    });
  }

  #recommend(loads: readonly { capacity: number }[]): void {
    const rate = this.#rate ?? 0;
    this.#advisor.update(rate);
    const rows = this.history.recent();
    let completions = 0;
    let durationMs = 0;
    for (let i = Math.max(0, rows.length - this.#o.durationWindowRows); i < rows.length; i++) {
      const r = rows[i]!;
      completions += r.completions;
      durationMs += r.completions * r.meanDurationMs;
    }
    if (completions === 0) return;
    const capacity = loads.length ? loads.reduce((s, w) => s + w.capacity, 0) / loads.length : 1;
    this.#recommendedWorkers = recommendWorkers({
      arrivalsPerSecond: rate,
      meanDurationMs: durationMs / completions,
      capacityPerWorker: capacity,
      targetUtilisation: this.#o.targetUtilisation,
    });
  }
}

/** Validates prediction options and applies defaults; throws `INVALID_OPTIONS` for bad ones. */
export function resolvePredictionOptions(raw: PredictionOptions = {}): ResolvedPredictionOptions {
  const o: ResolvedPredictionOptions = {
    stepMs: raw.stepMs ?? 1000,
    historyRows: raw.historyRows ?? 3600,
    targetUtilisation: raw.targetUtilisation ?? 0.8,
    shardArrivalRate: raw.shardArrivalRate ?? 500,
    maxShards: raw.maxShards ?? 1024,
    durationWindowRows: raw.durationWindowRows ?? 60,
  };
  const bad = (field: string, rule: string): never => {
    throw new SmartQueueError('INVALID_OPTIONS', `prediction.${field} must be ${rule}`, {
      details: { [field]: raw[field as keyof PredictionOptions] },
    });
  };
  if (!Number.isInteger(o.stepMs) || o.stepMs < 10) bad('stepMs', 'an integer >= 10 (ms)');
  for (const f of ['historyRows', 'maxShards', 'durationWindowRows'] as const)
    if (!Number.isInteger(o[f]) || o[f] < 1) bad(f, 'an integer >= 1');
  if (!(o.targetUtilisation > 0 && o.targetUtilisation <= 1)) bad('targetUtilisation', 'in (0, 1]');
  if (!(o.shardArrivalRate > 0 && o.shardArrivalRate < Infinity))
    bad('shardArrivalRate', 'a finite number > 0');
  return o;
}
