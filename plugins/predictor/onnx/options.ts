/**
 * Options of the `onnx` predictor, resolved and checked in one place.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmartQueueError } from '../../../engine/errors.js';
import type { Predictor } from '../../../engine/stages.js';

/** Where the predictor writes its warnings (a missing or broken model file). */
export interface PredictorLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** Options of `createOnnxPredictor`. */
export interface OnnxPredictorOptions {
  /**
   * Duration model (.onnx written by `smartqueue model train`): its window runs over a
   * handler's latest observed durations, with the features `duration_ms`, `log_duration_ms`
   * and `priority` (any subset, in any order). `null` or absent: durations come from the
   * fallback.
   * @default undefined
   */
  durationModel?: string | null;
  /**
   * Load model forecasting each worker's utilisation in percent (100 = every slot busy) over its
   * horizon; feeds `forecastWorkerLoad`. `null` turns it off.
   * @default `models/load-lstm.onnx` of the SmartQueue package
   */
  loadModel?: string | null;
  /**
   * Model forecasting the number of arrivals per step; feeds `forecastArrivals`. The shipped
   * load models standardize every series by its own mean and spread, so the load model serves
   * here too. `null` turns it off.
   * @default the `loadModel` file
   */
  arrivalsModel?: string | null;
  /**
   * Step of the load and arrivals series (ms). A model is trained on one step (5 min for the
   * shipped ones); a shorter step makes forecasts start sooner (after `window` steps) at the
   * cost of running the model outside the time scale it learned.
   * @default the model's own step (`stepSeconds` in its metadata)
   */
  loadStepMs?: number;
  /**
   * Answers whatever the models cannot: before a handler has a full window of durations, and
   * for every question when a model file is missing or broken. It sees every observation and
   * is closed with the predictor.
   * @default an `ewma` predictor with its defaults
   */
  fallback?: Predictor;
  /**
   * How often cached duration forecasts are recomputed (ms): every handler observed or asked
   * about since the last refresh is run in one batch.
   * @default 1000
   */
  refreshIntervalMs?: number;
  /**
   * Handlers (or handler and priority pairs, when the model uses priority) whose forecasts are
   * cached; further ones get the fallback's answer.
   * @default 10000
   */
  maxCachedKeys?: number;
  /** @default warnings go to stderr, prefixed `smartqueue: warning:` */
  logger?: PredictorLogger;
}

/** {@link OnnxPredictorOptions} with every default applied (`fallback` stays optional: created lazily). */
export interface ResolvedOnnxPredictorOptions {
  durationModel: string | undefined;
  loadModel: string | undefined;
  arrivalsModel: string | undefined;
  loadStepMs: number | undefined;
  fallback: Predictor | undefined;
  refreshIntervalMs: number;
  maxCachedKeys: number;
  logger: PredictorLogger;
}

/** The shipped models folder: above the sources, or above dist/ in a built package. */
export function shippedModelsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = ['../../../models', '../../../../models'].map((up) => path.resolve(here, up));
  return candidates.find((dir) => existsSync(dir)) ?? (candidates[0] as string);
}

const stderrLogger: PredictorLogger = {
  warn: (message) => process.stderr.write(`smartqueue: warning: ${message}\n`),
};

function modelPath(
  key: string,
  raw: string | null | undefined,
  fallback: string | undefined,
): string | undefined {
  if (raw === null) return undefined;
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new SmartQueueError('INVALID_OPTIONS', `onnx predictor: ${key} must be a file path or null`, {
      details: { [key]: raw },
    });
  }
  return path.resolve(raw);
}

function positiveInt(key: string, raw: number | undefined, fallback: number): number {
  const value = raw ?? fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new SmartQueueError('INVALID_OPTIONS', `onnx predictor: ${key} must be a positive integer`, {
      details: { [key]: raw },
    });
  }
  return value;
}

/** Validates options and applies defaults; throws `INVALID_OPTIONS` for bad options. */
export function resolveOnnxPredictorOptions(raw: OnnxPredictorOptions = {}): ResolvedOnnxPredictorOptions {
  const loadModel = modelPath('loadModel', raw.loadModel, path.join(shippedModelsDir(), 'load-lstm.onnx'));
  return {
    durationModel: modelPath('durationModel', raw.durationModel, undefined),
    loadModel,
    arrivalsModel: modelPath('arrivalsModel', raw.arrivalsModel, loadModel),
    loadStepMs: raw.loadStepMs === undefined ? undefined : positiveInt('loadStepMs', raw.loadStepMs, 1),
    fallback: raw.fallback,
    refreshIntervalMs: positiveInt('refreshIntervalMs', raw.refreshIntervalMs, 1000),
    maxCachedKeys: positiveInt('maxCachedKeys', raw.maxCachedKeys, 10_000),
    logger: raw.logger ?? stderrLogger,
  };
}
