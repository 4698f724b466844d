import { describe, expect, it } from 'vitest';

import { horizonMetrics, meanOverHorizon } from '../../../../../../plugins/predictor/onnx/model/metrics.js';

describe('horizonMetrics', () => {
  it('computes MAE, RMSE and MAPE per step ahead', () => {
    const actual = [
      [10, 20],
      [20, 0],
    ];
    const predicted = [
      [12, 20],
      [17, 4],
    ];
    const m = horizonMetrics(predicted, actual);
    expect(m.count).toBe(2);
    // step 1: errors 2 and -3; step 2: errors 0 and 4
    expect(m.mae).toEqual([2.5, 2]);
    expect(m.rmse[0]).toBeCloseTo(Math.sqrt((4 + 9) / 2), 12);
    expect(m.rmse[1]).toBeCloseTo(Math.sqrt(16 / 2), 12);
    // MAPE skips the zero actual: step 1 (20% + 15%) / 2, step 2 only 0 / 20.
    expect(m.mape[0]).toBeCloseTo(17.5, 12);
    expect(m.mape[1]).toBe(0);
  });

  it('MAPE is NaN when every actual is zero; the mean over steps ignores NaN', () => {
    const m = horizonMetrics([[1]], [[0]]);
    expect(Number.isNaN(m.mape[0])).toBe(true);
    expect(meanOverHorizon([1, Number.NaN, 3])).toBe(2);
  });
});
