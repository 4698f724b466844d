import { describe, expect, it } from 'vitest';

import { createMemoryCheckpointStore } from '../../../../../../plugins/checkpoint/memory/memory-store.js';
import {
  attemptsOf,
  historySeries,
  seriesFromStore,
} from '../../../../../../plugins/predictor/onnx/model/history.js';

const T0 = Date.UTC(2024, 0, 1);
const s = 1000;

describe('history from the checkpoint store', () => {
  it('turns dispatch and completion events into busy workers, dispatches, completions, pending and durations', async () => {
    const store = createMemoryCheckpointStore();
    await store.createRun(
      {
        runId: 'r1',
        workflowName: 'w',
        workflow: {},
        params: {},
        status: 'running',
        shardKey: 'r1',
        createdAt: T0,
      },
      ['a', 'b'],
    );
    store.record(
      {
        runId: 'r1',
        type: 'task:attempt:dispatched',
        at: T0 + 30 * s,
        taskId: 'a',
        attempt: 1,
        data: { workerId: 'w1' },
      },
      { runId: 'r1', taskId: 'a', attempt: 1, status: 'running' },
    );
    store.record(
      {
        runId: 'r1',
        type: 'task:attempt:dispatched',
        at: T0 + 70 * s,
        taskId: 'b',
        attempt: 1,
        data: { workerId: 'w1' },
      },
      { runId: 'r1', taskId: 'b', attempt: 1, status: 'running' },
    );
    expect(
      await store.completeTask({
        runId: 'r1',
        taskId: 'a',
        attempt: 1,
        workerId: 'w1',
        outputs: {},
        startedAt: T0 + 30 * s,
        finishedAt: T0 + 90 * s,
      }),
    ).toBe(true);
    store.record({
      runId: 'r1',
      type: 'task:attempt:failed',
      at: T0 + 100 * s,
      taskId: 'b',
      attempt: 1,
      data: { error: 'x' },
    });
    await store.flush();

    const series = await seriesFromStore(store, { stepSeconds: 60 });
    await store.close();
    expect(series.start).toBe(T0);
    // a busy 30-90 s, b busy 70-100 s: step 0 holds 30 s of a, step 1 30 s of a and 30 s of b.
    expect(series.values).toEqual([0.5, 1]);
    expect(series.extra).toEqual({
      dispatched: [1, 1],
      completed: [0, 1],
      pending: [1, 0],
      mean_duration_ms: [0, 60_000],
    });
  });

  it('keeps the last mean duration through steps without completions, and counts in-flight attempts to the end', () => {
    const series = historySeries(
      [
        {
          createdAt: T0,
          tasks: 2,
          firstStarts: [T0, T0 + 150 * s],
          attempts: [
            { start: T0, end: T0 + 20 * s, succeeded: true },
            { start: T0 + 150 * s, succeeded: false },
          ],
        },
      ],
      60,
    );
    expect(series.extra?.mean_duration_ms).toEqual([20_000, 20_000, 20_000]);
    expect(series.values[2]).toBeCloseTo(0.5, 12);
  });

  it('matches an attempt ended by a completion without a dispatch event to its startedAt', () => {
    const attempts = attemptsOf([
      {
        runId: 'r',
        type: 'task:attempt:succeeded',
        at: 50,
        taskId: 't',
        attempt: 1,
        data: { startedAt: 10 },
      },
    ]);
    expect(attempts).toEqual([{ start: 10, end: 50, succeeded: true }]);
  });

  it('says so when the store has no runs', async () => {
    const store = createMemoryCheckpointStore();
    await expect(seriesFromStore(store)).rejects.toThrow(/no runs/);
    await store.close();
  });
});
