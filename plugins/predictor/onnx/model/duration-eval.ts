/**
 * Evaluation of a duration model against the per-handler baselines on the same held-out tasks:
 * every forecaster sees only the earlier runtimes of the task's type (the model its last
 * `window` of them), the global median sees the training part's runtimes.
 */
import { horizonMetrics, type HorizonMetrics } from './metrics.js';
import { forward } from './network.js';
import { DURATION_TARGET_TRANSFORM, durationRows, type DurationCase } from './duration-data.js';
import type { TrainedSequenceModel } from './types.js';

/** A duration forecaster: a prediction (ms) from a handler's earlier runtimes, oldest first. */
export interface DurationBaseline {
  readonly name: string;
  predict(history: number[]): number;
}

/** The mean of the handler's last `window` runtimes (the model's own input). */
export function recentMean(window: number): DurationBaseline {
  return {
    name: `handler-mean(${window})`,
    predict: (h) => {
      const last = h.slice(-window);
      return last.reduce((a, b) => a + b, 0) / last.length;
    },
  };
}

/** The handler's last runtime. */
export const lastValue: DurationBaseline = {
  name: 'handler-last',
  predict: (h) => h[h.length - 1] as number,
};

/** What the `ewma` predictor answers: the EWMA of every earlier runtime of the handler. */
export function handlerEwma(alpha: number): DurationBaseline {
  return {
    name: `ewma(${alpha})`,
    predict: (h) => h.slice(1).reduce((avg, d) => avg + alpha * (d - avg), h[0] as number),
  };
}

/** One value for every task: the median runtime of the training part. */
export function globalMedian(trainingRuntimes: number[]): DurationBaseline {
  const sorted = [...trainingRuntimes].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length === 0
      ? 0
      : sorted.length % 2 === 1
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { name: 'global-median', predict: () => median };
}

/** The model's prediction in ms for a handler's earlier runtimes. */
export function predictDuration(model: TrainedSequenceModel, history: number[]): number {
  const y = forward(model, durationRows(history.slice(-model.spec.window)))[0] as number;
  const ms = model.training.targetTransform === DURATION_TARGET_TRANSFORM ? Math.expm1(y) : y;
  return Math.max(0, ms);
}

/** Scores of one forecaster on one group of held-out tasks (an instance, or all). */
export interface DurationEvaluationRow {
  group: string;
  forecaster: string;
  isModel: boolean;
  metrics: HorizonMetrics;
}

/**
 * Scores `model` (when given) and the baselines on the test cases, per instance and over all of
 * them. `trainingRuntimes` feeds the global median.
 */
export function evaluateDurations(
  cases: DurationCase[],
  window: number,
  trainingRuntimes: number[],
  model?: TrainedSequenceModel,
): DurationEvaluationRow[] {
  const test = cases.filter((c) => c.part === 'test');
  const forecasters: { name: string; isModel: boolean; predict: (h: number[]) => number }[] = [];
  if (model) forecasters.push({ name: model.name, isModel: true, predict: (h) => predictDuration(model, h) });
  for (const b of [recentMean(window), lastValue, handlerEwma(0.3), globalMedian(trainingRuntimes)]) {
    forecasters.push({ name: b.name, isModel: false, predict: (h) => b.predict(h) });
  }
  const groups = [...new Set(test.map((c) => c.instance)), 'all'];
  const rows: DurationEvaluationRow[] = [];
  for (const group of groups) {
    const inGroup = group === 'all' ? test : test.filter((c) => c.instance === group);
    if (inGroup.length === 0) continue;
    const actuals = inGroup.map((c) => [c.actualMs]);
    for (const f of forecasters) {
      const predictions = inGroup.map((c) => [f.predict(c.history)]);
      rows.push({
        group,
        forecaster: f.name,
        isModel: f.isModel,
        metrics: horizonMetrics(predictions, actuals),
      });
    }
  }
  return rows;
}

function cell(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

/** One table per metric (MAE and RMSE in ms, MAPE in %), a row per instance, `*` = best. */
export function formatDurationEvaluation(rows: DurationEvaluationRow[]): string {
  const forecasters = [...new Set(rows.map((r) => r.forecaster))];
  const groups = [...new Set(rows.map((r) => r.group))];
  const model = rows.find((r) => r.isModel)?.forecaster;
  const out: string[] = [];
  for (const metric of ['mae', 'rmse', 'mape'] as const) {
    const header = ['instance', 'tasks', ...forecasters];
    const lines = groups.map((g) => {
      const values = forecasters.map(
        (f) => rows.find((r) => r.group === g && r.forecaster === f)?.metrics[metric][0] ?? Number.NaN,
      );
      const best = Math.min(...values.filter((v) => Number.isFinite(v)));
      const count = rows.find((r) => r.group === g)?.metrics.count ?? 0;
      return [g, String(count), ...values.map((v) => cell(v) + (v === best ? '*' : ''))];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
    const fmt = (l: string[]): string =>
      l.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
    const unit = metric === 'mape' ? '%' : 'ms';
    out.push(`${metric.toUpperCase()} in ${unit} on held-out tasks (lower is better; * = best of the row)`);
    out.push(fmt(header));
    for (const l of lines) out.push(fmt(l));
    const all = forecasters.map((f) => ({
      f,
      v: rows.find((r) => r.group === 'all' && r.forecaster === f)?.metrics[metric][0] ?? Number.NaN,
    }));
    const winner = all.filter((x) => Number.isFinite(x.v)).sort((a, b) => a.v - b.v)[0];
    if (winner) {
      out.push(
        `Best over all held-out tasks by ${metric.toUpperCase()}: ${winner.f}${winner.f === model ? ' (the model)' : ' (a baseline)'}`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}
