/**
 * Classical forecasters the recurrent models must beat, evaluated in the same harness: each
 * forecasts the `horizon` values after `end` from `values[0..end]` only.
 */

/** A forecaster over one series. */
export interface Baseline {
  readonly name: string;
  /** Forecasts of values[end+1..end+horizon] for each end, using values up to end only. */
  forecast(values: number[], ends: number[], horizon: number): number[][];
}

/** The last value, repeated. */
export const persistence: Baseline = {
  name: 'persistence',
  forecast: (values, ends, horizon) =>
    ends.map((end) => new Array<number>(horizon).fill(values[end] as number)),
};

/** The mean of the last `steps` values, repeated. */
export function movingAverage(steps: number): Baseline {
  return {
    name: `moving-average(${steps})`,
    forecast: (values, ends, horizon) =>
      ends.map((end) => {
        const from = Math.max(0, end - steps + 1);
        let sum = 0;
        for (let i = from; i <= end; i++) sum += values[i] as number;
        return new Array<number>(horizon).fill(sum / (end - from + 1));
      }),
  };
}

/** Exponentially weighted mean of everything up to end (weight `alpha` on the newest). */
export function ewma(alpha: number): Baseline {
  return {
    name: `ewma(${alpha})`,
    forecast: (values, ends, horizon) => {
      const smooth = new Array<number>(values.length);
      let s = values[0] as number;
      values.forEach((v, i) => {
        s = i === 0 ? v : alpha * v + (1 - alpha) * s;
        smooth[i] = s;
      });
      return ends.map((end) => new Array<number>(horizon).fill(smooth[end] as number));
    },
  };
}

/** The value one season earlier (`season` steps), or persistence before a season exists. */
export function seasonalNaive(season: number): Baseline {
  return {
    name: `seasonal-naive(${season})`,
    forecast: (values, ends, horizon) =>
      ends.map((end) =>
        Array.from({ length: horizon }, (_, k) => {
          const h = k + 1;
          const back = end + h - season * Math.ceil(h / season);
          return (back >= 0 ? values[back] : values[end]) as number;
        }),
      ),
  };
}

/** Smoothing factors of additive Holt-Winters. */
export interface HoltWintersParams {
  alpha: number;
  beta: number;
  gamma: number;
}

/** Level, trend and seasonal state after each step (state[t] has seen values[0..t]). */
function holtWintersStates(values: number[], season: number, p: HoltWintersParams) {
  const n = values.length;
  const level = new Float64Array(n);
  const trend = new Float64Array(n);
  const seasonal = new Float64Array(n);
  const mean = (from: number, to: number): number => {
    let s = 0;
    for (let i = from; i < to; i++) s += values[i] as number;
    return s / (to - from);
  };
  const m1 = mean(0, season);
  const m2 = n >= 2 * season ? mean(season, 2 * season) : m1;
  for (let i = 0; i < season; i++) {
    seasonal[i] = (values[i] as number) - m1;
    level[i] = m1;
    trend[i] = (m2 - m1) / season;
  }
  for (let t = season; t < n; t++) {
    const y = values[t] as number;
    const lPrev = level[t - 1] as number;
    const bPrev = trend[t - 1] as number;
    const sOld = seasonal[t - season] as number;
    const l = p.alpha * (y - sOld) + (1 - p.alpha) * (lPrev + bPrev);
    trend[t] = p.beta * (l - lPrev) + (1 - p.beta) * bPrev;
    seasonal[t] = p.gamma * (y - l) + (1 - p.gamma) * sOld;
    level[t] = l;
  }
  return { level, trend, seasonal };
}

/**
 * Additive Holt-Winters with a `season` of steps. `alpha`, `beta`, `gamma` are chosen by grid
 * search on one-step error over `values[0..fitUntil)` (the training part), so evaluation on later
 * points does not tune on them; ends before two seasons fall back to persistence.
 */
export function holtWinters(season: number, fitUntil?: number): Baseline {
  return {
    name: `holt-winters(${season})`,
    forecast: (values, ends, horizon) => {
      if (values.length < 2 * season) return persistence.forecast(values, ends, horizon);
      const p = fitHoltWinters(values.slice(0, Math.max(2 * season, fitUntil ?? values.length)), season);
      const { level, trend, seasonal } = holtWintersStates(values, season, p);
      return ends.map((end) => {
        if (end < 2 * season - 1) return new Array<number>(horizon).fill(values[end] as number);
        return Array.from({ length: horizon }, (_, k) => {
          const h = k + 1;
          const s = seasonal[end + h - season * Math.ceil(h / season)] as number;
          return (level[end] as number) + h * (trend[end] as number) + s;
        });
      });
    },
  };
}

/** Grid search of the smoothing factors minimizing one-step squared error. */
export function fitHoltWinters(values: number[], season: number): HoltWintersParams {
  let best: HoltWintersParams = { alpha: 0.5, beta: 0, gamma: 0.1 };
  let bestErr = Number.POSITIVE_INFINITY;
  for (const alpha of [0.05, 0.1, 0.2, 0.4, 0.6, 0.8]) {
    for (const beta of [0, 0.01, 0.05]) {
      for (const gamma of [0.05, 0.1, 0.3]) {
        const p = { alpha, beta, gamma };
        const { level, trend, seasonal } = holtWintersStates(values, season, p);
        let err = 0;
        for (let t = season; t + 1 < values.length; t++) {
          const f = (level[t] as number) + (trend[t] as number) + (seasonal[t + 1 - season] as number);
          err += (f - (values[t + 1] as number)) ** 2;
        }
        if (err < bestErr) {
          bestErr = err;
          best = p;
        }
      }
    }
  }
  return best;
}
