/** The EWMA predictor: per-handler exponentially weighted moving averages of durations. */
export { createEwmaPredictor, resolveEwmaPredictorOptions } from './ewma-predictor.js';
export type { EwmaPredictor, EwmaPredictorOptions, ResolvedEwmaPredictorOptions } from './ewma-predictor.js';
