/**
 * Worker loss: the heartbeat monitor declares a silent worker dead after 3 missed heartbeats,
 * and the engine re-dispatches that worker's attempts; a late result from one is discarded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HeartbeatMonitor } from '../../../engine/heartbeats.js';
import {
  closeAllHarnesses,
  createHarness,
  eventually,
  finish,
  gate,
  plan,
  record,
  successesInStore,
  tasksById,
} from './harness.js';

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
});

describe('HeartbeatMonitor', () => {
  it('declares a worker dead once, after it misses 3 heartbeats in a row', () => {
    let now = 0;
    const dead: [string, number][] = [];
    const m = new HeartbeatMonitor({
      intervalMs: 1000,
      onDead: (id, silent) => dead.push([id, silent]),
      now: () => now,
    });
    m.beat('a');
    m.beat('b');
    now = 2500;
    m.beat('b');
    expect(m.check()).toEqual([]);
    now = 3001; // a: silent 3001 ms > 3 intervals
    expect(m.check()).toEqual(['a']);
    expect(dead).toEqual([['a', 3001]]);
    now = 9_900;
    expect(m.check()).toEqual([]); // the first check after a long gap only notes the time
    now = 10_000;
    expect(m.check()).toEqual(['b']);
    expect(m.check()).toEqual([]);
    expect(m.size).toBe(0);
  });

  it('forgets a worker that left, and refuses nonsense options', () => {
    let now = 0;
    const dead: string[] = [];
    const m = new HeartbeatMonitor({
      intervalMs: 10,
      missedLimit: 2,
      onDead: (id) => dead.push(id),
      now: () => now,
    });
    m.beat('a');
    m.forget('a');
    now = 1000;
    m.check();
    expect(dead).toEqual([]);
    expect(() => new HeartbeatMonitor({ intervalMs: 0, onDead: () => {} })).toThrow(/intervalMs/);
    expect(() => new HeartbeatMonitor({ missedLimit: 0.5, onDead: () => {} })).toThrow(/missedLimit/);
  });
});

describe('Engine.workerLost', () => {
  it("re-dispatches the lost worker's attempts elsewhere and discards their late results", async () => {
    const hung = gate();
    const ranOn: string[] = [];
    const h = await createHarness({
      workers: 2,
      capacity: 1,
      handlers: {
        job: async (ctx) => {
          // The first attempt hangs (its worker "dies"); the second finishes.
          ranOn.push(`${ctx.attempt}`);
          if (ctx.attempt === 1) await hung.promise;
          return { attempt: ctx.attempt };
        },
      },
    });
    const lost = record(h.engine, 'task:attempt:lost');
    const discarded = record(h.engine, 'task:result:discarded');
    const dispatched = record(h.engine, 'task:attempt:dispatched');
    const runId = await h.engine.startRun(
      plan({ tasks: [{ id: 't', uses: 'job', estimate: '1ms', retries: 0 }] }),
    );
    await eventually(() => dispatched.length === 1);
    const deadWorker = dispatched[0]!.workerId;
    h.balancer.leave(deadWorker);
    const requeued = h.engine.workerLost(deadWorker, 'missed 3 heartbeats');
    expect(requeued).toEqual([{ runId, taskId: 't', attempt: 1 }]);
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(dispatched[1]!.workerId).not.toBe(deadWorker);
    expect(lost).toEqual([
      expect.objectContaining({
        taskId: 't',
        attempt: 1,
        workerId: deadWorker,
        reason: 'missed 3 heartbeats',
      }),
    ]);
    // The dead worker's attempt finishes late: its result must not count.
    hung.open();
    await eventually(() => discarded.length === 1);
    expect(discarded[0]).toMatchObject({ taskId: 't', attempt: 1 });
    const tasks = await tasksById(h.store, runId);
    expect(tasks.get('t')).toMatchObject({ status: 'succeeded', attempt: 2, outputs: { attempt: 2 } });
    expect(await successesInStore(h.store, runId)).toEqual(new Map([['t', 1]]));
    expect(ranOn).toEqual(['1', '2']);
  });

  it('does nothing for a worker with nothing in flight', async () => {
    const h = await createHarness({ handlers: {} });
    expect(h.engine.workerLost('nobody')).toEqual([]);
  });
});

describe('HeartbeatMonitor after a stall of its own process', () => {
  it('does not declare workers dead on the first check after the event loop was blocked', () => {
    let now = 0;
    const dead: string[] = [];
    const m = new HeartbeatMonitor({ intervalMs: 100, onDead: (id) => dead.push(id), now: () => now });
    m.beat('a');
    expect(m.check()).toEqual([]);
    now = 5000; // the process itself was stuck; a's heartbeats may sit unread in a socket
    expect(m.check()).toEqual([]);
    m.beat('a'); // they are read now
    now = 5050;
    expect(m.check()).toEqual([]);
    now = 5400; // truly silent since 5000
    expect(m.check()).toEqual([]); // (> an interval since the last check: a stall again)
    now = 5450;
    expect(m.check()).toEqual(['a']);
    expect(dead).toEqual(['a']);
  });
});

describe('Engine dispatch failures', () => {
  it("put the attempt back without spending the task's retries", async () => {
    const h = await createHarness({ handlers: { job: () => ({ ok: true }) } });
    // The transport refuses the first delivery (the worker vanished between pick and send).
    const original = h.transport.dispatch.bind(h.transport);
    let refused = 0;
    h.transport.dispatch = (a) => (refused++ === 0 ? Promise.reject(new Error('gone')) : original(a));
    const lost = record(h.engine, 'task:attempt:lost');
    const runId = await h.engine.startRun(
      plan({ tasks: [{ id: 't', uses: 'job', estimate: '1ms', retries: 0 }] }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(lost).toEqual([
      expect.objectContaining({ taskId: 't', attempt: 1, reason: 'dispatch failed: gone' }),
    ]);
    expect((await tasksById(h.store, runId)).get('t')).toMatchObject({ status: 'succeeded', attempt: 2 });
  });
});
