/**
 * The EWMA predictor: per handler, an exponentially weighted moving average of observed
 * durations, `avg ← alpha · sample + (1 − alpha) · avg`, started at the first sample. A larger
 * alpha follows recent durations faster; a smaller one smooths out outliers.
 */
import { SmartQueueError } from '../../../engine/errors.js';
import type { DurationQuery, Predictor } from '../../../engine/stages.js';

/** Options of {@link createEwmaPredictor}. */
export interface EwmaPredictorOptions {
  /**
   * Weight of the newest sample, in (0, 1]. 1 means "the last duration".
   * @default 0.3
   */
  alpha?: number;
}

/** {@link EwmaPredictorOptions} with every default applied. */
export interface ResolvedEwmaPredictorOptions {
  alpha: number;
}

/** The EWMA predictor; `await using` closes it. */
export interface EwmaPredictor extends Predictor, AsyncDisposable {
  readonly options: Readonly<ResolvedEwmaPredictorOptions>;
  /** Samples observed per handler (samples that were not finite durations >= 0 are ignored). */
  sampleCount(handler: string): number;
}

/** Validates options and applies defaults; throws `INVALID_OPTIONS` for bad options. */
export function resolveEwmaPredictorOptions(raw: EwmaPredictorOptions = {}): ResolvedEwmaPredictorOptions {
  const alpha = raw.alpha ?? 0.3;
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha <= 1)) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `invalid EWMA predictor options: alpha must be in (0, 1], got ${String(alpha)}`,
      {
        details: { alpha },
      },
    );
  }
  return { alpha };
}

interface Average {
  value: number;
  samples: number;
}

class EwmaPredictorImpl implements EwmaPredictor {
  readonly name = 'ewma';
  readonly options: Readonly<ResolvedEwmaPredictorOptions>;
  readonly #averages = new Map<string, Average>();

  constructor(options: ResolvedEwmaPredictorOptions) {
    this.options = Object.freeze(options);
  }

  /** The handler's average, or undefined before its first sample. Ignores `declaredMs`. */
  estimateDuration(query: DurationQuery): number | undefined {
    return this.#averages.get(query.handler)?.value;
  }

  observe(sample: { handler: string; durationMs: number; at: number }): void {
    const { handler, durationMs } = sample;
    // One NaN or negative sample would poison the average for good.
    if (!Number.isFinite(durationMs) || durationMs < 0) return;
    const average = this.#averages.get(handler);
    if (average === undefined) {
      this.#averages.set(handler, { value: durationMs, samples: 1 });
      return;
    }
    average.value += this.options.alpha * (durationMs - average.value);
    average.samples++;
  }

  sampleCount(handler: string): number {
    return this.#averages.get(handler)?.samples ?? 0;
  }

  async close(): Promise<void> {
    this.#averages.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Creates an EWMA predictor. It has no `forecastWorkerLoad`: it only learns durations. */
export function createEwmaPredictor(options: EwmaPredictorOptions = {}): EwmaPredictor {
  return new EwmaPredictorImpl(resolveEwmaPredictorOptions(options));
}
