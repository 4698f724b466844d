/**
 * Engine.addTasks (all-or-none batches whose tasks may need each other) and
 * Engine.recordProgress (handler progress of the current attempt only).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SmartQueueError } from '../../../engine/errors.js';
import type { TaskHandler } from '../../../engine/handler.js';
import {
  closeAllHarnesses,
  createHarness,
  eventually,
  gate,
  plan,
  record,
  taskIr,
  untilAborted,
} from './harness.js';

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
});

const noop: TaskHandler = () => ({});
const open = () => plan({ tasks: [{ id: 'root', uses: 'noop' }] });

describe('Engine.addTasks', () => {
  it('adds a chain in one store write, and runs it in order', async () => {
    const h = await createHarness({ handlers: { noop } });
    const runId = await h.engine.startRun(open(), { keepOpen: true });
    const writes: number[] = [];
    const addTasks = h.store.addTasks.bind(h.store);
    h.store.addTasks = (id, tasks) => {
      writes.push(tasks.length);
      return addTasks(id, tasks);
    };
    const order = record(h.engine, 'task:attempt:succeeded');
    await h.engine.addTasks(runId, [
      taskIr('a', 'noop', { needs: ['root'] }),
      taskIr('b', 'noop', { needs: ['a'] }),
      taskIr('c', 'noop', { needs: ['a', 'b'] }),
    ]);
    expect(writes).toEqual([3]);
    await eventually(() => order.length === 4);
    expect(order.map((e) => e.taskId)).toEqual(['root', 'a', 'b', 'c']);
    await h.engine.closeRun(runId);
    expect(await h.engine.waitForRun(runId)).toBe('succeeded');
  });

  it('refuses the whole batch for one bad member, naming it, and leaves the run as it was', async () => {
    const h = await createHarness({ handlers: { noop } });
    const runId = await h.engine.startRun(open(), { keepOpen: true });
    const before = h.engine.activeRuns().get(runId)!.tasks.size;
    const attempts: [string, string][] = [
      ['ghost', 'NOT_FOUND'],
      ['root', 'ALREADY_EXISTS'],
    ];
    for (const [need, code] of attempts) {
      const batch =
        code === 'NOT_FOUND'
          ? [taskIr('x', 'noop'), taskIr('y', 'noop', { needs: ['x', need] })]
          : [taskIr('x', 'noop'), taskIr(need, 'noop')];
      const err = (await h.engine.addTasks(runId, batch).catch((e: unknown) => e)) as SmartQueueError;
      expect(err.code).toBe(code);
      expect(err.message).toContain('(tasks[1])');
      expect(err.details).toMatchObject({ index: 1 });
      const run = h.engine.activeRuns().get(runId)!;
      expect(run.tasks.size).toBe(before);
      expect(run.ir.tasks.map((t) => t.id)).toEqual(['root']);
      expect(run.tasks.get('root')!.dependants).toEqual([]);
    }
    expect((await h.store.getTasks(runId)).map((t) => t.taskId)).toEqual(['root']);
    await h.engine.closeRun(runId);
    expect(await h.engine.waitForRun(runId)).toBe('succeeded');
  });
});

describe('Engine.recordProgress', () => {
  it("records the current attempt's reports from its worker, and drops stale or foreign ones", async () => {
    const g = gate();
    const slow: TaskHandler = async (ctx) => {
      ctx.progress(0.5, 'half');
      await untilAborted(ctx.signal, g);
      return {};
    };
    const h = await createHarness({ handlers: { slow } });
    const seen = record(h.engine, 'task:attempt:progress');
    const runId = await h.engine.startRun(plan({ tasks: [{ id: 't', uses: 'slow' }] }));
    await eventually(() => seen.length === 1);
    expect(seen[0]).toMatchObject({
      runId,
      taskId: 't',
      attempt: 1,
      workerId: 'w1',
      fraction: 0.5,
      message: 'half',
    });
    const later = Date.now() + 1000;
    while (
      Date.now() < later &&
      !h.engine.recordProgress({ runId, taskId: 't', attempt: 1, workerId: 'w1', fraction: 2 })
    )
      await new Promise((r) => setTimeout(r, 20));
    expect(seen.at(-1)).toMatchObject({ fraction: 1 }); // clamped
    expect(h.engine.recordProgress({ runId, taskId: 't', attempt: 2, workerId: 'w1', fraction: 0.1 })).toBe(
      false,
    );
    expect(
      h.engine.recordProgress({ runId, taskId: 't', attempt: 1, workerId: 'other', fraction: 0.1 }),
    ).toBe(false);
    expect(h.engine.recordProgress({ runId: 'nope', taskId: 't', attempt: 1, workerId: 'w1' })).toBe(false);
    g.open();
    await h.engine.waitForRun(runId);
    expect(h.engine.recordProgress({ runId, taskId: 't', attempt: 1, workerId: 'w1', fraction: 0.9 })).toBe(
      false,
    );
    const logged = (await h.store.getEvents(runId)).filter((e) => e.type === 'task:attempt:progress');
    expect(logged.map((e) => e.data)).toEqual([
      { workerId: 'w1', fraction: 0.5, message: 'half' },
      { workerId: 'w1', fraction: 1 },
    ]);
  });
});
