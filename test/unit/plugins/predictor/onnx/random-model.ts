/** Seeded random sequence models and windows for the ONNX tests. */
import type { CellKind, TrainedSequenceModel } from '../../../../../plugins/predictor/onnx/model/types.js';
import { mulberry32 } from '../../../../support/random.js';

/** Shape of a random model. */
export interface RandomModelShape {
  kind: CellKind;
  inputSize: number;
  hiddenSize: number;
  outputSize: number;
  window: number;
}

/**
 * A model with uniform weights in [-scale, scale] and per-feature normalization constants far
 * from 0/1, so a graph that skipped or swapped a normalization step would not pass by accident.
 */
export function randomModel(shape: RandomModelShape, seed: number, scale = 0.6): TrainedSequenceModel {
  const rng = mulberry32(seed);
  const uniform = (n: number, lo = -scale, hi = scale): number[] =>
    Array.from({ length: n }, () => lo + (hi - lo) * rng());
  const gates = shape.kind === 'lstm' ? 4 : 3;
  const gh = gates * shape.hiddenSize;
  return {
    format: 1,
    name: `random-${shape.kind}-${seed}`,
    spec: { ...shape },
    weights: {
      W: uniform(gh * shape.inputSize),
      R: uniform(gh * shape.hiddenSize),
      Wb: uniform(gh),
      Rb: uniform(gh),
      headW: uniform(shape.outputSize * shape.hiddenSize),
      headB: uniform(shape.outputSize),
    },
    normalization: {
      inputMean: uniform(shape.inputSize, -20, 50),
      inputStd: uniform(shape.inputSize, 0.5, 12),
      targetMean: 3.5,
      targetStd: 1.75,
    },
    features: Array.from({ length: shape.inputSize }, (_, i) => `f${i}`),
    target: 'random target',
    stepSeconds: 300,
    training: { seed, note: 'random weights for tests' },
  };
}

/** `count` raw windows drawn around the model's input means (within about ±3 std). */
export function randomWindows(model: TrainedSequenceModel, count: number, seed: number): number[][][] {
  const rng = mulberry32(seed);
  const { inputMean, inputStd } = model.normalization;
  return Array.from({ length: count }, () =>
    Array.from({ length: model.spec.window }, () =>
      inputMean.map((mean, k) => mean + (rng() * 6 - 3) * (inputStd[k] as number)),
    ),
  );
}
