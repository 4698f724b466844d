/** Forecast error per horizon step: MAE, RMSE and MAPE. */

/** Errors of one forecaster, one entry per step ahead (index 0 = one step ahead). */
export interface HorizonMetrics {
  mae: number[];
  rmse: number[];
  /**
   * Mean absolute percentage error in %, over the points whose actual value is not zero
   * (a percentage of zero is undefined); NaN when every actual is zero.
   */
  mape: number[];
  /** Points per step. */
  count: number;
}

/** Compares `predictions[i][h]` with `actuals[i][h]` for every sample i and step h. */
export function horizonMetrics(predictions: number[][], actuals: number[][]): HorizonMetrics {
  const horizon = actuals[0]?.length ?? 0;
  const absSum = new Array<number>(horizon).fill(0);
  const sqSum = new Array<number>(horizon).fill(0);
  const pctSum = new Array<number>(horizon).fill(0);
  const pctCount = new Array<number>(horizon).fill(0);
  actuals.forEach((row, i) => {
    const pred = predictions[i] ?? [];
    for (let h = 0; h < horizon; h++) {
      const y = row[h] as number;
      const err = (pred[h] as number) - y;
      absSum[h] = (absSum[h] as number) + Math.abs(err);
      sqSum[h] = (sqSum[h] as number) + err * err;
      if (y !== 0) {
        pctSum[h] = (pctSum[h] as number) + Math.abs(err / y);
        pctCount[h] = (pctCount[h] as number) + 1;
      }
    }
  });
  const n = actuals.length;
  return {
    mae: absSum.map((s) => (n === 0 ? Number.NaN : s / n)),
    rmse: sqSum.map((s) => (n === 0 ? Number.NaN : Math.sqrt(s / n))),
    mape: pctSum.map((s, h) => {
      const c = pctCount[h] as number;
      return c === 0 ? Number.NaN : (100 * s) / c;
    }),
    count: n,
  };
}

/** The mean of a metric over all steps ahead (NaN entries ignored). */
export function meanOverHorizon(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length === 0 ? Number.NaN : finite.reduce((a, b) => a + b, 0) / finite.length;
}
