import { describe, expect, it } from 'vitest';

import {
  flattenWeights,
  forward,
  layoutOf,
  meanLoss,
  unflattenWeights,
} from '../../../../../../plugins/predictor/onnx/model/network.js';
import type { TrainedSequenceModel } from '../../../../../../plugins/predictor/onnx/model/types.js';

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

/** A one-unit model whose every gate has its own bias, so a swapped gate changes the answer. */
function tinyModel(kind: 'lstm' | 'gru', biases: number[]): TrainedSequenceModel {
  const gates = biases.length;
  return {
    format: 1,
    name: 'tiny',
    spec: { kind, inputSize: 1, hiddenSize: 1, outputSize: 1, window: 2 },
    weights: {
      W: Array.from({ length: gates }, (_, g) => 0.1 * (g + 1)),
      R: Array.from({ length: gates }, (_, g) => -0.2 * (g + 1)),
      Wb: biases,
      Rb: Array.from({ length: gates }, (_, g) => 0.05 * g),
      headW: [2],
      headB: [0.5],
    },
    normalization: { inputMean: [1], inputStd: [2], targetMean: 10, targetStd: 3 },
    features: ['value'],
    target: 'test',
    stepSeconds: 300,
    training: {},
  };
}

describe('forward: the ONNX gate layouts, computed by hand', () => {
  it('LSTM gates are i, o, f, c', () => {
    const m = tinyModel('lstm', [0.3, -0.4, 0.7, 0.2]);
    const xs = [3, -1].map((x) => (x - 1) / 2);
    let h = 0;
    let c = 0;
    for (const x of xs) {
      const pre = (g: number): number => 0.1 * (g + 1) * x - 0.2 * (g + 1) * h + m.weights.Wb[g]! + 0.05 * g;
      const i = sig(pre(0));
      const o = sig(pre(1));
      const f = sig(pre(2));
      const cc = Math.tanh(pre(3));
      c = f * c + i * cc;
      h = o * Math.tanh(c);
    }
    expect(forward(m, [[3], [-1]])[0]).toBeCloseTo((2 * h + 0.5) * 3 + 10, 12);
  });

  it('GRU gates are z, r, h with linear_before_reset = 1', () => {
    const m = tinyModel('gru', [0.3, -0.4, 0.7]);
    const xs = [3, -1].map((x) => (x - 1) / 2);
    let h = 0;
    for (const x of xs) {
      const z = sig(0.1 * x + 0.3 - 0.2 * h + 0);
      const r = sig(0.2 * x - 0.4 - 0.4 * h + 0.05);
      // linear_before_reset: r multiplies (R_h h + Rb_h), not R_h (r * h).
      const n = Math.tanh(0.3 * x + 0.7 + r * (-0.6 * h + 0.1));
      h = (1 - z) * n + z * h;
    }
    expect(forward(m, [[3], [-1]])[0]).toBeCloseTo((2 * h + 0.5) * 3 + 10, 12);
  });

  it('rejects a window of the wrong length or width', () => {
    const m = tinyModel('gru', [0, 0, 0]);
    expect(() => forward(m, [[1]])).toThrow(/window has 1 steps/);
    expect(() =>
      forward(m, [
        [1, 2],
        [3, 4],
      ]),
    ).toThrow(/2 features/);
  });

  it('flattens and unflattens weights without loss', () => {
    const m = tinyModel('lstm', [1, 2, 3, 4]);
    expect(unflattenWeights(m.spec, flattenWeights(m.spec, m.weights))).toEqual(m.weights);
    expect(() => flattenWeights(m.spec, { ...m.weights, headB: [1, 2] })).toThrow(/do not match/);
  });

  it('Huber loss is quadratic within delta and linear beyond it; MSE is the squared error', () => {
    const m = tinyModel('gru', [0, 0, 0]);
    const L = layoutOf(m.spec);
    const p = flattenWeights(m.spec, { ...m.weights, headW: [0], headB: [0] });
    const xs = [new Float64Array([0]), new Float64Array([0])];
    // The head outputs 0, so the error is minus the target.
    const loss = (target: number, fn?: Parameters<typeof meanLoss>[3]) =>
      meanLoss(L, p, [{ xs, target: new Float64Array([target]) }], fn);
    expect(loss(0.1, { kind: 'huber', delta: 0.2 })).toBeCloseTo(0.5 * 0.01, 15);
    expect(loss(-2, { kind: 'huber', delta: 0.2 })).toBeCloseTo(0.2 * (2 - 0.1), 15);
    expect(loss(-2)).toBe(4);
  });
});
