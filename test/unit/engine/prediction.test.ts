/**
 * The Predictor's uses in the engine: predicted durations in LFT/LST, per-worker load forecasts
 * in the balancer (refreshed per scheduling tick), the load history it is fed, and the scoring
 * of its duration estimates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskHandler } from '../../../engine/handler.js';
import type { LoadHistoryRow } from '../../../engine/load-history.js';
import type { DurationQuery, DurationSample, Predictor } from '../../../engine/stages.js';
import {
  closeAllHarnesses,
  createHarness,
  dispatchOrder,
  eventually,
  finish,
  gate,
  plan,
  record,
} from './harness.js';

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
});

/** A predictor with fixed answers that records what it is fed. */
function fakePredictor(answers: {
  durations?: Record<string, number>;
  workerLoad?: Record<string, number>;
}): Predictor & {
  queries: DurationQuery[];
  samples: DurationSample[];
  rows: LoadHistoryRow[];
  loadCalls: number;
} {
  const p = {
    name: 'fake',
    queries: [] as DurationQuery[],
    samples: [] as DurationSample[],
    rows: [] as LoadHistoryRow[],
    loadCalls: 0,
    estimateDuration(q: DurationQuery) {
      p.queries.push(q);
      return answers.durations?.[q.handler];
    },
    observe(s: DurationSample) {
      p.samples.push(s);
    },
    forecastWorkerLoad(id: string) {
      p.loadCalls++;
      return answers.workerLoad?.[id];
    },
    observeLoad(row: LoadHistoryRow) {
      p.rows.push(row);
    },
    close: () => Promise.resolve(),
  };
  return p;
}

/** A step long enough that the engine's own timer never closes one during a test. */
const MANUAL_STEPS = { stepMs: 3_600_000 };

describe('predicted durations feed LFT/LST', () => {
  it('uses the prediction for tasks without an estimate, and the declared one otherwise', async () => {
    const g = gate();
    const predictor = fakePredictor({ durations: { slow: 4_000, quick: 50 } });
    const hold: TaskHandler = () => g.promise.then(() => ({}));
    const h = await createHarness({
      capacity: 8,
      handlers: { slow: hold, quick: hold },
      engine: { predictor, prediction: MANUAL_STEPS },
    });
    const runId = await h.engine.startRun(
      plan({
        deadline: '10s',
        tasks: [
          { id: 'a', uses: 'quick' },
          { id: 'b', uses: 'slow', needs: ['a'] }, // predicted 4 s
          { id: 'c', uses: 'slow', needs: ['a'], estimate: '1s' }, // declared wins
        ],
      }),
    );
    const run = h.engine.activeRuns().get(runId)!;
    const start = run.startedAt;
    const task = (id: string) => run.tasks.get(id)!;
    expect(task('a').estimateMs).toBe(50);
    expect(task('b').estimateMs).toBe(4_000);
    expect(task('c').estimateMs).toBe(1_000);
    // LFT(a) = min(run deadline, LFT(b) - est(b), LFT(c) - est(c)) = 10 s - 4 s (the prediction).
    expect(task('b').lftAt).toBe(start + 10_000);
    expect(task('a').lftAt).toBe(start + 6_000);
    // The predictor is not asked about a task that declares its estimate.
    expect(predictor.queries.map((q) => q.handler).sort()).toEqual(['quick', 'slow']);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });

  it('orders ready tasks by the LST the prediction gives them', async () => {
    const g = gate();
    const predictor = fakePredictor({ durations: { long: 8_000, short: 10 } });
    const hold: TaskHandler = () => g.promise.then(() => ({}));
    const h = await createHarness({
      capacity: 1,
      handlers: { blocker: hold, long: () => ({}), short: () => ({}) },
      engine: { predictor, prediction: MANUAL_STEPS },
    });
    // The only slot is taken, so both tasks wait in the heap and leave it by LST.
    const first = await h.engine.startRun(plan({ tasks: [{ id: 'x', uses: 'blocker', estimate: '1ms' }] }));
    await eventually(() => h.balancer.pick() === undefined);
    const second = await h.engine.startRun(
      plan({
        deadline: '20s',
        tasks: [
          { id: 's', uses: 'short' }, // LST = 20 s - 10 ms
          { id: 'l', uses: 'long' }, // LST = 20 s - 8 s: more urgent
        ],
      }),
    );
    const order = dispatchOrder(h.engine);
    g.open();
    expect(await finish(h.engine, first)).toBe('succeeded');
    expect(await finish(h.engine, second)).toBe('succeeded');
    expect(order).toEqual(['l', 's']);
  });

  it('feeds durations back with worker and estimate, and scores predicted estimates only', async () => {
    const predictor = fakePredictor({ durations: { job: 100 } });
    const h = await createHarness({
      handlers: { job: () => ({}) },
      engine: { predictor, prediction: MANUAL_STEPS },
    });
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'p', uses: 'job' },
          { id: 'd', uses: 'job', estimate: '2s' },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    const byEstimate = Object.fromEntries(predictor.samples.map((s) => [s.estimateMs, s]));
    expect(byEstimate[100]).toMatchObject({ handler: 'job', workerId: 'w1' });
    expect(byEstimate[2000]).toMatchObject({ handler: 'job', workerId: 'w1' });
    const errors = h.engine.prediction.drainErrors();
    expect(errors.map((e) => [e.model, e.target])).toEqual([['fake', 'duration']]);
    expect(errors[0]!.error).toBeGreaterThanOrEqual(0);
    expect(h.engine.prediction.drainErrors()).toEqual([]);
  });
});

describe('predicted worker load feeds the balancer', () => {
  it('steers new tasks away from a worker forecast to saturate', async () => {
    const g = gate();
    const predictor = fakePredictor({ workerLoad: { w1: 4 } });
    const h = await createHarness({
      workers: 2,
      capacity: 4,
      handlers: { hold: () => g.promise.then(() => ({})) },
      engine: { predictor, prediction: MANUAL_STEPS },
    });
    // The first step tells the loop which workers there are; their forecasts go in at once.
    h.engine.prediction.step(Date.now());
    expect(h.balancer.snapshot().find((w) => w.id === 'w1')).toMatchObject({ forecast: 4, load: 1 });
    const dispatched = record(h.engine, 'task:attempt:dispatched');
    const runId = await h.engine.startRun(
      plan({ tasks: [1, 2, 3, 4, 5].map((i) => ({ id: `t${i}`, uses: 'hold', estimate: '1s' })) }),
    );
    await eventually(() => dispatched.length === 5);
    // w2 fills its 4 slots (load 0.25 .. 0.75 < 1) before w1, forecast full, gets anything.
    const onW1 = dispatched.filter((d) => d.workerId === 'w1').map((d) => d.taskId);
    expect(onW1).toHaveLength(1);
    expect(dispatched.slice(0, 4).every((d) => d.workerId === 'w2')).toBe(true);
    // Forecasts are read per scheduling tick, not per dispatch: 5 dispatches in far fewer calls.
    expect(predictor.loadCalls).toBeLessThan(5 * 2);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });

  it('refreshes forecasts at the next scheduling tick, without waiting for a load step', async () => {
    const g = gate();
    const workerLoad: Record<string, number> = {};
    const predictor = fakePredictor({ workerLoad });
    const h = await createHarness({
      workers: 2,
      capacity: 4,
      handlers: { hold: () => g.promise.then(() => ({})) },
      engine: { predictor, prediction: MANUAL_STEPS },
    });
    h.engine.prediction.step(Date.now());
    expect(h.balancer.snapshot().every((w) => w.forecast === 0)).toBe(true);
    // The model's forecast changes between steps (e.g. a batch inference finished).
    workerLoad.w1 = 4;
    const dispatched = record(h.engine, 'task:attempt:dispatched');
    const runId = await h.engine.startRun(
      plan({ tasks: [1, 2].map((i) => ({ id: `t${i}`, uses: 'hold', estimate: '1s' })) }),
    );
    await eventually(() => dispatched.length === 2);
    expect(dispatched.map((d) => d.workerId)).toEqual(['w2', 'w2']);
    expect(h.balancer.snapshot().find((w) => w.id === 'w1')!.forecast).toBe(4);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });

  it('without a forecast both workers share the tasks (the reactive baseline)', async () => {
    const g = gate();
    const h = await createHarness({
      workers: 2,
      capacity: 4,
      handlers: { hold: () => g.promise.then(() => ({})) },
      engine: { predictor: fakePredictor({}), prediction: MANUAL_STEPS },
    });
    h.engine.prediction.step(Date.now());
    const dispatched = record(h.engine, 'task:attempt:dispatched');
    const runId = await h.engine.startRun(
      plan({ tasks: [1, 2, 3, 4].map((i) => ({ id: `t${i}`, uses: 'hold', estimate: '1s' })) }),
    );
    await eventually(() => dispatched.length === 4);
    expect(dispatched.filter((d) => d.workerId === 'w1')).toHaveLength(2);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });
});

describe('load history', () => {
  it('records arrivals, completions, priority mix and per-worker counts per step', async () => {
    const predictor = fakePredictor({});
    const h = await createHarness({
      workers: 1,
      capacity: 4,
      handlers: { job: () => ({}) },
      engine: { predictor, prediction: MANUAL_STEPS },
    });
    const sampled = record(h.engine, 'scheduler:load:sampled');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'a', uses: 'job', priority: 'high' },
          { id: 'b', uses: 'job', priority: 'low' },
          { id: 'c', uses: 'job', needs: ['a'], priority: 'low' },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    const row = h.engine.prediction.step(Date.now());
    expect(row).toMatchObject({
      stepMs: MANUAL_STEPS.stepMs,
      arrivals: 3,
      completions: 3,
      queueLength: 0,
      busyWorkers: 0,
      arrivalsByPriority: { high: 1, medium: 0, low: 2 },
    });
    expect(row.meanDurationMs).toBeGreaterThanOrEqual(0);
    expect(row.workers).toEqual([
      expect.objectContaining({
        id: 'w1',
        capacity: 4,
        running: 0,
        assigned: 3,
        completed: 3,
        utilisation: 0,
      }),
    ]);
    expect(predictor.rows).toEqual([row]);
    expect(sampled).toEqual([row]);
    // The next step starts from zero; the mean duration carries over as a level.
    const next = h.engine.prediction.step(Date.now());
    expect(next).toMatchObject({ arrivals: 0, completions: 0, meanDurationMs: row.meanDurationMs });
    expect(h.engine.prediction.history.recent()).toEqual([row, next]);
  });
});
