/**
 * The evaluation harness: the model and every baseline forecast the same held-out windows (the
 * last part of each series, after the training and validation parts), scored per series and
 * step ahead. Baselines see only the past of each window, like the model.
 */
import type { ResampledSeries } from './data.js';
import { ewma, holtWinters, movingAverage, persistence, seasonalNaive, type Baseline } from './baselines.js';
import { splitSeries, windowAt, windowEnds, type ResolvedLoadDataOptions } from './load-forecast.js';
import { horizonMetrics, meanOverHorizon, type HorizonMetrics } from './metrics.js';
import { forward } from './network.js';
import type { TrainedSequenceModel } from './types.js';

/** The scores of one forecaster on one series. */
export interface EvaluationRow {
  series: string;
  forecaster: string;
  /** True for the recurrent model, false for baselines. */
  isModel: boolean;
  metrics: HorizonMetrics;
}

/** The baselines every model is compared with, for a series of `stepSeconds`. */
export function defaultBaselines(stepSeconds: number, fitUntil?: number): Baseline[] {
  const day = Math.round(86400 / stepSeconds);
  const hour = Math.max(1, Math.round(3600 / stepSeconds));
  return [persistence, movingAverage(hour), ewma(0.3), seasonalNaive(day), holtWinters(day, fitUntil)];
}

/**
 * Scores `model` (when given) and the baselines on the test part of each series; the model's
 * window and horizon override those in `o`.
 */
export function evaluateLoad(
  seriesList: ResampledSeries[],
  o: ResolvedLoadDataOptions,
  model?: TrainedSequenceModel,
): EvaluationRow[] {
  const window = model?.spec.window ?? o.window;
  const horizon = model?.spec.outputSize ?? o.horizon;
  const rows: EvaluationRow[] = [];
  const o2 = { ...o, window, horizon };
  for (const series of seriesList) {
    const split = splitSeries(series, o2);
    const raw = series.values;
    const ends = windowEnds(split.valEnd - 1, raw.length, o2);
    if (ends.length === 0) continue;
    const actuals = ends.map((end) => raw.slice(end + 1, end + 1 + horizon));
    if (model) {
      const predictions = ends.map((end) => {
        const { inputs, scale } = windowAt(series, end, o2);
        return forward(model, inputs).map((v) => v * scale.std + scale.mean);
      });
      rows.push({
        series: series.name,
        forecaster: model.name,
        isModel: true,
        metrics: horizonMetrics(predictions, actuals),
      });
    }
    for (const b of defaultBaselines(series.stepSeconds, split.valEnd)) {
      const predictions = b.forecast(raw, ends, horizon);
      rows.push({
        series: series.name,
        forecaster: b.name,
        isModel: false,
        metrics: horizonMetrics(predictions, actuals),
      });
    }
  }
  return rows;
}

/** Which metric a table shows. */
export type MetricName = 'mae' | 'rmse' | 'mape';

/** Formats a number for a table cell: 4 significant digits, exponent for large/small values. */
function cell(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e6 || a < 1e-3) ? v.toExponential(3) : v.toPrecision(4);
}

/**
 * One table per metric: a row per series and step ahead (plus the mean over steps), a column per
 * forecaster, the best of each row marked with `*`; then, for the model, how many rows a baseline
 * beat it on.
 */
export function formatEvaluation(
  rows: EvaluationRow[],
  metrics: MetricName[] = ['mae', 'rmse', 'mape'],
): string {
  const forecasters = [...new Set(rows.map((r) => r.forecaster))];
  const seriesNames = [...new Set(rows.map((r) => r.series))];
  const model = rows.find((r) => r.isModel)?.forecaster;
  const out: string[] = [];
  for (const metric of metrics) {
    const header = ['series', 'h', ...forecasters];
    const lines: string[][] = [];
    let modelWins = 0;
    let total = 0;
    const baselineWins = new Map<string, number>();
    for (const s of seriesNames) {
      const bySeries = forecasters.map((f) => rows.find((r) => r.series === s && r.forecaster === f));
      const horizon = bySeries[0]?.metrics.mae.length ?? 0;
      for (let h = 0; h <= horizon; h++) {
        const values = bySeries.map((r) => {
          if (!r) return Number.NaN;
          return h < horizon ? (r.metrics[metric][h] as number) : meanOverHorizon(r.metrics[metric]);
        });
        const finite = values.filter((v) => Number.isFinite(v));
        const best = finite.length > 0 ? Math.min(...finite) : Number.NaN;
        const bestIdx = values.indexOf(best);
        lines.push([
          s,
          h < horizon ? String(h + 1) : 'mean',
          ...values.map((v, i) => cell(v) + (i === bestIdx ? '*' : '')),
        ]);
        if (model && h < horizon && bestIdx >= 0) {
          total += 1;
          const winner = forecasters[bestIdx] as string;
          if (winner === model) modelWins += 1;
          else baselineWins.set(winner, (baselineWins.get(winner) ?? 0) + 1);
        }
      }
    }
    const widths = header.map((hd, i) => Math.max(hd.length, ...lines.map((l) => (l[i] ?? '').length)));
    const fmt = (l: string[]): string =>
      l.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
    out.push(`${metric.toUpperCase()} (lower is better; * = best of the row; h = steps ahead)`);
    out.push(fmt(header));
    for (const l of lines) out.push(fmt(l));
    if (model) {
      const beaten = [...baselineWins.entries()].sort((a, b) => b[1] - a[1]);
      out.push(
        beaten.length === 0
          ? `${model} is best on all ${total} rows by ${metric.toUpperCase()}.`
          : `${model} is best on ${modelWins} of ${total} rows by ${metric.toUpperCase()}; a baseline wins the others: ${beaten.map(([n, c]) => `${n} ${c}`).join(', ')}.`,
      );
    }
    out.push('');
  }
  out.push(summarize(rows));
  return out.join('\n');
}

/** Mean MAE over every series and step, normalized per series by the persistence MAE. */
export function summarize(rows: EvaluationRow[]): string {
  const forecasters = [...new Set(rows.map((r) => r.forecaster))];
  const seriesNames = [...new Set(rows.map((r) => r.series))];
  const score = (f: string): number => {
    const ratios = seriesNames.map((s) => {
      const r = rows.find((x) => x.series === s && x.forecaster === f);
      const p = rows.find((x) => x.series === s && x.forecaster === persistence.name);
      return r && p ? meanOverHorizon(r.metrics.mae) / meanOverHorizon(p.metrics.mae) : Number.NaN;
    });
    return meanOverHorizon(ratios);
  };
  const ranked = forecasters.map((f) => ({ f, s: score(f) })).sort((a, b) => a.s - b.s);
  const lines = ['Overall: mean over series of MAE / persistence MAE (lower is better):'];
  for (const { f, s } of ranked) lines.push(`  ${f.padEnd(24)} ${cell(s)}`);
  lines.push(
    `Best overall: ${ranked[0]?.f ?? 'n/a'}${rows.find((r) => r.isModel && r.forecaster === ranked[0]?.f) ? '' : ' (a baseline)'}`,
  );
  return lines.join('\n');
}
