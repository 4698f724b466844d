import { describe, expect, it } from 'vitest';
import { createNoopPredictor } from '../../../../plugins/predictor/none/index.js';

describe('createNoopPredictor', () => {
  it('never predicts, whatever it observes', async () => {
    const predictor = createNoopPredictor();
    expect(predictor.name).toBe('none');
    predictor.observe({ handler: 'run', durationMs: 100, at: 1 });
    expect(predictor.estimateDuration({ handler: 'run', priority: 1, declaredMs: 50 })).toBeUndefined();
    expect(predictor.forecastWorkerLoad).toBeUndefined();
    await expect(predictor.close()).resolves.toBeUndefined();
  });
});
