/**
 * Metrics of the Predictor stage, read from the engine's prediction loop (engine/prediction.ts)
 * at scrape time: the predicted arrival rate and the worker and shard counts it recommends (for
 * autoscaling), and how far forecasts were from what happened.
 */
import { Gauge, Histogram } from 'prom-client';
import type { ForecastError, PredictionStats } from '../../../engine/prediction.js';
import type { AnyRegistry } from './registry.js';

/** Buckets of absolute relative forecast errors: 1 % to 10× off. */
export const FORECAST_ERROR_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10];

/** What the prediction metrics read (the engine's `prediction` loop fits). */
export interface PredictionStatsSource {
  stats(): PredictionStats;
  /** Forecast errors scored since the previous call. */
  drainErrors(): ForecastError[];
}

/**
 * Registers `smartqueue_predicted_load`, `smartqueue_recommended_workers`,
 * `smartqueue_recommended_shards` and `smartqueue_predictor_forecast_error` (see
 * docs/metrics.md). The gauges read 0 until their figure is known (the rate after the first
 * load step, the worker count after the first finished task).
 */
export function registerPredictionMetrics(registry: AnyRegistry, source: PredictionStatsSource): void {
  const registers = [registry];
  new Gauge({
    name: 'smartqueue_predicted_load',
    help: 'Predicted arrivals (tasks becoming ready) per second over the forecast horizon.',
    registers,
    collect() {
      this.set(source.stats().predictedArrivalsPerSecond ?? 0);
    },
  });
  new Gauge({
    name: 'smartqueue_recommended_workers',
    help: 'Workers needed for the predicted load: ceil(rate x mean duration / (capacity per worker x target utilisation)).',
    registers,
    collect() {
      this.set(source.stats().recommendedWorkers ?? 0);
    },
  });
  new Gauge({
    name: 'smartqueue_recommended_shards',
    help: 'Shards recommended for the predicted load (ceil(rate / per-shard rate), changed only when the load shifts).',
    registers,
    collect() {
      this.set(source.stats().recommendedShards);
    },
  });
  new Histogram({
    name: 'smartqueue_predictor_forecast_error',
    help: 'Absolute relative error of forecasts against what happened, by model and target (arrivals, duration).',
    labelNames: ['model', 'target'] as const,
    buckets: FORECAST_ERROR_BUCKETS,
    registers,
    // Errors wait in the loop until a scrape; they become observations here.
    collect() {
      for (const e of source.drainErrors()) this.observe({ model: e.model, target: e.target }, e.error);
    },
  });
}
