import { describe, expect, it } from 'vitest';

import {
  ewma,
  fitHoltWinters,
  holtWinters,
  movingAverage,
  persistence,
  seasonalNaive,
} from '../../../../../../plugins/predictor/onnx/model/baselines.js';

const values = [1, 2, 4, 8, 16];

describe('baselines (hand-computed)', () => {
  it('persistence repeats the last value seen', () => {
    expect(persistence.forecast(values, [2, 4], 2)).toEqual([
      [4, 4],
      [16, 16],
    ]);
  });

  it('moving average uses only values up to the end', () => {
    expect(movingAverage(3).forecast(values, [3, 0], 1)).toEqual([[(2 + 4 + 8) / 3], [1]]);
  });

  it('EWMA weights the newest value by alpha', () => {
    // s0 = 1; s1 = 0.5*2 + 0.5*1 = 1.5; s2 = 0.5*4 + 0.5*1.5 = 2.75
    expect(ewma(0.5).forecast(values, [2], 2)).toEqual([[2.75, 2.75]]);
  });

  it('seasonal naive takes the value one season back, then persistence before a season exists', () => {
    const s = [1, 2, 3, 10, 20, 30];
    // end 4, season 3: h1..h3 look back one season (indices 2, 3, 4), h4 two seasons (index 2).
    expect(seasonalNaive(3).forecast(s, [4], 4)).toEqual([[3, 10, 20, 3]]);
    expect(seasonalNaive(3).forecast(s, [0], 1)).toEqual([[1]]);
  });

  it('Holt-Winters forecasts a clean seasonal series with a trend almost exactly', () => {
    const season = 12;
    const series = Array.from(
      { length: 120 },
      (_, i) => 100 + 0.5 * i + 10 * Math.sin((2 * Math.PI * i) / season),
    );
    const ends = [90, 100, 110];
    const f = holtWinters(season, 100).forecast(series, ends, 3);
    ends.forEach((end, k) => {
      for (let h = 1; h <= 3; h++) expect(f[k]![h - 1]).toBeCloseTo(series[end + h]!, 0);
    });
    // and it beats persistence on it
    const err = (p: number[][]): number =>
      p.reduce((a, row, k) => a + row.reduce((b, v, h) => b + Math.abs(v - series[ends[k]! + h + 1]!), 0), 0);
    expect(err(f)).toBeLessThan(err(persistence.forecast(series, ends, 3)) / 5);
    expect(fitHoltWinters(series, season).alpha).toBeGreaterThan(0);
  });

  it('Holt-Winters falls back to persistence on a series shorter than two seasons', () => {
    expect(holtWinters(10).forecast(values, [4], 2)).toEqual([[16, 16]]);
  });
});
