import { describe, expect, it } from 'vitest';

import type { ResampledSeries } from '../../../../../../plugins/predictor/onnx/model/data.js';
import { evaluateLoad } from '../../../../../../plugins/predictor/onnx/model/evaluate.js';
import {
  loadExamples,
  resolveLoadDataOptions,
} from '../../../../../../plugins/predictor/onnx/model/load-forecast.js';
import {
  layoutOf,
  flattenWeights,
  meanLoss,
  initParams,
} from '../../../../../../plugins/predictor/onnx/model/network.js';
import { mulberry32 } from '../../../../../../plugins/predictor/onnx/model/random.js';
import { toSample, trainSequenceModel } from '../../../../../../plugins/predictor/onnx/model/train.js';

/** Two days of a noisy 1-hour-period cycle at 5-minute steps: learnable, not trivial. */
function synthetic(seed: number): ResampledSeries {
  const rng = mulberry32(seed);
  const values = Array.from(
    { length: 576 },
    (_, i) => 20 + 8 * Math.sin((2 * Math.PI * i) / 12) + (rng() - 0.5),
  );
  return { name: `syn${seed}`, start: Date.UTC(2024, 0, 1), stepSeconds: 300, values, filled: 0, merged: 0 };
}

const dataOptions = resolveLoadDataOptions({ window: 12, horizon: 3, rollingSteps: 6, trainStride: 2 });
const examples = loadExamples([synthetic(1), synthetic(2)], dataOptions);
const description = { name: 'syn', features: examples.features, target: 'value', stepSeconds: 300 };

describe('trainSequenceModel', () => {
  for (const kind of ['lstm', 'gru'] as const) {
    it(`${kind}: reduces the validation loss well below the untrained one and beats persistence`, () => {
      const { model, history } = trainSequenceModel(examples.train, examples.validation, description, {
        kind,
        hiddenSize: 6,
        epochs: 6,
        seed: 3,
        learningRate: 0.02,
        batchSize: 8,
      });
      const spec = model.spec;
      const untrained = meanLoss(
        layoutOf(spec),
        initParams(spec, mulberry32(3)),
        examples.validation.map((e) => toSample(model.normalization, e)),
      );
      expect(model.training.bestValLoss as number).toBeLessThan(untrained / 5);
      expect(history[history.length - 1]!.trainLoss).toBeLessThan(history[0]!.trainLoss);
      const rows = evaluateLoad([synthetic(4)], dataOptions, model);
      const mae = (f: string): number => rows.find((r) => r.forecaster === f)!.metrics.mae[2]!;
      expect(mae('syn')).toBeLessThan(mae('persistence'));
    });
  }

  it('is reproducible: the same seed gives the same weights bit for bit, another seed does not', () => {
    const run = (seed: number) =>
      trainSequenceModel(examples.train, examples.validation, description, {
        kind: 'gru',
        hiddenSize: 4,
        epochs: 2,
        seed,
      }).model;
    const a = run(7);
    const b = run(7);
    const c = run(8);
    expect(Array.from(flattenWeights(a.spec, a.weights))).toEqual(
      Array.from(flattenWeights(b.spec, b.weights)),
    );
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.weights.W).not.toEqual(c.weights.W);
  });

  it('keeps validation windows after training windows in time (no leakage)', () => {
    for (const sp of examples.splits) {
      expect(sp.trainEnd).toBeLessThan(sp.valEnd);
      expect(sp.valEnd).toBeLessThan(sp.series.values.length);
    }
    // every training target lies before trainEnd: 2 series x windows ending at 11, 13, ... with
    // end + horizon < trainEnd
    const trainEnd = examples.splits[0]!.trainEnd;
    const perSeries = Math.ceil((trainEnd - 3 - 11) / 2);
    expect(examples.train).toHaveLength(2 * perSeries);
  });

  it('rejects bad options and empty data with typed errors', () => {
    expect(() => trainSequenceModel([], examples.validation, description, { kind: 'lstm' })).toThrow(
      /not enough data/,
    );
    expect(() =>
      trainSequenceModel(examples.train, examples.validation, description, { kind: 'lstm', hiddenSize: 0 }),
    ).toThrow(/hiddenSize must be a positive integer/);
  });
});
