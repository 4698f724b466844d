/**
 * A small machine-learning pipeline written in the TypeScript DSL instead of YAML.
 *
 *   generate-data ─► split ─┬─► train ─► evaluate ─► publish (only when R² is good enough)
 *                           └─► baseline ──┘
 *
 * Each task is an inline handler: the DSL registers it under `dsl:<workflow>/<task>`, so the
 * workflow needs no `run` or `uses`. `ctx.get(ref)` reads the outputs of a needed task, typed
 * from that task's handler (hover `data` below: `{ xs: number[]; ys: number[] }`).
 *
 * The handlers are pure and fast (a least-squares fit on 200 synthetic points), so this file runs
 * anywhere in milliseconds:
 *
 *   smartqueue validate workflows/examples/ml-pipeline.ts
 *   smartqueue run workflows/examples/ml-pipeline.ts --param samples=500
 */
import { workflow } from '../../dsl/builder.js';

/** A deterministic pseudo-random generator (mulberry32), so every run sees the same data. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mean squared error and coefficient of determination of predictions against targets. */
function scores(predicted: number[], actual: number[]): { mse: number; r2: number } {
  const n = actual.length || 1;
  const mean = actual.reduce((s, y) => s + y, 0) / n;
  let se = 0;
  let st = 0;
  actual.forEach((y, i) => {
    se += (y - (predicted[i] ?? 0)) ** 2;
    st += (y - mean) ** 2;
  });
  return { mse: se / n, r2: st === 0 ? 0 : 1 - se / st };
}

export default workflow(
  'house-price-model',
  {
    description: 'Fits a one-feature price model on synthetic data and publishes it when it is good enough.',
    labels: { team: 'ml-platform', example: 'dsl' },
    deadline: '1m',
    priority: 'medium',
    params: {
      samples: { type: 'integer', default: 200, description: 'Number of synthetic houses.' },
      minR2: { type: 'number', default: 0.8, description: 'Quality bar for publishing the model.' },
    },
    defaults: { timeout: '10s', retries: { max: 1, backoff: 'fixed', initial: '100ms' } },
  },
  (w) => {
    // Synthetic data: price ≈ 3000 × surface + 50 000, with noise.
    const data = w.task('generate-data', { estimate: '50ms' }, (ctx) => {
      const n = Math.max(10, Math.floor(Number(ctx.params.samples ?? 200)));
      const random = seeded(42);
      const xs: number[] = [];
      const ys: number[] = [];
      for (let i = 0; i < n; i++) {
        const surface = 20 + random() * 180;
        xs.push(surface);
        ys.push(3000 * surface + 50_000 + (random() - 0.5) * 60_000);
      }
      return { xs, ys };
    });

    const split = w.task('split', { needs: [data], estimate: '20ms' }, (ctx) => {
      const { xs, ys } = ctx.get(data);
      const cut = Math.floor(xs.length * 0.8);
      return {
        train: { xs: xs.slice(0, cut), ys: ys.slice(0, cut) },
        test: { xs: xs.slice(cut), ys: ys.slice(cut) },
      };
    });

    // Ordinary least squares, closed form.
    const train = w.task('train', { needs: [split], estimate: '100ms', priority: 'high' }, (ctx) => {
      const { xs, ys } = ctx.get(split).train;
      const n = xs.length;
      const mx = xs.reduce((s, x) => s + x, 0) / n;
      const my = ys.reduce((s, y) => s + y, 0) / n;
      let cov = 0;
      let varX = 0;
      xs.forEach((x, i) => {
        cov += (x - mx) * ((ys[i] ?? 0) - my);
        varX += (x - mx) ** 2;
      });
      const slope = varX === 0 ? 0 : cov / varX;
      ctx.log.info('model fitted', { slope, samples: n });
      return { slope, intercept: my - slope * mx };
    });

    // The baseline predicts the mean price: the model must beat it to be worth anything.
    const baseline = w.task('baseline', { needs: [split], estimate: '20ms', priority: 'low' }, (ctx) => {
      const { train: t, test } = ctx.get(split);
      const mean = t.ys.reduce((s, y) => s + y, 0) / (t.ys.length || 1);
      return scores(
        test.xs.map(() => mean),
        test.ys,
      );
    });

    // `ctx.get()` reads the tasks listed in `needs` only (their outputs are the task's inputs),
    // so `split` is needed here too even though `train` already depends on it.
    const evaluate = w.task(
      'evaluate',
      { needs: [split, train, baseline], estimate: '20ms', outputs: ['mse', 'r2', 'baselineMse'] },
      (ctx) => {
        const { slope, intercept } = ctx.get(train);
        const { test } = ctx.get(split);
        const { mse, r2 } = scores(
          test.xs.map((x) => slope * x + intercept),
          test.ys,
        );
        return { mse, r2, baselineMse: ctx.get(baseline).mse };
      },
    );

    // Gated: skipped (not failed) when the model is not good enough.
    w.task(
      'publish',
      {
        needs: [train, evaluate],
        when: '${{ tasks.evaluate.outputs.r2 >= params.minR2 && tasks.evaluate.outputs.mse < tasks.evaluate.outputs.baselineMse }}',
        idempotencyKey: 'house-price-model-${{ run.id }}',
        estimate: '10ms',
      },
      (ctx) => {
        const model = ctx.get(train);
        const { r2 } = ctx.get(evaluate);
        // A real pipeline would upload to a model registry here (keyed by ctx.idempotencyKey).
        return {
          version: `v-${ctx.runId}`,
          r2,
          formula: `price = ${model.slope.toFixed(0)} * m2 + ${model.intercept.toFixed(0)}`,
        };
      },
    );
  },
);
