import { describe, expect, it } from 'vitest';

import type { ResampledSeries } from '../../../../../../plugins/predictor/onnx/model/data.js';
import {
  exampleAt,
  resolveLoadDataOptions,
  scaleSteps,
  trailingScale,
  windowAt,
} from '../../../../../../plugins/predictor/onnx/model/load-forecast.js';
import { mulberry32 } from '../../../../../../plugins/predictor/onnx/model/random.js';
import { StepSeries } from '../../../../../../plugins/predictor/onnx/step-series.js';

const o = resolveLoadDataOptions({ window: 6, horizon: 2, rollingSteps: 3 });
const rng = mulberry32(5);
const series: ResampledSeries = {
  name: 's',
  start: Date.UTC(2024, 0, 1),
  stepSeconds: 300,
  values: Array.from({ length: 400 }, (_, i) => 100 + 30 * Math.sin(i / 20) + 5 * rng()),
  filled: 0,
  merged: 0,
};

describe('load-forecast windows', () => {
  it('standardize by the trailing scale and clip standardized targets', () => {
    expect(trailingScale([1, 2, 3, 5], 2, 2)).toEqual({ mean: 2.5, std: 0.5 });
    expect(trailingScale([4, 4, 4], 2, 3)).toEqual({ mean: 4, std: 1 });
    const spiky: ResampledSeries = { ...series, values: [...new Array<number>(20).fill(1), 1e9, 1e9] };
    const { targets } = exampleAt(spiky, 19, o);
    expect(targets).toEqual([10, 10]);
  });

  it('equal what the onnx predictor computes live from the same samples (no training/serving skew)', () => {
    const end = 380;
    const keep = scaleSteps(o.window, o.rollingSteps, series.stepSeconds);
    const live = new StepSeries(300_000, 'mean', keep);
    // A step closes when the next one's first sample arrives.
    for (let i = 0; i <= end + 1; i++) live.add(series.start + i * 300_000, series.values[i]!);
    const { mean, std } = live.scale();
    const liveRows = live.window(o.window, o.rollingSteps, mean, std)!;
    const { inputs, scale } = windowAt(series, end, o);
    expect(scale.mean).toBeCloseTo(mean, 9);
    expect(scale.std).toBeCloseTo(std, 9);
    expect(inputs).toHaveLength(o.window);
    inputs.forEach((row, t) => row.forEach((v, k) => expect(v).toBeCloseTo(liveRows[t]![k]!, 9)));
  });
});
