/**
 * The load-forecast model's data. Each series is split in time (train, validation, test, in
 * this order), and every window is standardized by the mean and standard deviation of the
 * series over the steps leading up to it (a trailing day, see {@link scaleSteps}): series of CPU
 * percent and of network bytes differ by seven orders of magnitude, and real series shift their
 * level over two weeks, so a scale fixed at training time would put later windows far outside
 * what the model saw. The `onnx` predictor standardizes its live windows the same way
 * (plugins/predictor/onnx/step-series.ts), so training and serving agree.
 */
import { SmartQueueError } from '../../../../engine/errors.js';
import { buildFeatures, featureNames, type ResampledSeries } from './data.js';
import type { RawExample } from './train.js';

/** How series become windows. */
export interface LoadDataOptions {
  /** @default 24 */
  window?: number;
  /** @default 6 */
  horizon?: number;
  /** Steps of the rolling mean/std features. @default 12 */
  rollingSteps?: number;
  /** Share of each series (after the training part) used for early stopping. @default 0.15 */
  validationFraction?: number;
  /** Share at the end of each series held out for evaluation. @default 0.15 */
  testFraction?: number;
  /**
   * Steps between two training windows: neighbouring windows overlap in all but one step, so 2
   * halves training time for little loss of information. @default 1
   */
  trainStride?: number;
  /**
   * Standardized training targets are clipped to ±this: after a flat stretch (std near 0) one
   * spike can be millions of standard deviations away, and squared error on it would swamp
   * every other window. Inputs need no clip: the recurrent cell saturates. @default 10
   */
  targetClip?: number;
}

/** {@link LoadDataOptions} with defaults applied. */
export type ResolvedLoadDataOptions = Required<LoadDataOptions>;

/** Applies the defaults of {@link LoadDataOptions} and checks them. */
export function resolveLoadDataOptions(raw: LoadDataOptions = {}): ResolvedLoadDataOptions {
  const o = {
    window: raw.window ?? 24,
    horizon: raw.horizon ?? 6,
    rollingSteps: raw.rollingSteps ?? 12,
    validationFraction: raw.validationFraction ?? 0.15,
    testFraction: raw.testFraction ?? 0.15,
    trainStride: raw.trainStride ?? 1,
    targetClip: raw.targetClip ?? 10,
  };
  for (const key of ['window', 'horizon', 'rollingSteps', 'trainStride'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) {
      throw new SmartQueueError('INVALID_OPTIONS', `${key} must be a positive integer`, {
        details: { [key]: o[key] },
      });
    }
  }
  if (!(o.targetClip > 0)) {
    throw new SmartQueueError('INVALID_OPTIONS', 'targetClip must be positive', {
      details: { targetClip: o.targetClip },
    });
  }
  if (!(o.validationFraction > 0) || !(o.testFraction >= 0) || o.validationFraction + o.testFraction >= 0.9) {
    throw new SmartQueueError('INVALID_OPTIONS', 'validation and test fractions must leave a training part', {
      details: { validationFraction: o.validationFraction, testFraction: o.testFraction },
    });
  }
  return o;
}

/** Mean and standard deviation a window is standardized with. */
export interface SeriesScale {
  mean: number;
  std: number;
}

/** Steps of history the scale of a window is computed over: the window, its rolling features and a day. */
export function scaleSteps(window: number, rollingSteps: number, stepSeconds: number): number {
  return window + rollingSteps + Math.round(86400 / stepSeconds);
}

/** Mean and standard deviation of `values[end - steps + 1 .. end]` (std 1 for a flat stretch). */
export function trailingScale(values: number[], end: number, steps: number): SeriesScale {
  const from = Math.max(0, end - steps + 1);
  const n = end - from + 1;
  let sum = 0;
  for (let i = from; i <= end; i++) sum += values[i] as number;
  const mean = sum / n;
  let sq = 0;
  for (let i = from; i <= end; i++) sq += ((values[i] as number) - mean) ** 2;
  const sd = Math.sqrt(sq / n);
  return { mean, std: sd > 1e-12 ? sd : 1 };
}

/**
 * The standardized feature rows of the window ending at `end`, computed from the window and the
 * `rollingSteps` before it (as the predictor computes them live), and the scale used.
 */
export function windowAt(
  series: ResampledSeries,
  end: number,
  o: ResolvedLoadDataOptions,
): { inputs: number[][]; scale: SeriesScale } {
  const scale = trailingScale(series.values, end, scaleSteps(o.window, o.rollingSteps, series.stepSeconds));
  const from = Math.max(0, end - o.window - o.rollingSteps + 1);
  const values = series.values.slice(from, end + 1).map((v) => (v - scale.mean) / scale.std);
  const extra =
    series.extra === undefined
      ? undefined
      : Object.fromEntries(Object.entries(series.extra).map(([k, col]) => [k, col.slice(from, end + 1)]));
  const rows = buildFeatures(
    {
      ...series,
      start: series.start + from * series.stepSeconds * 1000,
      values,
      ...(extra !== undefined && { extra }),
    },
    { rollingSteps: o.rollingSteps },
  );
  return { inputs: rows.slice(rows.length - o.window), scale };
}

/** Where one series' training part and validation part end (targets before these indices). */
export interface SeriesSplit {
  series: ResampledSeries;
  trainEnd: number;
  valEnd: number;
}

/** Splits one series in time. */
export function splitSeries(series: ResampledSeries, o: ResolvedLoadDataOptions): SeriesSplit {
  const n = series.values.length;
  const valEnd = Math.round(n * (1 - o.testFraction));
  const trainEnd = Math.round(n * (1 - o.testFraction - o.validationFraction));
  return { series, trainEnd, valEnd };
}

/** Window ends t >= from (stepping by `stride`) whose targets t+1..t+horizon lie before `to`. */
export function windowEnds(from: number, to: number, o: ResolvedLoadDataOptions, stride = 1): number[] {
  const ends: number[] = [];
  for (let end = Math.max(from, o.window - 1); end + o.horizon < to; end += stride) ends.push(end);
  return ends;
}

/** The standardized example of the window ending at `end` (targets clipped, see `targetClip`). */
export function exampleAt(series: ResampledSeries, end: number, o: ResolvedLoadDataOptions): RawExample {
  const { inputs, scale } = windowAt(series, end, o);
  const clip = o.targetClip;
  const targets = series.values
    .slice(end + 1, end + 1 + o.horizon)
    .map((v) => Math.max(-clip, Math.min(clip, (v - scale.mean) / scale.std)));
  return { inputs, targets };
}

/** Training and validation windows of many series. */
export interface LoadExamples {
  features: string[];
  train: RawExample[];
  validation: RawExample[];
  splits: SeriesSplit[];
}

/** Builds the windows of every series; all series must have the same feature columns. */
export function loadExamples(seriesList: ResampledSeries[], o: ResolvedLoadDataOptions): LoadExamples {
  const first = seriesList[0];
  if (!first) throw new SmartQueueError('INVALID_ARGUMENT', 'no series to train on');
  const features = featureNames(first);
  const train: RawExample[] = [];
  const validation: RawExample[] = [];
  const splits = seriesList.map((s) => {
    if (featureNames(s).join() !== features.join()) {
      throw new SmartQueueError('INVALID_ARGUMENT', `series ${s.name} has different columns`, {
        details: { expected: features, actual: featureNames(s) },
      });
    }
    const sp = splitSeries(s, o);
    for (const end of windowEnds(0, sp.trainEnd, o, o.trainStride)) train.push(exampleAt(s, end, o));
    for (const end of windowEnds(sp.trainEnd - 1, sp.valEnd, o)) validation.push(exampleAt(s, end, o));
    return sp;
  });
  return { features, train, validation, splits };
}
