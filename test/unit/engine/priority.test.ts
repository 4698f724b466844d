/**
 * Deadline-aware priority (DESIGN.md): the urgency key (LST, with aging for tasks without a
 * deadline), and the order in which a busy engine dispatches what is waiting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PRIORITY_VALUES } from '../../../dsl/ir.js';
import { DEFAULT_AGING, priorityTie, urgencyKey } from '../../../engine/priority.js';
import { ShardRouter } from '../../../engine/router.js';
import type { TaskHandler } from '../../../engine/handler.js';
import {
  closeAllHarnesses,
  compileYaml,
  createHarness,
  dispatchOrder,
  eventually,
  finish,
  gate,
  plan,
  record,
  sleep,
  taskIr,
} from './harness.js';

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
});

describe('urgencyKey', () => {
  const now = 1_700_000_000_000;

  it('is the latest start time LFT - est when a deadline applies', () => {
    expect(urgencyKey(now + 10_000, 1_000, 50, now)).toBe(now + 9_000);
    // readyAt and priority do not move a task that has a deadline.
    expect(urgencyKey(now + 10_000, 1_000, 90, now + 5_000)).toBe(now + 9_000);
    expect(urgencyKey(now + 10_000, 0, 10, now - 5_000)).toBe(now + 10_000);
  });

  it('gives a task without deadline a virtual one: readyAt + the horizon of its priority class', () => {
    const est = 250;
    expect(urgencyKey(Infinity, est, PRIORITY_VALUES.high, now)).toBe(now + DEFAULT_AGING.high - est);
    expect(urgencyKey(Infinity, est, PRIORITY_VALUES.medium, now)).toBe(now + DEFAULT_AGING.medium - est);
    expect(urgencyKey(Infinity, est, PRIORITY_VALUES.low, now)).toBe(now + DEFAULT_AGING.low - est);
    // Class boundaries (0..33 low, 34..66 medium, 67..100 high).
    expect(urgencyKey(Infinity, 0, 67, now)).toBe(now + DEFAULT_AGING.high);
    expect(urgencyKey(Infinity, 0, 66, now)).toBe(now + DEFAULT_AGING.medium);
    expect(urgencyKey(Infinity, 0, 34, now)).toBe(now + DEFAULT_AGING.medium);
    expect(urgencyKey(Infinity, 0, 33, now)).toBe(now + DEFAULT_AGING.low);
    expect(Number.isFinite(urgencyKey(Infinity, 0, 0, now))).toBe(true);
  });

  it('uses the horizons it is given', () => {
    const aging = { high: 10, medium: 20, low: 30 };
    expect(urgencyKey(Infinity, 5, 90, now, aging)).toBe(now + 5);
    expect(urgencyKey(Infinity, 5, 50, now, aging)).toBe(now + 15);
    expect(urgencyKey(Infinity, 5, 10, now, aging)).toBe(now + 25);
  });

  it('ages: a low-priority task outranks high-priority work that became ready long enough after it', () => {
    const low = urgencyKey(Infinity, 100, PRIORITY_VALUES.low, now);
    const highSoonAfter = urgencyKey(Infinity, 100, PRIORITY_VALUES.high, now + 1_000);
    const gap = DEFAULT_AGING.low - DEFAULT_AGING.high;
    const highMuchLater = urgencyKey(Infinity, 100, PRIORITY_VALUES.high, now + gap + 1);
    expect(highSoonAfter).toBeLessThan(low);
    expect(low).toBeLessThan(highMuchLater);
  });

  it('lets a tight deadline beat any virtual deadline, and a far deadline lose to aging', () => {
    const tight = urgencyKey(now + 5_000, 100, PRIORITY_VALUES.low, now);
    const none = urgencyKey(Infinity, 100, PRIORITY_VALUES.high, now);
    const far = urgencyKey(now + 3_600_000, 100, PRIORITY_VALUES.high, now);
    expect(tight).toBeLessThan(none);
    expect(none).toBeLessThan(far);
  });

  it('breaks ties by priority, higher first', () => {
    expect(priorityTie(80)).toBeLessThan(priorityTie(50));
    expect(priorityTie(50)).toBeLessThan(priorityTie(20));
  });
});

/** `hold` waits for the gate; `work` returns at once. */
function blockerHandlers() {
  const g = gate();
  const handlers: Record<string, TaskHandler> = {
    hold: async () => {
      await g.promise;
      return { held: true };
    },
    work: () => ({ ok: true }),
  };
  return { g, handlers };
}

describe('dispatch order on a busy worker', () => {
  it('dispatches in LST order: tight deadline first, ties by priority then arrival, then aging, then loose', async () => {
    const { g, handlers } = blockerHandlers();
    const h = await createHarness({ capacity: 1, handlers });
    const order = dispatchOrder(h.engine);
    const blocked = record(h.engine, 'scheduler:dispatch:blocked');
    // File order is deliberately not the expected order.
    const p = compileYaml(`
apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: ordering
spec:
  tasks:
    - { id: loose, uses: work, deadline: 1h, estimate: 100ms }
    - { id: none, uses: work, estimate: 100ms, priority: medium }
    - { id: tie-low-a, uses: work, deadline: 30s, estimate: 100ms, priority: low }
    - { id: tie-high, uses: work, deadline: 30s, estimate: 100ms, priority: high }
    - { id: tie-low-b, uses: work, deadline: 30s, estimate: 100ms, priority: low }
    - { id: tight, uses: work, deadline: 10s, estimate: 100ms, priority: low }
    - { id: blocker, uses: hold, deadline: 2s, estimate: 100ms }
`);
    const runId = await h.engine.startRun(p);
    await eventually(() => order.length === 1, 5000, 'the blocker to be dispatched');
    expect(order).toEqual(['blocker']);
    // Everything else waits together behind the blocker.
    await eventually(() => blocked.length > 0, 5000, 'dispatch to block');
    expect(h.engine.readyCount).toBe(6);
    expect(blocked[0]!.ready).toBe(6);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(order).toEqual(['blocker', 'tight', 'tie-high', 'tie-low-a', 'tie-low-b', 'none', 'loose']);
  });

  it('re-orders tasks that became ready while the worker was busy by LST, not by arrival', async () => {
    const { g, handlers } = blockerHandlers();
    const h = await createHarness({ capacity: 1, handlers });
    const order = dispatchOrder(h.engine);
    const runId = await h.engine.startRun(
      plan({ tasks: [{ id: 'blocker', uses: 'hold', estimate: '10ms' }] }),
    );
    await eventually(() => order.length === 1);
    // Added one by one, most urgent last.
    await h.engine.addTask(runId, taskIr('late-none', 'work', { estimateMs: 10, priority: 20 }));
    await h.engine.addTask(
      runId,
      taskIr('late-far', 'work', { estimateMs: 10, deadline: { kind: 'relative', ms: 3_600_000 } }),
    );
    await h.engine.addTask(
      runId,
      taskIr('late-soon', 'work', { estimateMs: 10, deadline: { kind: 'relative', ms: 20_000 } }),
    );
    await h.engine.addTask(
      runId,
      taskIr('late-urgent', 'work', { estimateMs: 10, deadline: { kind: 'relative', ms: 5_000 } }),
    );
    expect(h.engine.readyCount).toBe(4);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
    // Low-priority "none" ages with the 15 min horizon: it still beats a 1 h deadline.
    expect(order).toEqual(['blocker', 'late-urgent', 'late-soon', 'late-none', 'late-far']);
  });

  /** Two run ids that the engine's router puts on different shards, the first on the lower one. */
  function idsOnShards(): { lower: string; higher: string } {
    const router = new ShardRouter(4);
    const byShard = new Map<number, string>();
    for (let i = 0; byShard.size < 2 && i < 1000; i++) {
      const id = `run-tie-${i}`;
      const s = router.shardFor(id);
      if (!byShard.has(s)) byShard.set(s, id);
    }
    const [a, b] = [...byShard.entries()].sort((x, y) => x[0] - y[0]);
    return { lower: a![1], higher: b![1] };
  }

  it('breaks exact LST ties by priority across runs on different shards', async () => {
    const { g, handlers } = blockerHandlers();
    const h = await createHarness({ capacity: 1, handlers });
    const order = dispatchOrder(h.engine);
    const blockerRun = await h.engine.startRun(
      plan({ tasks: [{ id: 'blocker', uses: 'hold', estimate: '10ms' }] }),
    );
    await eventually(() => order.length === 1);
    // Same absolute deadline and estimate: the keys are exactly equal.
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const { lower, higher } = idsOnShards();
    await h.engine.startRun(
      plan({ tasks: [{ id: 'low', uses: 'work', deadline: at, estimate: '100ms', priority: 'low' }] }),
      { runId: lower },
    );
    await h.engine.startRun(
      plan({ tasks: [{ id: 'high', uses: 'work', deadline: at, estimate: '100ms', priority: 'high' }] }),
      { runId: higher },
    );
    await eventually(() => h.engine.readyCount === 2);
    g.open();
    for (const id of [blockerRun, lower, higher]) expect(await finish(h.engine, id)).toBe('succeeded');
    expect(order).toEqual(['blocker', 'high', 'low']);
  });

  it('breaks exact LST and priority ties by arrival across runs on different shards', async () => {
    const { g, handlers } = blockerHandlers();
    const h = await createHarness({ capacity: 1, handlers });
    const order = dispatchOrder(h.engine);
    const blockerRun = await h.engine.startRun(
      plan({ tasks: [{ id: 'blocker', uses: 'hold', estimate: '10ms' }] }),
    );
    await eventually(() => order.length === 1);
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const { lower, higher } = idsOnShards();
    // The run on the higher shard arrives first.
    await h.engine.startRun(
      plan({ tasks: [{ id: 'first', uses: 'work', deadline: at, estimate: '100ms' }] }),
      { runId: higher },
    );
    await h.engine.startRun(
      plan({ tasks: [{ id: 'second', uses: 'work', deadline: at, estimate: '100ms' }] }),
      { runId: lower },
    );
    await eventually(() => h.engine.readyCount === 2);
    g.open();
    for (const id of [blockerRun, lower, higher]) expect(await finish(h.engine, id)).toBe('succeeded');
    expect(order).toEqual(['blocker', 'first', 'second']);
  });
});

describe('aging (no starvation)', () => {
  /**
   * One slot; a low-priority task waits while high-priority tasks keep arriving (one new one per
   * dispatch, so high-priority work is always queued). Returns the dispatch order and how much was
   * queued when the low-priority task went.
   */
  async function starvationScenario(
    aging: { high: number; medium: number; low: number } | undefined,
    arrivals: number,
  ) {
    const handlers: Record<string, TaskHandler> = { step: () => sleep(8).then(() => ({})) };
    const h = await createHarness({ capacity: 1, handlers, ...(aging && { engine: { aging } }) });
    const order = dispatchOrder(h.engine);
    const errors: unknown[] = [];
    let added = 0;
    let queuedWhenLowWent = -1;
    let runId = '';
    h.engine.events.on('task:attempt:dispatched', (e) => {
      if (e.taskId === 'lo') queuedWhenLowWent = h.engine.readyCount;
      if (e.taskId.startsWith('h') && added < arrivals) {
        added++;
        h.engine
          .addTask(runId, taskIr(`h-new-${added}`, 'step', { priority: 80, estimateMs: 1 }))
          .catch((err: unknown) => errors.push(err));
      }
    });
    const p = plan({
      tasks: [
        { id: 'h0', uses: 'step', priority: 'high', estimate: '1ms' },
        { id: 'lo', uses: 'step', priority: 'low', estimate: '1ms' },
        { id: 'h1', uses: 'step', priority: 'high', estimate: '1ms' },
      ],
    });
    runId = await h.engine.startRun(p);
    expect(await finish(h.engine, runId, 10_000)).toBe('succeeded');
    expect(errors).toEqual([]);
    return { order, queuedWhenLowWent };
  }

  it('dispatches a low-priority task enqueued early before high-priority tasks that keep arriving later', async () => {
    const arrivals = 40;
    const { order, queuedWhenLowWent } = await starvationScenario(
      { high: 20, medium: 100, low: 150 },
      arrivals,
    );
    expect(order).toHaveLength(arrivals + 3);
    const lo = order.indexOf('lo');
    // High priority goes first while the low task is young...
    expect(order[0]).toBe('h0');
    expect(lo).toBeGreaterThan(0);
    // ...but once it has waited out its horizon it overtakes queued high-priority work.
    expect(queuedWhenLowWent).toBeGreaterThan(0);
    expect(lo).toBeLessThan(30);
    expect(order.slice(lo + 1).filter((id) => id.startsWith('h')).length).toBeGreaterThanOrEqual(10);
  });

  it('with the default (long) horizons the same low-priority task waits behind all the high-priority work', async () => {
    const arrivals = 8;
    const { order } = await starvationScenario(undefined, arrivals);
    expect(order).toHaveLength(arrivals + 3);
    expect(order[order.length - 1]).toBe('lo');
  });
});
