/**
 * Prediction metrics read from a real engine's prediction loop: predicted load, recommended
 * workers and shards, and forecast errors by model.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Predictor } from '../../../../../engine/stages.js';
import { createSchedulerMetrics } from '../../../../../plugins/telemetry/metrics/index.js';
import type { EngineMetrics } from '../../../../../plugins/telemetry/metrics/index.js';
import { newMetricsRegistry } from '../../../../../plugins/telemetry/metrics/registry.js';
import { closeAllHarnesses, createHarness, finish, plan } from '../../../engine/harness.js';

let metrics: EngineMetrics | undefined;

afterEach(async () => {
  metrics?.close();
  metrics = undefined;
  expect(await closeAllHarnesses()).toEqual([]);
});

type Values = MetricObjectWithValues<MetricValue<string>>;

async function scrape(m: EngineMetrics): Promise<Map<string, Values>> {
  const all = (await m.registry.getMetricsAsJSON()) as Values[];
  return new Map(all.map((x) => [x.name, x]));
}

describe('prediction metrics', () => {
  it('export the predicted load, the recommendations and the forecast errors', async () => {
    const predictor: Predictor = {
      name: 'fake-lstm',
      estimateDuration: () => 5,
      observe: () => undefined,
      forecastArrivals: () => ({ perSecond: 1200, horizonMs: 1000 }),
      close: () => Promise.resolve(),
    };
    const h = await createHarness({
      workers: 2,
      capacity: 4,
      handlers: { job: () => ({}) },
      engine: { predictor, prediction: { stepMs: 3_600_000 } },
    });
    metrics = createSchedulerMetrics({
      engineEvents: h.engine.events,
      engine: h.engine,
      registry: newMetricsRegistry(),
    });
    let m = await scrape(metrics);
    expect(m.get('smartqueue_predicted_load')!.values).toEqual([expect.objectContaining({ value: 0 })]);
    expect(m.get('smartqueue_recommended_shards')!.values[0]!.value).toBe(4); // the engine's shards

    const runId = await h.engine.startRun(plan({ tasks: [{ id: 'a', uses: 'job' }] }));
    expect(await finish(h.engine, runId)).toBe('succeeded');
    h.engine.prediction.step(Date.now());
    h.engine.prediction.step(Date.now()); // scores the first step's arrival forecast
    m = await scrape(metrics);
    expect(m.get('smartqueue_predicted_load')!.values[0]!.value).toBe(1200);
    // 1200/s at 500/s per shard needs 3: more than half of 4, so the recommendation stays at 4.
    expect(m.get('smartqueue_recommended_shards')!.values[0]!.value).toBe(4);
    const workers = m.get('smartqueue_recommended_workers')!.values[0]!.value;
    expect(workers).toBeGreaterThanOrEqual(1);

    const errors = m.get('smartqueue_predictor_forecast_error')!.values;
    const count = (target: string) =>
      errors.find(
        (v) =>
          (v as { metricName?: string }).metricName === 'smartqueue_predictor_forecast_error_count' &&
          v.labels.model === 'fake-lstm' &&
          v.labels.target === target,
      )?.value;
    expect(count('duration')).toBe(1);
    expect(count('arrivals')).toBe(1);
  });
});
