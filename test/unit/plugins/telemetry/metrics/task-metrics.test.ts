/**
 * The scheduler's task and run metrics, fed by a real engine (the harness: in-process stages),
 * read back from the registry: names, labels and values must match what ran.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EngineEventBus } from '../../../../../engine/events.js';
import { createSchedulerMetrics } from '../../../../../plugins/telemetry/metrics/index.js';
import type { EngineMetrics } from '../../../../../plugins/telemetry/metrics/index.js';
import { closeAllHarnesses, createHarness, finish, plan, taskIr } from '../../../engine/harness.js';
import { newMetricsRegistry, type AnyRegistry } from '../../../../../plugins/telemetry/metrics/registry.js';

let metrics: EngineMetrics | undefined;

afterEach(async () => {
  metrics?.close();
  metrics = undefined;
  expect(await closeAllHarnesses()).toEqual([]);
});

type Labels = Record<string, string>;
const matches = (have: Record<string, unknown>, want: Labels) =>
  Object.entries(want).every(([k, v]) => String(have[k]) === v);

/** The value of the series of counter/gauge `name` with `labels` (undefined when absent). */
async function value(registry: AnyRegistry, name: string, labels: Labels = {}): Promise<number | undefined> {
  const data = await registry.getSingleMetric(name)?.get();
  return data?.values.find((v) => matches(v.labels, labels))?.value;
}

/** `_count` of histogram `name`, summed over the series with `labels`. */
async function count(registry: AnyRegistry, name: string, labels: Labels = {}): Promise<number> {
  const data = await registry.getSingleMetric(name)!.get();
  return data.values
    .filter((v) => (v as { metricName?: string }).metricName === `${name}_count` && matches(v.labels, labels))
    .reduce((n, v) => n + v.value, 0);
}

describe('task and run metrics from engine events', () => {
  it('counts submissions, dispatches, successes, failures, retries and runs with low-cardinality labels', async () => {
    let flaky = 0;
    const h = await createHarness({
      handlers: {
        ok: async () => ({}),
        flaky: async () => {
          if (flaky++ === 0) throw new Error('first try fails');
          return {};
        },
        run: async () => ({ exitCode: 0 }),
      },
    });
    metrics = createSchedulerMetrics({
      engineEvents: h.engine.events,
      engine: h.engine,
      registry: newMetricsRegistry(),
    });
    const r = metrics.registry;
    const runId = await h.engine.startRun(
      plan({
        priority: 'high',
        tasks: [
          { id: 'a', uses: 'ok' },
          { id: 'b', uses: 'flaky', needs: ['a'], retries: { max: 2, backoff: 'fixed', initial: '1ms' } },
          { id: 'c', run: ['true'], needs: ['a'], priority: 'low' },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');

    expect(await value(r, 'smartqueue_runs_started_total')).toBe(1);
    expect(await value(r, 'smartqueue_runs_finished_total', { status: 'succeeded' })).toBe(1);
    expect(await value(r, 'smartqueue_tasks_submitted_total', { priority_class: 'high' })).toBe(2);
    expect(await value(r, 'smartqueue_tasks_submitted_total', { priority_class: 'low' })).toBe(1);
    // b ran twice: 4 attempts, 3 of them in the high class.
    expect(await value(r, 'smartqueue_task_attempts_dispatched_total', { priority_class: 'high' })).toBe(3);
    expect(await value(r, 'smartqueue_task_attempts_dispatched_total', { priority_class: 'low' })).toBe(1);
    expect(await value(r, 'smartqueue_task_attempts_succeeded_total', { handler: 'ok' })).toBe(1);
    expect(await value(r, 'smartqueue_task_attempts_succeeded_total', { handler: 'flaky' })).toBe(1);
    // The argv never becomes a label: `run` tasks are labelled by their kind.
    expect(await value(r, 'smartqueue_task_attempts_succeeded_total', { handler: 'run' })).toBe(1);
    expect(
      await value(r, 'smartqueue_task_attempts_failed_total', { handler: 'flaky', will_retry: 'true' }),
    ).toBe(1);
    expect(await value(r, 'smartqueue_task_retries_total', { handler: 'flaky' })).toBe(1);
    expect(
      await value(r, 'smartqueue_task_attempts_finished_total', { handler: 'flaky', outcome: 'failed' }),
    ).toBe(1);
    expect(
      await value(r, 'smartqueue_task_attempts_finished_total', { handler: 'flaky', outcome: 'succeeded' }),
    ).toBe(1);
    expect(await count(r, 'smartqueue_task_run_seconds')).toBe(4);
    expect(await count(r, 'smartqueue_task_run_seconds', { handler: 'flaky', outcome: 'failed' })).toBe(1);
    expect(await count(r, 'smartqueue_task_queue_wait_seconds')).toBe(4);
    expect(await count(r, 'smartqueue_task_end_to_end_seconds', { priority_class: 'high' })).toBe(2);
    expect(await count(r, 'smartqueue_task_end_to_end_seconds', { priority_class: 'low' })).toBe(1);
    // No deadline anywhere: no slack to report, nothing missed.
    expect(await count(r, 'smartqueue_task_slack_at_dispatch_seconds')).toBe(0);
    expect(await value(r, 'smartqueue_runs_active')).toBe(0);
    expect(await value(r, 'smartqueue_frontier_tasks')).toBe(0);
    const text = await metrics.text();
    expect(text).not.toContain(runId);
    expect(text).toMatch(/^smartqueue_tasks_ready\{shard="0"\} 0$/m);
  });

  it('reports slack (negative when late), deadline misses with lateness, timeouts and run deadline misses', async () => {
    const h = await createHarness({
      handlers: {
        slow: () => new Promise((resolve) => setTimeout(() => resolve({}), 150)),
        ok: async () => ({}),
        hang: (ctx) =>
          new Promise((_resolve, reject) =>
            ctx.signal.addEventListener('abort', () => reject(new Error('stop'))),
          ),
      },
    });
    metrics = createSchedulerMetrics({
      engineEvents: h.engine.events,
      engine: h.engine,
      registry: newMetricsRegistry(),
    });
    const r = metrics.registry;
    // `late` can only start after `first` (150 ms), long after its latest start (60 - 5 ms).
    const runId = await h.engine.startRun(
      plan({
        deadline: '100ms',
        failurePolicy: 'continue',
        tasks: [
          { id: 'first', uses: 'slow', estimate: '5ms' },
          { id: 'late', uses: 'ok', estimate: '5ms', deadline: '60ms', needs: ['first'] },
          { id: 'stuck', uses: 'hang', estimate: '5ms', timeout: '20ms' },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('failed');
    expect(await value(r, 'smartqueue_task_deadline_misses_total', { priority_class: 'medium' })).toBe(1);
    expect(await count(r, 'smartqueue_task_lateness_seconds', { priority_class: 'medium' })).toBe(1);
    const slack = await r.getSingleMetric('smartqueue_task_slack_at_dispatch_seconds')!.get();
    const bucket = (le: number) =>
      slack.values.find(
        (v) => (v as { metricName?: string }).metricName?.endsWith('_bucket') && v.labels.le === le,
      )?.value;
    expect(await count(r, 'smartqueue_task_slack_at_dispatch_seconds')).toBe(3);
    expect(bucket(-1)).toBe(0);
    expect(bucket(0)).toBe(1); // only `late` had negative slack
    expect(
      await value(r, 'smartqueue_task_attempts_finished_total', { handler: 'hang', outcome: 'timed_out' }),
    ).toBe(1);
    expect(await value(r, 'smartqueue_run_deadline_misses_total')).toBe(1);
    expect(await value(r, 'smartqueue_runs_finished_total', { status: 'failed' })).toBe(1);
  });

  it('counts tasks added to an open run, and their end-to-end time from when they were added', async () => {
    const h = await createHarness({ handlers: { ok: async () => ({}) } });
    metrics = createSchedulerMetrics({
      engineEvents: h.engine.events,
      engine: h.engine,
      registry: newMetricsRegistry(),
    });
    const r = metrics.registry;
    const runId = await h.engine.startRun(plan({ tasks: [{ id: 'a', uses: 'ok' }] }), { keepOpen: true });
    await h.engine.addTasks(runId, [
      taskIr('b', 'ok', { priority: 90 }),
      taskIr('c', 'ok', { needs: ['b'] }),
    ]);
    await h.engine.closeRun(runId);
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(await value(r, 'smartqueue_tasks_submitted_total', { priority_class: 'medium' })).toBe(2);
    expect(await value(r, 'smartqueue_tasks_submitted_total', { priority_class: 'high' })).toBe(1);
    expect(await count(r, 'smartqueue_task_end_to_end_seconds')).toBe(3);
    expect(await value(r, 'smartqueue_runs_started_total')).toBe(1);
  });

  it('ends an attempt as lost or cancelled, timed from its dispatch, and forgets finished runs', async () => {
    const events = new EngineEventBus();
    metrics = createSchedulerMetrics({ engineEvents: events, registry: newMetricsRegistry() });
    const r = metrics.registry;
    const labels = { priorityClass: 'low', handler: 'sleep' };
    const ref = { runId: 'r1', taskId: 't' };
    events.emit('task:attempt:dispatched', {
      ...ref,
      ...labels,
      at: 1000,
      attempt: 1,
      workerId: 'w',
      shard: 2,
      slackMs: -1500,
      readyAt: 400,
    });
    events.emit('task:attempt:lost', {
      ...ref,
      ...labels,
      at: 3000,
      attempt: 1,
      workerId: 'w',
      reason: 'gone',
    });
    events.emit('task:attempt:dispatched', {
      ...ref,
      ...labels,
      at: 4000,
      attempt: 2,
      workerId: 'v',
      shard: 2,
      slackMs: Infinity,
    });
    events.emit('task:state:cancelled', { ...ref, at: 4500, reason: 'run cancelled' });
    // A cancelled task that was never dispatched ends no attempt.
    events.emit('task:state:cancelled', { runId: 'r1', taskId: 'other', at: 4500, reason: 'run cancelled' });
    expect(
      await value(r, 'smartqueue_task_attempts_finished_total', { handler: 'sleep', outcome: 'lost' }),
    ).toBe(1);
    expect(
      await value(r, 'smartqueue_task_attempts_finished_total', { handler: 'sleep', outcome: 'cancelled' }),
    ).toBe(1);
    const run = await r.getSingleMetric('smartqueue_task_run_seconds')!.get();
    const sum = (outcome: string) =>
      run.values.find(
        (v) => (v as { metricName?: string }).metricName?.endsWith('_sum') && v.labels.outcome === outcome,
      )?.value;
    expect(sum('lost')).toBe(2);
    expect(sum('cancelled')).toBe(0.5);
    expect(await count(r, 'smartqueue_task_queue_wait_seconds', { priority_class: 'low' })).toBe(1);
    // Infinite slack (no deadline) is not observed; -1.5 s is.
    expect(await count(r, 'smartqueue_task_slack_at_dispatch_seconds', { priority_class: 'low' })).toBe(1);
  });

  it('stops counting after close()', async () => {
    const events = new EngineEventBus();
    metrics = createSchedulerMetrics({ engineEvents: events, registry: newMetricsRegistry() });
    events.emit('scheduler:dispatch:blocked', { at: 1, ready: 3 });
    metrics.close();
    events.emit('scheduler:dispatch:blocked', { at: 2, ready: 3 });
    expect(await value(metrics.registry, 'smartqueue_dispatch_backpressure_total')).toBe(1);
  });
});
