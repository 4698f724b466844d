/**
 * Deadlines in absolute time: LFT/LST of a run's tasks, re-keying when a dynamic dependant
 * tightens them, and missed run and task deadlines.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskHandler } from '../../../engine/handler.js';
import {
  closeAllHarnesses,
  createHarness,
  dispatchOrder,
  eventually,
  finish,
  gate,
  plan,
  record,
  sleep,
  taskIr,
  tasksById,
} from './harness.js';

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
});

describe('latest finish times of a run (absolute epoch ms)', () => {
  it("takes the tightest of own deadline, run deadline and dependants' latest start", async () => {
    const g = gate();
    const handlers: Record<string, TaskHandler> = { hold: () => g.promise.then(() => ({})) };
    const h = await createHarness({ capacity: 8, handlers });
    const dispatched = record(h.engine, 'task:attempt:dispatched');
    const p = plan({
      deadline: '10s',
      tasks: [
        { id: 'a', uses: 'hold', estimate: '1s', deadline: '5s' },
        // Tighter than the run deadline; its LST (4s - 2s) bounds a.
        { id: 'b', uses: 'hold', needs: ['a'], estimate: '2s', deadline: '4s' },
        { id: 'c', uses: 'hold', needs: ['a'], estimate: '1s' },
        { id: 'd', uses: 'hold', estimate: '500ms' },
      ],
    });
    const before = Date.now();
    const runId = await h.engine.startRun(p);
    const run = h.engine.activeRuns().get(runId)!;
    const start = run.startedAt;
    expect(start).toBeGreaterThanOrEqual(before);
    expect(run.deadlineAt).toBe(start + 10_000);
    const lft = (id: string) => run.tasks.get(id)!.lftAt;
    expect(lft('b')).toBe(start + 4_000);
    expect(lft('c')).toBe(start + 10_000);
    expect(lft('a')).toBe(start + 2_000);
    expect(lft('d')).toBe(start + 10_000);
    expect(run.tasks.get('a')!.deadlineAt).toBe(start + 5_000);

    // The dispatched event reports the slack left: LST - now.
    await eventually(() => dispatched.length === 2);
    const slackA = dispatched.find((e) => e.taskId === 'a')!.slackMs;
    expect(slackA).toBeLessThanOrEqual(1_000);
    expect(slackA).toBeGreaterThan(0);
    const slackD = dispatched.find((e) => e.taskId === 'd')!.slackMs;
    expect(slackD).toBeLessThanOrEqual(9_500);
    expect(slackD).toBeGreaterThan(8_500);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });

  it('uses an absolute deadline as it is, and leaves tasks without any deadline at Infinity', async () => {
    const g = gate();
    const h = await createHarness({ handlers: { hold: () => g.promise.then(() => ({})) } });
    const atMs = Math.floor((Date.now() + 3_600_000) / 1000) * 1000;
    const p = plan({
      tasks: [
        { id: 'abs', uses: 'hold', estimate: '100ms', deadline: new Date(atMs).toISOString() },
        { id: 'free', uses: 'hold', estimate: '100ms' },
      ],
    });
    const runId = await h.engine.startRun(p);
    const run = h.engine.activeRuns().get(runId)!;
    expect(run.tasks.get('abs')!.lftAt).toBe(atMs);
    expect(run.tasks.get('free')!.lftAt).toBe(Infinity);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });
});

describe('addTask re-keying', () => {
  it('a new dependant with a tight deadline makes its waiting needs (transitively) more urgent', async () => {
    const g = gate();
    const handlers: Record<string, TaskHandler> = {
      hold: () => g.promise.then(() => ({})),
      work: () => ({}),
    };
    const h = await createHarness({ capacity: 1, handlers });
    const order = dispatchOrder(h.engine);
    const p = plan({
      tasks: [
        { id: 'blocker', uses: 'hold', deadline: '2s', estimate: '100ms' },
        { id: 'other', uses: 'work', deadline: '60s', estimate: '100ms' },
        { id: 'slow', uses: 'work', deadline: '1h', estimate: '100ms' },
        { id: 'mid', uses: 'work', needs: ['slow'], estimate: '100ms' },
      ],
    });
    const runId = await h.engine.startRun(p);
    await eventually(() => order.length === 1);
    expect(order).toEqual(['blocker']);
    const run = h.engine.activeRuns().get(runId)!;
    const start = run.startedAt;
    expect(run.tasks.get('slow')!.lftAt).toBe(start + 3_600_000);
    expect(run.tasks.get('mid')!.lftAt).toBe(Infinity);

    await h.engine.addTask(
      runId,
      taskIr('urgent', 'work', {
        needs: ['mid'],
        estimateMs: 100,
        deadline: { kind: 'relative', ms: 5_000 },
      }),
    );
    expect(run.tasks.get('urgent')!.lftAt).toBe(start + 5_000);
    expect(run.tasks.get('mid')!.lftAt).toBe(start + 4_900);
    expect(run.tasks.get('slow')!.lftAt).toBe(start + 4_800);
    // A looser new dependant changes nothing.
    await h.engine.addTask(
      runId,
      taskIr('lazy', 'work', {
        needs: ['slow'],
        estimateMs: 100,
        deadline: { kind: 'relative', ms: 600_000 },
      }),
    );
    expect(run.tasks.get('slow')!.lftAt).toBe(start + 4_800);

    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
    // Without re-keying, "other" (60 s) would have gone before "slow" (1 h).
    expect(order.slice(0, 4)).toEqual(['blocker', 'slow', 'mid', 'urgent']);
    expect(order.indexOf('other')).toBeGreaterThan(order.indexOf('urgent'));
  });

  it('a new task inherits the run deadline as its LFT', async () => {
    const g = gate();
    const h = await createHarness({ handlers: { hold: () => g.promise.then(() => ({})), work: () => ({}) } });
    const runId = await h.engine.startRun(
      plan({ deadline: '1m', tasks: [{ id: 'a', uses: 'hold', estimate: '10ms' }] }),
    );
    const run = h.engine.activeRuns().get(runId)!;
    await h.engine.addTask(runId, taskIr('late', 'work', { estimateMs: 10 }));
    await h.engine.addTask(
      runId,
      taskIr('own', 'work', { estimateMs: 10, deadline: { kind: 'relative', ms: 30_000 } }),
    );
    expect(run.tasks.get('late')!.lftAt).toBe(run.startedAt + 60_000);
    expect(run.tasks.get('own')!.lftAt).toBe(run.startedAt + 30_000);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });
});

describe('missed deadlines', () => {
  it('a run that outlives its deadline emits run:deadline:missed (while running) and records deadlineMissed', async () => {
    let handlerDone = false;
    const h = await createHarness({
      handlers: {
        slow: async () => {
          await sleep(300);
          handlerDone = true;
          return {};
        },
      },
    });
    const missed = record(h.engine, 'run:deadline:missed');
    const finished = record(h.engine, 'run:state:finished');
    let doneWhenMissed: boolean | undefined;
    h.engine.events.on('run:deadline:missed', () => (doneWhenMissed = handlerDone));
    const runId = await h.engine.startRun(
      plan({ deadline: '100ms', tasks: [{ id: 'slow', uses: 'slow', estimate: '10ms' }] }),
    );
    const run = h.engine.activeRuns().get(runId)!;
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(missed).toHaveLength(1);
    expect(missed[0]).toMatchObject({ runId, deadlineAt: run.deadlineAt });
    expect(missed[0]!.at).toBeGreaterThanOrEqual(run.deadlineAt!);
    expect(doneWhenMissed).toBe(false);
    expect(finished[0]).toMatchObject({ runId, deadlineMissed: true });
    const stored = await h.store.getRun(runId);
    expect(stored).toMatchObject({ status: 'succeeded', deadlineMissed: true, deadlineAt: run.deadlineAt });
    expect((await h.store.getEvents(runId)).some((e) => e.type === 'run:deadline:missed')).toBe(true);
  });

  it('a run that finishes in time misses nothing', async () => {
    const h = await createHarness({ handlers: { work: () => ({}) } });
    const missed = record(h.engine, 'run:deadline:missed');
    const taskMissed = record(h.engine, 'task:deadline:missed');
    const runId = await h.engine.startRun(
      plan({ deadline: '10s', tasks: [{ id: 'a', uses: 'work', estimate: '10ms', deadline: '5s' }] }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    await sleep(5);
    expect(missed).toEqual([]);
    expect(taskMissed).toEqual([]);
    expect((await h.store.getRun(runId))?.deadlineMissed).toBe(false);
    expect((await tasksById(h.store, runId)).get('a')?.deadlineMissed).toBe(false);
  });

  it('a task finishing after its own deadline emits task:deadline:missed and is recorded late', async () => {
    const h = await createHarness({
      handlers: { slow: () => sleep(150).then(() => ({})), work: () => ({}) },
    });
    const missed = record(h.engine, 'task:deadline:missed');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'late', uses: 'slow', estimate: '10ms', deadline: '50ms' },
          { id: 'on-time', uses: 'work', estimate: '10ms', deadline: '10s' },
        ],
      }),
    );
    const start = h.engine.activeRuns().get(runId)!.startedAt;
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(missed.map((e) => e.taskId)).toEqual(['late']);
    expect(missed[0]!.deadlineAt).toBe(start + 50);
    expect(missed[0]!.lateByMs).toBeGreaterThan(0);
    expect(missed[0]!.lateByMs).toBe(missed[0]!.at - missed[0]!.deadlineAt);
    const tasks = await tasksById(h.store, runId);
    expect(tasks.get('late')?.deadlineMissed).toBe(true);
    expect(tasks.get('on-time')?.deadlineMissed).toBe(false);
  });
});
