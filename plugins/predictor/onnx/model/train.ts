/**
 * Training of a sequence model: standardization fitted on the training part only, mini-batch
 * Adam with gradient clipping, early stopping on a validation set, and the best weights kept.
 * Every random choice comes from one seed, and the arithmetic runs in a fixed order, so the same
 * seed and data give the same weights bit for bit.
 */
import { SmartQueueError } from '../../../../engine/errors.js';
import { Adam, clipGlobalNorm } from './adam.js';
import {
  initParams,
  layoutOf,
  lossAndGradient,
  meanLoss,
  unflattenWeights,
  type LossFunction,
  type Sample,
} from './network.js';
import { mulberry32, shuffleInPlace } from './random.js';
import type { CellKind, Normalization, SequenceModelSpec, TrainedSequenceModel } from './types.js';

/** One raw (un-normalized) example: a window of feature rows and the values to predict. */
export interface RawExample {
  inputs: number[][];
  targets: number[];
}

/** Settings of {@link trainSequenceModel}; defaults are applied in {@link resolveTrainOptions}. */
export interface TrainOptions {
  kind: CellKind;
  /** @default 16 */
  hiddenSize?: number;
  /** @default 50 */
  epochs?: number;
  /** @default 1 */
  seed?: number;
  /** @default 0.005 */
  learningRate?: number;
  /** @default 32 */
  batchSize?: number;
  /** Global gradient norm above which gradients are scaled down. @default 1 */
  clipNorm?: number;
  /** Epochs without a better validation loss before stopping. @default 8 */
  patience?: number;
  /**
   * Training (and validation) loss. Huber is the default because load series are spiky: on the
   * public series it beat squared error by MAE on held-out data. @default 'huber'
   */
  loss?: 'mse' | 'huber';
  /** Where Huber turns linear, in normalized target units. @default 0.2 */
  huberDelta?: number;
  /** Called after every epoch (progress output). */
  onEpoch?: (progress: EpochProgress) => void;
}

/** {@link TrainOptions} with every default applied. */
export type ResolvedTrainOptions = Required<Omit<TrainOptions, 'onEpoch'>> & Pick<TrainOptions, 'onEpoch'>;

/** Progress of one epoch. */
export interface EpochProgress {
  epoch: number;
  epochs: number;
  trainLoss: number;
  valLoss: number;
  best: boolean;
}

/** Validates options and applies defaults (the one place they are set). */
export function resolveTrainOptions(raw: TrainOptions): ResolvedTrainOptions {
  const o: ResolvedTrainOptions = {
    kind: raw.kind,
    hiddenSize: raw.hiddenSize ?? 16,
    epochs: raw.epochs ?? 50,
    seed: raw.seed ?? 1,
    learningRate: raw.learningRate ?? 0.005,
    batchSize: raw.batchSize ?? 32,
    clipNorm: raw.clipNorm ?? 1,
    patience: raw.patience ?? 8,
    loss: raw.loss ?? 'huber',
    huberDelta: raw.huberDelta ?? 0.2,
    onEpoch: raw.onEpoch,
  };
  if (o.kind !== 'lstm' && o.kind !== 'gru') {
    throw new SmartQueueError('INVALID_OPTIONS', `unknown cell kind "${String(o.kind)}" (lstm or gru)`);
  }
  for (const key of ['hiddenSize', 'epochs', 'batchSize', 'patience'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) {
      throw new SmartQueueError('INVALID_OPTIONS', `${key} must be a positive integer`, {
        details: { [key]: o[key] },
      });
    }
  }
  if (o.loss !== 'mse' && o.loss !== 'huber') {
    throw new SmartQueueError('INVALID_OPTIONS', `unknown loss "${String(o.loss)}" (mse or huber)`);
  }
  for (const key of ['learningRate', 'clipNorm', 'huberDelta'] as const) {
    if (!(o[key] > 0)) {
      throw new SmartQueueError('INVALID_OPTIONS', `${key} must be positive`, { details: { [key]: o[key] } });
    }
  }
  return o;
}

/** Mean and standard deviation per feature over every row of `examples`; std 0 becomes 1. */
export function fitNormalization(examples: RawExample[]): Normalization {
  const inputSize = examples[0]?.inputs[0]?.length ?? 0;
  const sum = new Float64Array(inputSize);
  const sumSq = new Float64Array(inputSize);
  let rows = 0;
  let tSum = 0;
  let tSq = 0;
  let tCount = 0;
  for (const ex of examples) {
    for (const row of ex.inputs) {
      rows += 1;
      for (let k = 0; k < inputSize; k++) {
        const v = row[k] as number;
        sum[k] = (sum[k] as number) + v;
        sumSq[k] = (sumSq[k] as number) + v * v;
      }
    }
    for (const t of ex.targets) {
      tSum += t;
      tSq += t * t;
      tCount += 1;
    }
  }
  const std = (s: number, sq: number, n: number): number => {
    const sd = Math.sqrt(Math.max(0, sq / n - (s / n) ** 2));
    // A constant feature (e.g. a day-of-week that never changes in a short series) carries
    // nothing; dividing by 1 keeps it finite in TypeScript and in ONNX alike.
    return sd > 1e-12 ? sd : 1;
  };
  return {
    inputMean: Array.from(sum, (s) => s / rows),
    inputStd: Array.from(sum, (s, k) => std(s, sumSq[k] as number, rows)),
    targetMean: tSum / tCount,
    targetStd: std(tSum, tSq, tCount),
  };
}

/** Applies `norm` to a raw example. */
export function toSample(norm: Normalization, ex: RawExample): Sample {
  return {
    xs: ex.inputs.map((row) =>
      Float64Array.from(row, (v, k) => (v - (norm.inputMean[k] as number)) / (norm.inputStd[k] as number)),
    ),
    target: Float64Array.from(ex.targets, (t) => (t - norm.targetMean) / norm.targetStd),
  };
}

/** What the caller says about the data, copied into the saved model. */
export interface ModelDescription {
  name: string;
  features: string[];
  target: string;
  stepSeconds: number;
  training?: Record<string, unknown>;
}

/** One epoch's losses (normalized units). */
export interface TrainHistoryEntry {
  epoch: number;
  trainLoss: number;
  valLoss: number;
}

/**
 * Trains a model on `train`, stopping early on `validation` (which must come after `train` in
 * time: the caller splits chronologically). Returns the weights of the best validation epoch.
 */
export function trainSequenceModel(
  train: RawExample[],
  validation: RawExample[],
  description: ModelDescription,
  rawOptions: TrainOptions,
): { model: TrainedSequenceModel; history: TrainHistoryEntry[] } {
  const o = resolveTrainOptions(rawOptions);
  const first = train[0];
  if (!first || validation.length === 0) {
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `not enough data: ${train.length} training and ${validation.length} validation windows (need at least one of each; use a longer series or a smaller --window/--horizon)`,
    );
  }
  const spec: SequenceModelSpec = {
    kind: o.kind,
    inputSize: first.inputs[0]?.length ?? 0,
    hiddenSize: o.hiddenSize,
    outputSize: first.targets.length,
    window: first.inputs.length,
  };
  const normalization = fitNormalization(train);
  const trainSamples = train.map((ex) => toSample(normalization, ex));
  const valSamples = validation.map((ex) => toSample(normalization, ex));
  const L = layoutOf(spec);
  const lossFn: LossFunction = o.loss === 'huber' ? { kind: 'huber', delta: o.huberDelta } : { kind: 'mse' };
  const rng = mulberry32(o.seed);
  const params = initParams(spec, rng);
  const adam = new Adam(L.size, { learningRate: o.learningRate });
  const grad = new Float64Array(L.size);
  const order = trainSamples.map((_, i) => i);
  let best = {
    valLoss: meanLoss(L, params, valSamples, lossFn),
    epoch: 0,
    params: Float64Array.from(params),
  };
  const history: TrainHistoryEntry[] = [];
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    shuffleInPlace(order, rng);
    let lossSum = 0;
    for (let b = 0; b < order.length; b += o.batchSize) {
      grad.fill(0);
      const batch = order.slice(b, b + o.batchSize);
      for (const i of batch) lossSum += lossAndGradient(L, params, trainSamples[i] as Sample, grad, lossFn);
      for (let k = 0; k < grad.length; k++) grad[k] = (grad[k] as number) / batch.length;
      clipGlobalNorm(grad, o.clipNorm);
      adam.step(params, grad);
    }
    const trainLoss = lossSum / order.length;
    const valLoss = meanLoss(L, params, valSamples, lossFn);
    const improved = valLoss < best.valLoss;
    if (improved) best = { valLoss, epoch, params: Float64Array.from(params) };
    history.push({ epoch, trainLoss, valLoss });
    o.onEpoch?.({ epoch, epochs: o.epochs, trainLoss, valLoss, best: improved });
    if (epoch - best.epoch >= o.patience) break;
  }
  const model: TrainedSequenceModel = {
    format: 1,
    name: description.name,
    spec,
    weights: unflattenWeights(spec, best.params),
    normalization,
    features: description.features,
    target: description.target,
    stepSeconds: description.stepSeconds,
    training: {
      ...description.training,
      seed: o.seed,
      epochsRun: history.length,
      bestEpoch: best.epoch,
      bestValLoss: best.valLoss,
      learningRate: o.learningRate,
      batchSize: o.batchSize,
      clipNorm: o.clipNorm,
      patience: o.patience,
      loss: o.loss === 'huber' ? `huber(${o.huberDelta})` : 'mse',
      trainWindows: train.length,
      validationWindows: validation.length,
    },
  };
  return { model, history };
}
