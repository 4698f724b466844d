/**
 * The prediction loop on its own: arrival forecasts scored over their horizon, the fallback
 * forecast, the recommended worker and shard counts, and option validation.
 */
import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../engine/errors.js';
import {
  PredictionLoop,
  recommendWorkers,
  relativeError,
  resolvePredictionOptions,
  ShardAdvisor,
} from '../../../engine/prediction.js';
import type { ArrivalForecast, Predictor } from '../../../engine/stages.js';
import { createAvlBalancer } from '../../../plugins/balancer/avl/index.js';

function loopWith(predictor: Predictor | undefined, shards = 4) {
  const balancer = createAvlBalancer({
    workers: [
      { id: 'w1', capacity: 4 },
      { id: 'w2', capacity: 4 },
    ],
  });
  const loop = new PredictionLoop(resolvePredictionOptions({ stepMs: 1000, shardArrivalRate: 10 }), {
    predictor,
    balancer,
    readyCount: () => 0,
    shards,
  });
  return { loop, balancer };
}

function arrivalsPredictor(forecast: () => ArrivalForecast | undefined): Predictor {
  return {
    name: 'arrivals-model',
    estimateDuration: () => undefined,
    observe: () => undefined,
    forecastArrivals: forecast,
    close: () => Promise.resolve(),
  };
}

describe('recommendWorkers (Little’s law)', () => {
  it('is ceil(rate x duration / (capacity x target utilisation)), at least 1', () => {
    // 20 tasks/s x 2 s = 40 busy slots; 4 slots at 80 % = 3.2 per worker → 12.5 → 13.
    expect(
      recommendWorkers({
        arrivalsPerSecond: 20,
        meanDurationMs: 2000,
        capacityPerWorker: 4,
        targetUtilisation: 0.8,
      }),
    ).toBe(13);
    // Exactly 2 workers' worth is 2, not 3.
    expect(
      recommendWorkers({
        arrivalsPerSecond: 8,
        meanDurationMs: 1000,
        capacityPerWorker: 4,
        targetUtilisation: 1,
      }),
    ).toBe(2);
    expect(
      recommendWorkers({
        arrivalsPerSecond: 0,
        meanDurationMs: 1000,
        capacityPerWorker: 4,
        targetUtilisation: 0.8,
      }),
    ).toBe(1);
  });
});

describe('ShardAdvisor', () => {
  it('rises at once, falls only when the need halves, and stays within [1, max]', () => {
    const a = new ShardAdvisor(4, 100, 16);
    expect(a.update(350)).toBe(4); // needs 4
    expect(a.update(401)).toBe(5); // needs 5: up
    expect(a.update(301)).toBe(5); // needs 4: not halved, stays
    expect(a.update(250)).toBe(5); // needs 3: 3 x 2 > 5, not halved yet
    expect(a.update(200)).toBe(2); // needs 2 <= 5 / 2: down to 2
    expect(a.update(0)).toBe(1);
    expect(a.update(1e9)).toBe(16);
  });
});

describe('relativeError', () => {
  it('divides by the actual value, floored', () => {
    expect(relativeError(12, 10, 1)).toBeCloseTo(0.2);
    expect(relativeError(3, 0, 1)).toBe(3);
  });
});

describe('PredictionLoop', () => {
  it('scores a model’s arrival forecast once its horizon has passed', () => {
    const { loop } = loopWith(arrivalsPredictor(() => ({ perSecond: 4, horizonMs: 2000 })));
    loop.step(1000); // forecast 4/s for the next 2 steps
    expect(loop.stats()).toMatchObject({ predictedArrivalsPerSecond: 4, arrivalModel: 'arrivals-model' });
    for (let i = 0; i < 3; i++) loop.arrival(50);
    loop.step(2000);
    expect(loop.drainErrors()).toEqual([]); // one step of two seen
    for (let i = 0; i < 5; i++) loop.arrival(50);
    loop.step(3000);
    // Actual: 8 arrivals in 2 s = 4/s: no error. The second forecast is still pending.
    expect(loop.drainErrors()).toEqual([{ model: 'arrivals-model', target: 'arrivals', error: 0 }]);
    loop.step(4000);
    // Second forecast (made at 2000): 5 + 0 arrivals in 2 s = 2.5/s vs 4/s.
    expect(loop.drainErrors()).toEqual([{ model: 'arrivals-model', target: 'arrivals', error: 1.5 / 2.5 }]);
  });

  it('falls back to an EWMA of the observed rate without a model forecast', () => {
    const { loop } = loopWith(undefined);
    for (let i = 0; i < 10; i++) loop.arrival(50);
    loop.step(1000);
    expect(loop.stats()).toMatchObject({ predictedArrivalsPerSecond: 10, arrivalModel: 'rate-ewma' });
    loop.step(2000); // 0 arrivals: 10 + 0.3 (0 - 10) = 7
    expect(loop.stats().predictedArrivalsPerSecond).toBeCloseTo(7);
    expect(loop.drainErrors().map((e) => [e.model, e.error])).toEqual([['rate-ewma', 10]]);
  });

  it('recommends workers once durations are known, and shards as the rate shifts', () => {
    let rate = 30;
    const { loop } = loopWith(
      arrivalsPredictor(() => ({ perSecond: rate, horizonMs: 1000 })),
      1,
    );
    loop.step(1000);
    expect(loop.stats()).toMatchObject({ recommendedWorkers: undefined, recommendedShards: 3 });
    loop.completed({ handler: 'h', durationMs: 400, at: 1500, workerId: 'w1' }, false);
    loop.completed({ handler: 'h', durationMs: 600, at: 1600, workerId: 'w2' }, false);
    loop.step(2000);
    // 30/s x 0.5 s = 15 busy slots; 4 slots x 0.8 per worker → ceil(4.69) = 5.
    expect(loop.stats()).toMatchObject({ recommendedWorkers: 5, recommendedShards: 3 });
    rate = 12; // needs 2 shards: more than half of 3, so it stays
    loop.step(3000);
    expect(loop.stats().recommendedShards).toBe(3);
    rate = 5;
    loop.step(4000);
    expect(loop.stats().recommendedShards).toBe(1);
  });

  it('keeps stepping when the predictor throws', () => {
    const broken: Predictor = {
      name: 'broken',
      estimateDuration: () => undefined,
      observe: () => undefined,
      observeLoad: () => {
        throw new Error('model file vanished');
      },
      forecastArrivals: () => {
        throw new Error('model file vanished');
      },
      close: () => Promise.resolve(),
    };
    const { loop } = loopWith(broken);
    loop.arrival(10);
    expect(loop.step(1000).arrivals).toBe(1);
    expect(loop.stats().arrivalModel).toBe('rate-ewma');
  });

  it('pushes only changed, valid worker forecasts into the balancer', () => {
    const forecasts: Record<string, number> = { w1: 2, w2: Number.NaN };
    const predictor: Predictor = {
      name: 'p',
      estimateDuration: () => undefined,
      observe: () => undefined,
      forecastWorkerLoad: (id) => forecasts[id],
      close: () => Promise.resolve(),
    };
    const { loop, balancer } = loopWith(predictor);
    loop.step(1000);
    expect(balancer.snapshot().map((w) => [w.id, w.forecast])).toEqual([
      ['w2', 0], // NaN reads as no forecast
      ['w1', 2],
    ]);
    const before = balancer.stats.flushes;
    loop.refreshForecasts();
    balancer.flush();
    expect(balancer.stats.flushes).toBe(before); // nothing changed, nothing to flush
    forecasts.w1 = 0;
    loop.refreshForecasts();
    expect(balancer.snapshot().find((w) => w.id === 'w1')!.forecast).toBe(0);
  });
});

describe('resolvePredictionOptions', () => {
  it('applies defaults', () => {
    expect(resolvePredictionOptions()).toEqual({
      stepMs: 1000,
      historyRows: 3600,
      targetUtilisation: 0.8,
      shardArrivalRate: 500,
      maxShards: 1024,
      durationWindowRows: 60,
    });
  });

  it.each([
    { stepMs: 1 },
    { targetUtilisation: 0 },
    { targetUtilisation: 1.5 },
    { shardArrivalRate: -1 },
    { maxShards: 0 },
  ])('rejects %o', (bad) => {
    expect(() => resolvePredictionOptions(bad)).toThrow(SmartQueueError);
  });
});
