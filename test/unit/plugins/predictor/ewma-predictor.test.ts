import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../engine/errors.js';
import {
  createEwmaPredictor,
  resolveEwmaPredictorOptions,
} from '../../../../plugins/predictor/ewma/index.js';

const query = (handler: string) => ({ handler, priority: 1 });

describe('createEwmaPredictor', () => {
  it('knows nothing before the first sample, even with a declared estimate', () => {
    const predictor = createEwmaPredictor();
    expect(predictor.name).toBe('ewma');
    expect(predictor.estimateDuration({ handler: 'run', priority: 1, declaredMs: 500 })).toBeUndefined();
    expect(predictor.forecastWorkerLoad).toBeUndefined();
  });

  it('starts at the first sample, then moves by alpha toward each new one', () => {
    const predictor = createEwmaPredictor({ alpha: 0.5 });
    predictor.observe({ handler: 'run', durationMs: 100, at: 1 });
    expect(predictor.estimateDuration(query('run'))).toBe(100);
    predictor.observe({ handler: 'run', durationMs: 200, at: 2 });
    expect(predictor.estimateDuration(query('run'))).toBe(150);
    predictor.observe({ handler: 'run', durationMs: 50, at: 3 });
    expect(predictor.estimateDuration(query('run'))).toBe(100);
    expect(predictor.sampleCount('run')).toBe(3);
  });

  it('uses alpha = 0.3 by default', () => {
    const predictor = createEwmaPredictor();
    expect(predictor.options.alpha).toBe(0.3);
    predictor.observe({ handler: 'h', durationMs: 1000, at: 1 });
    predictor.observe({ handler: 'h', durationMs: 2000, at: 2 });
    expect(predictor.estimateDuration(query('h'))).toBeCloseTo(1300, 10);
  });

  it('keeps one average per handler', () => {
    const predictor = createEwmaPredictor({ alpha: 1 });
    predictor.observe({ handler: 'run', durationMs: 10, at: 1 });
    predictor.observe({ handler: 'http', durationMs: 900, at: 2 });
    predictor.observe({ handler: 'run', durationMs: 20, at: 3 });
    expect(predictor.estimateDuration(query('run'))).toBe(20);
    expect(predictor.estimateDuration(query('http'))).toBe(900);
    expect(predictor.estimateDuration(query('sleep'))).toBeUndefined();
  });

  it('ignores samples that are not finite durations >= 0', () => {
    const predictor = createEwmaPredictor();
    for (const durationMs of [Number.NaN, -1, Infinity])
      predictor.observe({ handler: 'h', durationMs, at: 1 });
    expect(predictor.estimateDuration(query('h'))).toBeUndefined();
    predictor.observe({ handler: 'h', durationMs: 40, at: 2 });
    predictor.observe({ handler: 'h', durationMs: Number.NaN, at: 3 });
    expect(predictor.estimateDuration(query('h'))).toBe(40);
    expect(predictor.sampleCount('h')).toBe(1);
  });

  it('stays between the smallest and largest sample (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1e7, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (alpha, samples) => {
          const predictor = createEwmaPredictor({ alpha });
          samples.forEach((durationMs, at) => predictor.observe({ handler: 'h', durationMs, at }));
          const estimate = predictor.estimateDuration(query('h'))!;
          const slack = 1e-6 * Math.max(1, ...samples);
          return estimate >= Math.min(...samples) - slack && estimate <= Math.max(...samples) + slack;
        },
      ),
    );
  });

  it('forgets everything on close', async () => {
    const predictor = createEwmaPredictor();
    predictor.observe({ handler: 'h', durationMs: 5, at: 1 });
    await predictor.close();
    expect(predictor.estimateDuration(query('h'))).toBeUndefined();
  });
});

describe('resolveEwmaPredictorOptions', () => {
  it('refuses alpha outside (0, 1]', () => {
    for (const alpha of [0, -0.1, 1.5, Number.NaN]) {
      expect(() => resolveEwmaPredictorOptions({ alpha }), String(alpha)).toThrow(SmartQueueError);
    }
    expect(resolveEwmaPredictorOptions({ alpha: 1 })).toEqual({ alpha: 1 });
  });
});
