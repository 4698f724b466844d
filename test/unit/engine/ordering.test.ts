/**
 * The engine's ordering policies (EngineOptions.ordering): deadline-aware LST (the default),
 * priority-only and FIFO order the same fixed set of waiting tasks differently, each as documented.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PRIORITY_VALUES } from '../../../dsl/ir.js';
import type { TaskIR } from '../../../dsl/ir.js';
import { resolveEngineOptions } from '../../../engine/options.js';
import type { EngineOptions } from '../../../engine/options.js';
import { ORDERING_POLICIES, orderingKey, orderingTie, urgencyKey } from '../../../engine/priority.js';
import type { OrderingPolicy } from '../../../engine/priority.js';
import type { TaskHandler } from '../../../engine/handler.js';
import {
  closeAllHarnesses,
  createHarness,
  dispatchOrder,
  eventually,
  finish,
  gate,
  plan,
  taskIr,
} from './harness.js';

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
});

const now = 1_700_000_000_000;

describe('orderingKey / orderingTie', () => {
  it('is urgencyKey under lst, with priority as the tie', () => {
    expect(orderingKey('lst', now + 10_000, 1_000, 50, now)).toBe(urgencyKey(now + 10_000, 1_000, 50, now));
    expect(orderingKey('lst', Infinity, 10, 90, now)).toBe(urgencyKey(Infinity, 10, 90, now));
    expect(orderingTie('lst', 80)).toBeLessThan(orderingTie('lst', 20));
  });

  it('is the negated priority under priority, whatever the deadline, estimate and readiness', () => {
    expect(orderingKey('priority', now + 1, 5, 90, now)).toBe(-90);
    expect(orderingKey('priority', Infinity, 5_000, 90, now + 99_999)).toBe(-90);
    expect(orderingKey('priority', now + 1, 5, 10, now)).toBeGreaterThan(
      orderingKey('priority', Infinity, 5, 11, now),
    );
    // Equal priorities fall through to arrival order.
    expect(orderingTie('priority', 10)).toBe(orderingTie('priority', 90));
  });

  it('is constant under fifo, so only arrival order decides', () => {
    const keys = [
      orderingKey('fifo', now + 1, 5, 90, now),
      orderingKey('fifo', Infinity, 1, 0, now + 50_000),
      orderingKey('fifo', now - 10_000, 0, 100, now - 10),
    ];
    expect(new Set(keys).size).toBe(1);
    expect(orderingTie('fifo', 100)).toBe(orderingTie('fifo', 0));
  });
});

describe('EngineOptions.ordering', () => {
  const stages = { store: {}, transport: {}, balancer: {}, coordinator: {} } as unknown as EngineOptions;

  it("defaults to 'lst' and accepts every policy", () => {
    expect(resolveEngineOptions(stages).ordering).toBe('lst');
    for (const ordering of ORDERING_POLICIES)
      expect(resolveEngineOptions({ ...stages, ordering }).ordering).toBe(ordering);
  });

  it('rejects an unknown policy with INVALID_OPTIONS naming the allowed ones', () => {
    expect(() => resolveEngineOptions({ ...stages, ordering: 'edf' as OrderingPolicy })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('lst, priority, fifo'),
      }),
    );
  });
});

/**
 * The fixed set, in arrival order. Chosen so the three policies disagree everywhere:
 * LST: tight deadline, then the 20 s deadline, then no-deadline tasks by aging horizon (high 1 min,
 * low 15 min), then the 1 h deadline; priority: high (arrival order), medium, low (arrival order);
 * FIFO: arrival order.
 */
const waiting: TaskIR[] = [
  taskIr('a-loose-high', 'work', {
    priority: PRIORITY_VALUES.high,
    estimateMs: 100,
    deadline: { kind: 'relative', ms: 3_600_000 },
  }),
  taskIr('b-none-low', 'work', { priority: PRIORITY_VALUES.low, estimateMs: 100 }),
  taskIr('c-tight-low', 'work', {
    priority: PRIORITY_VALUES.low,
    estimateMs: 100,
    deadline: { kind: 'relative', ms: 5_000 },
  }),
  taskIr('d-none-high', 'work', { priority: PRIORITY_VALUES.high, estimateMs: 100 }),
  taskIr('e-soon-medium', 'work', {
    priority: PRIORITY_VALUES.medium,
    estimateMs: 100,
    deadline: { kind: 'relative', ms: 20_000 },
  }),
];

const expected: Record<OrderingPolicy, string[]> = {
  lst: ['c-tight-low', 'e-soon-medium', 'd-none-high', 'b-none-low', 'a-loose-high'],
  priority: ['a-loose-high', 'd-none-high', 'e-soon-medium', 'b-none-low', 'c-tight-low'],
  fifo: ['a-loose-high', 'b-none-low', 'c-tight-low', 'd-none-high', 'e-soon-medium'],
};

/**
 * Runs `tasks` behind a blocker on a one-slot worker; returns the dispatch order after it and the
 * tasks the engine reported as deferred late.
 */
async function behindBlocker(
  tasks: TaskIR[],
  engine: Partial<EngineOptions>,
): Promise<{ order: string[]; late: string[] }> {
  const g = gate();
  const handlers: Record<string, TaskHandler> = {
    hold: async () => {
      await g.promise;
      return {};
    },
    work: () => ({}),
  };
  const h = await createHarness({ capacity: 1, handlers, engine });
  const order = dispatchOrder(h.engine);
  const late: string[] = [];
  h.engine.events.on('task:state:late', (e) => late.push(e.taskId));
  const runId = await h.engine.startRun(plan({ tasks: [{ id: 'blocker', uses: 'hold', estimate: '10ms' }] }));
  await eventually(() => order.length === 1, 5000, 'the blocker to be dispatched');
  // Added one at a time so arrival order is the array's order; all wait behind the blocker.
  for (const t of tasks) await h.engine.addTask(runId, t);
  expect(h.engine.readyCount).toBe(tasks.length);
  g.open();
  expect(await finish(h.engine, runId)).toBe('succeeded');
  expect(order[0]).toBe('blocker');
  await h.close();
  return { order: order.slice(1), late };
}

async function orderUnder(ordering: OrderingPolicy | undefined): Promise<string[]> {
  return (await behindBlocker(waiting, ordering ? { ordering } : {})).order;
}

describe('dispatch order of the same waiting tasks under each policy', () => {
  for (const policy of ORDERING_POLICIES) {
    it(`${policy}: ${expected[policy].join(' → ')}`, async () => {
      expect(await orderUnder(policy)).toEqual(expected[policy]);
    });
  }

  it('uses lst when no policy is given', async () => {
    expect(await orderUnder(undefined)).toEqual(expected.lst);
  });

  it('gives three different orders (the fixture can tell the policies apart)', () => {
    expect(new Set(Object.values(expected).map((o) => o.join())).size).toBe(3);
  });
});

describe('EngineOptions.lateTasks (lst ordering)', () => {
  const stages = { store: {}, transport: {}, balancer: {}, coordinator: {} } as unknown as EngineOptions;

  it("defaults to 'defer' and rejects an unknown value", () => {
    expect(resolveEngineOptions(stages).lateTasks).toBe('defer');
    expect(resolveEngineOptions({ ...stages, lateTasks: 'keep' }).lateTasks).toBe('keep');
    expect(() => resolveEngineOptions({ ...stages, lateTasks: 'drop' as 'keep' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('defer, keep') }),
    );
  });

  /**
   * Behind a blocker: a task whose deadline (50 ms) is shorter than its estimate (10 s) can no
   * longer meet it; one under a 60 s deadline can; one without a deadline ages with a zero
   * horizon, so its virtual deadline has passed too, yet it must not be deferred.
   */
  const lateSet: TaskIR[] = [
    taskIr('hopeless', 'work', { estimateMs: 10_000, deadline: { kind: 'relative', ms: 50 } }),
    taskIr('on-time', 'work', { estimateMs: 100, deadline: { kind: 'relative', ms: 60_000 } }),
    taskIr('aging', 'work', { estimateMs: 100 }),
  ];

  const lateOrder = (lateTasks: 'defer' | 'keep' | undefined) => {
    const aging = { high: 0, medium: 0, low: 0 };
    return behindBlocker(lateSet, lateTasks ? { aging, lateTasks } : { aging });
  };

  it('defer (the default): the task that cannot meet its deadline runs after the others', async () => {
    for (const policy of ['defer', undefined] as const) {
      const { order, late } = await lateOrder(policy);
      expect(order).toEqual(['aging', 'on-time', 'hopeless']);
      expect(late).toEqual(['hopeless']);
    }
  });

  it('keep: pure least laxity, the most overdue first', async () => {
    const { order, late } = await lateOrder('keep');
    expect(order).toEqual(['hopeless', 'aging', 'on-time']);
    expect(late).toEqual([]);
  });
});
