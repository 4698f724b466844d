/**
 * The `none` predictor: it never predicts, so the engine uses declared estimates only.
 */
import type { Predictor } from '../../../engine/stages.js';

/** A {@link Predictor} that knows nothing; `await using` closes it. */
export type NoopPredictor = Predictor & AsyncDisposable;

/** Creates a predictor whose `estimateDuration` always returns undefined and that ignores samples. */
export function createNoopPredictor(): NoopPredictor {
  return {
    name: 'none',
    estimateDuration: () => undefined,
    observe: () => undefined,
    close: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}
