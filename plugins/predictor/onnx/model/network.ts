/**
 * The whole network: normalization, one recurrent layer, a dense head on the last hidden state.
 * `forward` is the reference the ONNX export is checked against; `lossAndGradient` is what
 * training calls.
 */
import { SmartQueueError } from '../../../../engine/errors.js';
import { cellBackward, cellForward, paramLayout, type ParamLayout } from './cells.js';
import type { Random } from './random.js';
import type { SequenceModelSpec, SequenceModelWeights, TrainedSequenceModel } from './types.js';

/** The flat-vector layout of a model's parameters. */
export function layoutOf(spec: SequenceModelSpec): ParamLayout {
  return paramLayout(spec.kind, spec.inputSize, spec.hiddenSize, spec.outputSize);
}

/** Copies weights from their ONNX-shaped arrays into one flat vector (the optimizer's view). */
export function flattenWeights(spec: SequenceModelSpec, w: SequenceModelWeights): Float64Array {
  const L = layoutOf(spec);
  const p = new Float64Array(L.size);
  const parts: [number[], number, number][] = [
    [w.W, L.W, L.R - L.W],
    [w.R, L.R, L.Wb - L.R],
    [w.Wb, L.Wb, L.Rb - L.Wb],
    [w.Rb, L.Rb, L.headW - L.Rb],
    [w.headW, L.headW, L.headB - L.headW],
    [w.headB, L.headB, L.size - L.headB],
  ];
  for (const [arr, at, len] of parts) {
    if (arr.length !== len) {
      throw new SmartQueueError('INVALID_ARGUMENT', 'model weights do not match the model spec', {
        details: { expected: len, actual: arr.length, spec },
      });
    }
    p.set(arr, at);
  }
  return p;
}

/** The inverse of {@link flattenWeights}. */
export function unflattenWeights(spec: SequenceModelSpec, p: Float64Array): SequenceModelWeights {
  const L = layoutOf(spec);
  const slice = (from: number, to: number): number[] => Array.from(p.subarray(from, to));
  return {
    W: slice(L.W, L.R),
    R: slice(L.R, L.Wb),
    Wb: slice(L.Wb, L.Rb),
    Rb: slice(L.Rb, L.headW),
    headW: slice(L.headW, L.headB),
    headB: slice(L.headB, L.size),
  };
}

/**
 * Glorot-uniform weights, zero biases, except the LSTM forget gate whose bias starts at 1 so
 * early training does not forget the window before it has learned what to keep.
 */
export function initParams(spec: SequenceModelSpec, rng: Random): Float64Array {
  const L = layoutOf(spec);
  const p = new Float64Array(L.size);
  const H = spec.hiddenSize;
  const fill = (from: number, to: number, fanIn: number, fanOut: number): void => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    for (let i = from; i < to; i++) p[i] = (rng() * 2 - 1) * limit;
  };
  fill(L.W, L.R, spec.inputSize, H);
  fill(L.R, L.Wb, H, H);
  fill(L.headW, L.headB, H, spec.outputSize);
  if (spec.kind === 'lstm') p.fill(1, L.Wb + 2 * H, L.Wb + 3 * H);
  return p;
}

/** Standardizes one raw window (window × inputSize) with the model's input statistics. */
export function normalizeWindow(model: TrainedSequenceModel, window: number[][]): Float64Array[] {
  const { inputMean, inputStd } = model.normalization;
  const { inputSize } = model.spec;
  return window.map((row, t) => {
    if (row.length !== inputSize) {
      throw new SmartQueueError('INVALID_ARGUMENT', `window row ${t} has ${row.length} features`, {
        details: { expected: inputSize, features: model.features },
      });
    }
    const out = new Float64Array(inputSize);
    for (let k = 0; k < inputSize; k++) {
      out[k] = ((row[k] as number) - (inputMean[k] as number)) / (inputStd[k] as number);
    }
    return out;
  });
}

/** Outputs of the head in normalized target units, for already normalized inputs. */
export function forwardNormalized(L: ParamLayout, p: Float64Array, xs: Float64Array[]): Float64Array {
  const { hLast } = cellForward(p, L, xs);
  return head(L, p, hLast);
}

function head(L: ParamLayout, p: Float64Array, h: Float64Array): Float64Array {
  const H = L.hiddenSize;
  const y = new Float64Array(L.outputSize);
  for (let o = 0; o < L.outputSize; o++) {
    let s = p[L.headB + o] as number;
    const wo = L.headW + o * H;
    for (let k = 0; k < H; k++) s += (p[wo + k] as number) * (h[k] as number);
    y[o] = s;
  }
  return y;
}

/**
 * Runs a trained model on one raw window (window × inputSize, un-normalized features) and
 * returns its de-normalized outputs. This is the reference the ONNX model must reproduce:
 * inputs are standardized as `(x - inputMean) / inputStd`, outputs as `y * targetStd +
 * targetMean`.
 */
export function forward(model: TrainedSequenceModel, window: number[][]): number[] {
  if (window.length !== model.spec.window) {
    throw new SmartQueueError('INVALID_ARGUMENT', `window has ${window.length} steps`, {
      details: { expected: model.spec.window },
    });
  }
  const L = layoutOf(model.spec);
  const p = flattenWeights(model.spec, model.weights);
  const y = forwardNormalized(L, p, normalizeWindow(model, window));
  const { targetMean, targetStd } = model.normalization;
  return Array.from(y, (v) => v * targetStd + targetMean);
}

/** One training example, already normalized. */
export interface Sample {
  xs: Float64Array[];
  target: Float64Array;
}

/**
 * The training loss per output: squared error, or Huber (squared within `delta` of the target,
 * linear beyond), which follows the bulk of a spiky series instead of chasing its spikes.
 * Losses are in normalized target units.
 */
export type LossFunction = { kind: 'mse' } | { kind: 'huber'; delta: number };

/** The loss of one error and its derivative. */
function lossOf(fn: LossFunction, err: number): [loss: number, dLoss: number] {
  if (fn.kind === 'huber') {
    const a = Math.abs(err);
    if (a > fn.delta) return [fn.delta * (a - 0.5 * fn.delta), fn.delta * Math.sign(err)];
    return [0.5 * err * err, err];
  }
  return [err * err, 2 * err];
}

/**
 * The loss averaged over the outputs of one sample, and its gradient with respect to every
 * parameter added into `grad` (so a batch accumulates by calling this per sample).
 */
export function lossAndGradient(
  L: ParamLayout,
  p: Float64Array,
  sample: Sample,
  grad: Float64Array,
  fn: LossFunction = { kind: 'mse' },
): number {
  const trace = cellForward(p, L, sample.xs);
  const y = head(L, p, trace.hLast);
  const H = L.hiddenSize;
  const O = L.outputSize;
  const dh = new Float64Array(H);
  let loss = 0;
  for (let o = 0; o < O; o++) {
    const [l, d] = lossOf(fn, (y[o] as number) - (sample.target[o] as number));
    loss += l / O;
    const dy = d / O;
    grad[L.headB + o] = (grad[L.headB + o] as number) + dy;
    const wo = L.headW + o * H;
    for (let k = 0; k < H; k++) {
      grad[wo + k] = (grad[wo + k] as number) + dy * (trace.hLast[k] as number);
      dh[k] = (dh[k] as number) + dy * (p[wo + k] as number);
    }
  }
  cellBackward(p, L, sample.xs, trace, dh, grad);
  return loss;
}

/** Mean loss of `samples` without gradients (validation). */
export function meanLoss(
  L: ParamLayout,
  p: Float64Array,
  samples: Sample[],
  fn: LossFunction = { kind: 'mse' },
): number {
  if (samples.length === 0) return Number.NaN;
  let total = 0;
  for (const s of samples) {
    const y = forwardNormalized(L, p, s.xs);
    for (let o = 0; o < L.outputSize; o++) {
      total += lossOf(fn, (y[o] as number) - (s.target[o] as number))[0] / L.outputSize;
    }
  }
  return total / samples.length;
}
