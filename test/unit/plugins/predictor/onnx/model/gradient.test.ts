import { describe, expect, it } from 'vitest';

import {
  layoutOf,
  lossAndGradient,
  type LossFunction,
  type Sample,
} from '../../../../../../plugins/predictor/onnx/model/network.js';
import { mulberry32 } from '../../../../../../plugins/predictor/onnx/model/random.js';
import type { CellKind, SequenceModelSpec } from '../../../../../../plugins/predictor/onnx/model/types.js';

/** Central-difference check of every parameter's analytic gradient. */
function checkGradients(kind: CellKind, seed: number, fn: LossFunction = { kind: 'mse' }): number {
  const spec: SequenceModelSpec = { kind, inputSize: 3, hiddenSize: 4, outputSize: 2, window: 5 };
  const L = layoutOf(spec);
  const rng = mulberry32(seed);
  const gauss = (): number => (rng() * 2 - 1) * 0.8;
  // Random weights and biases everywhere (including biases and head), so no term is trivially 0.
  const p = Float64Array.from({ length: L.size }, gauss);
  const sample: Sample = {
    xs: Array.from({ length: spec.window }, () => Float64Array.from({ length: 3 }, gauss)),
    target: Float64Array.from({ length: 2 }, gauss),
  };
  const grad = new Float64Array(L.size);
  lossAndGradient(L, p, sample, grad, fn);
  // 1e-4 balances truncation (O(eps²)) against round-off (O(1e-16 / eps)) for tiny gradients.
  const eps = 1e-4;
  let worst = 0;
  for (let i = 0; i < L.size; i++) {
    const saved = p[i] as number;
    p[i] = saved + eps;
    const up = lossAndGradient(L, p, sample, new Float64Array(L.size), fn);
    p[i] = saved - eps;
    const down = lossAndGradient(L, p, sample, new Float64Array(L.size), fn);
    p[i] = saved;
    const numeric = (up - down) / (2 * eps);
    const analytic = grad[i] as number;
    const rel = Math.abs(numeric - analytic) / Math.max(1e-8, Math.abs(numeric) + Math.abs(analytic));
    worst = Math.max(worst, rel);
  }
  return worst;
}

describe('recurrent cells: analytic gradients match central differences', () => {
  for (const kind of ['lstm', 'gru'] as const) {
    for (const seed of [1, 2, 3]) {
      it(`${kind}, seed ${seed}`, () => {
        expect(checkGradients(kind, seed)).toBeLessThan(1e-5);
      });
      it(`${kind}, seed ${seed}, Huber loss`, () => {
        // delta 0.3: with these random targets, some outputs fall in each of Huber's two regimes
        expect(checkGradients(kind, seed, { kind: 'huber', delta: 0.3 })).toBeLessThan(1e-5);
      });
    }
  }
});
