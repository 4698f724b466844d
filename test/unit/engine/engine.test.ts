/**
 * The engine end to end on in-process stages: handler context, `when` conditions, dynamic DAGs,
 * back-pressure, and the errors of its API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { storedWorkflowTasks } from '../../../engine/engine.js';
import type { StoredWorkflow } from '../../../engine/engine.js';
import type { HandlerContext, TaskHandler } from '../../../engine/handler.js';
import type { CheckpointStore } from '../../../engine/stages.js';
import { createMemoryCheckpointStore } from '../../../plugins/checkpoint/memory/index.js';
import {
  closeAllHarnesses,
  createHarness,
  eventually,
  finish,
  gate,
  plan,
  record,
  sleep,
  successesInStore,
  taskIr,
  tasksById,
} from './harness.js';
import { rejectsWith } from '../../support/errors.js';

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
});

describe('a simple run', () => {
  it('runs a diamond in dependency order and records every task and the run', async () => {
    const ran: string[] = [];
    const h = await createHarness({
      handlers: {
        step: (ctx) => {
          ran.push(ctx.taskId);
          return { id: ctx.taskId };
        },
      },
    });
    const started = record(h.engine, 'run:state:started');
    const finished = record(h.engine, 'run:state:finished');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'a', uses: 'step', estimate: '1ms' },
          { id: 'b', uses: 'step', needs: ['a'], estimate: '1ms' },
          { id: 'c', uses: 'step', needs: ['a'], estimate: '1ms' },
          { id: 'd', uses: 'step', needs: ['b', 'c'], estimate: '1ms' },
        ],
      }),
    );
    expect(started).toEqual([expect.objectContaining({ runId, workflow: 'test-flow', tasks: 4 })]);
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(ran[0]).toBe('a');
    expect(ran[3]).toBe('d');
    expect(new Set(ran)).toEqual(new Set(['a', 'b', 'c', 'd']));
    expect(finished).toEqual([
      expect.objectContaining({ runId, status: 'succeeded', deadlineMissed: false }),
    ]);
    expect(h.engine.activeRuns().has(runId)).toBe(false);
    expect(await h.store.getRun(runId)).toMatchObject({ status: 'succeeded', workflowName: 'test-flow' });
    const tasks = await tasksById(h.store, runId);
    for (const id of ['a', 'b', 'c', 'd'])
      expect(tasks.get(id)).toMatchObject({ status: 'succeeded', attempt: 1, outputs: { id } });
    expect(await successesInStore(h.store, runId)).toEqual(
      new Map([
        ['a', 1],
        ['b', 1],
        ['c', 1],
        ['d', 1],
      ]),
    );
    // A finished run is still answered, from the store.
    expect(await h.engine.waitForRun(runId)).toBe('succeeded');
  });

  it('rejects a second active run with the same id, and unknown runs', async () => {
    const g = gate();
    const h = await createHarness({ handlers: { hold: () => g.promise.then(() => ({})) } });
    const p = plan({ tasks: [{ id: 'a', uses: 'hold', estimate: '1ms' }] });
    const runId = await h.engine.startRun(p, { runId: 'fixed-id' });
    expect(runId).toBe('fixed-id');
    await rejectsWith(h.engine.startRun(p, { runId: 'fixed-id' }), 'ALREADY_EXISTS');
    await rejectsWith(h.engine.waitForRun('no-such-run'), 'NOT_FOUND');
    await rejectsWith(h.engine.addTask('no-such-run', taskIr('x', 'hold')), 'NOT_FOUND');
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });

  it('refuses new work once closed', async () => {
    const h = await createHarness({ handlers: { work: () => ({}) } });
    await h.close();
    await rejectsWith(h.engine.startRun(plan({ tasks: [{ id: 'a', uses: 'work' }] })), 'UNAVAILABLE');
  });
});

describe('handler context', () => {
  it('gives a stable default idempotency key <runId>/<taskId> across attempts', async () => {
    const seen: { attempt: number; key: string }[] = [];
    const h = await createHarness({
      handlers: {
        flaky: (ctx: HandlerContext) => {
          seen.push({ attempt: ctx.attempt, key: ctx.idempotencyKey });
          if (ctx.attempt < 3) throw new Error('again');
          return {};
        },
      },
    });
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          {
            id: 'pay',
            uses: 'flaky',
            estimate: '1ms',
            retries: { max: 2, backoff: 'fixed', initial: '1ms' },
          },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(seen).toEqual([1, 2, 3].map((attempt) => ({ attempt, key: `${runId}/pay` })));
  });

  it('renders an idempotencyKey template once per task, the same on every attempt', async () => {
    const keys: string[] = [];
    const h = await createHarness({
      handlers: {
        flaky: (ctx: HandlerContext) => {
          keys.push(ctx.idempotencyKey);
          if (ctx.attempt === 1) throw new Error('again');
          return {};
        },
      },
    });
    const runId = await h.engine.startRun(
      plan({
        params: { orderId: { type: 'integer' } },
        tasks: [
          {
            id: 'charge',
            uses: 'flaky',
            estimate: '1ms',
            idempotencyKey: 'charge-${{ params.orderId }}-${{ run.id }}',
            retries: { max: 1, backoff: 'fixed', initial: '1ms' },
          },
        ],
      }),
      { params: { orderId: 42 } },
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(keys).toEqual([`charge-42-${runId}`, `charge-42-${runId}`]);
  });

  it("passes needs' outputs as inputs, the params, and `with` rendered from upstream outputs", async () => {
    const seen = new Map<string, HandlerContext>();
    const h = await createHarness({
      handlers: {
        extract: () => ({ rows: 3, table: 'sales' }),
        audit: () => ({ ok: true }),
        load: (ctx: HandlerContext) => {
          seen.set(ctx.taskId, ctx);
          return {};
        },
      },
    });
    const runId = await h.engine.startRun(
      plan({
        params: { region: { type: 'string', default: 'eu' }, limit: { type: 'integer', default: 5 } },
        tasks: [
          { id: 'extract', uses: 'extract', estimate: '1ms', outputs: ['rows', 'table'] },
          { id: 'audit', uses: 'audit', needs: ['extract'], estimate: '1ms' },
          {
            id: 'load',
            uses: 'load',
            needs: ['audit', 'extract'],
            estimate: '1ms',
            with: {
              rows: '${{ tasks.extract.outputs.rows }}',
              message:
                'loading ${{ tasks.extract.outputs.rows }} rows of ${{ tasks.extract.outputs.table }} in ${{ params.region }}',
              nested: { list: ['${{ params.limit }}', 'run ${{ run.id }}'] },
              ok: '${{ tasks.audit.status == "succeeded" }}',
              plain: 'no expression',
            },
          },
        ],
      }),
      { params: { region: 'us', limit: 9 } },
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    const ctx = seen.get('load')!;
    expect(ctx.inputs).toEqual({ audit: { ok: true }, extract: { rows: 3, table: 'sales' } });
    expect(ctx.params).toEqual({ region: 'us', limit: 9 });
    expect(ctx.args).toEqual({
      rows: 3,
      message: 'loading 3 rows of sales in us',
      nested: { list: [9, `run ${runId}`] },
      ok: true,
      plain: 'no expression',
    });
    expect(ctx.runId).toBe(runId);
    expect(ctx.taskId).toBe('load');
    expect(ctx.attempt).toBe(1);
  });

  it('gives inputs of only the direct needs', async () => {
    let inputs: Record<string, unknown> | undefined;
    const h = await createHarness({
      handlers: { out: (ctx) => ({ from: ctx.taskId }), last: (ctx) => void (inputs = ctx.inputs) },
    });
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'a', uses: 'out', estimate: '1ms' },
          { id: 'b', uses: 'out', needs: ['a'], estimate: '1ms' },
          { id: 'c', uses: 'last', needs: ['b'], estimate: '1ms' },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(inputs).toEqual({ b: { from: 'b' } });
  });
});

describe('when conditions', () => {
  function handlers(calls: string[]): Record<string, TaskHandler> {
    return {
      step: (ctx) => {
        calls.push(ctx.taskId);
        return { count: 0 };
      },
    };
  }

  it('skips a task whose condition is false, and dependants whose needs are all skipped', async () => {
    const calls: string[] = [];
    const h = await createHarness({ handlers: handlers(calls) });
    const skipped = record(h.engine, 'task:state:skipped');
    const runId = await h.engine.startRun(
      plan({
        params: { enabled: { type: 'boolean', default: true } },
        tasks: [
          { id: 'gated', uses: 'step', estimate: '1ms', when: '${{ params.enabled }}' },
          { id: 'always', uses: 'step', estimate: '1ms' },
          { id: 'only-gated', uses: 'step', needs: ['gated'], estimate: '1ms' },
          { id: 'after-only-gated', uses: 'step', needs: ['only-gated'], estimate: '1ms' },
          { id: 'mixed', uses: 'step', needs: ['gated', 'always'], estimate: '1ms' },
        ],
      }),
      { params: { enabled: false } },
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(new Set(calls)).toEqual(new Set(['always', 'mixed']));
    const reasons = new Map(skipped.map((e) => [e.taskId, e.reason]));
    expect(reasons.get('gated')).toContain('condition is false');
    expect(reasons.get('only-gated')).toBe('all needs skipped');
    expect(reasons.get('after-only-gated')).toBe('all needs skipped');
    expect(reasons.has('mixed')).toBe(false);
    const tasks = await tasksById(h.store, runId);
    expect(tasks.get('gated')?.status).toBe('skipped');
    expect(tasks.get('only-gated')?.status).toBe('skipped');
    expect(tasks.get('after-only-gated')?.status).toBe('skipped');
    expect(tasks.get('mixed')?.status).toBe('succeeded');
  });

  it('finishes a run whose every task is skipped as succeeded', async () => {
    const calls: string[] = [];
    const h = await createHarness({ handlers: handlers(calls) });
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'never', uses: 'step', estimate: '1ms', when: '${{ 1 == 2 }}' },
          { id: 'after', uses: 'step', needs: ['never'], estimate: '1ms' },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(calls).toEqual([]);
    expect((await h.store.getRun(runId))?.status).toBe('succeeded');
  });

  it('runs a task whose condition is true, and evaluates conditions on upstream outputs', async () => {
    const calls: string[] = [];
    const h = await createHarness({ handlers: handlers(calls) });
    const runId = await h.engine.startRun(
      plan({
        params: { enabled: { type: 'boolean', default: true } },
        tasks: [
          { id: 'gated', uses: 'step', estimate: '1ms', when: '${{ params.enabled }}', outputs: ['count'] },
          {
            id: 'if-some',
            uses: 'step',
            needs: ['gated'],
            estimate: '1ms',
            when: '${{ tasks.gated.outputs.count > 0 }}',
          },
          {
            id: 'if-none',
            uses: 'step',
            needs: ['gated'],
            estimate: '1ms',
            when: '${{ tasks.gated.outputs.count == 0 }}',
          },
        ],
      }),
      { params: { enabled: true } },
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(new Set(calls)).toEqual(new Set(['gated', 'if-none']));
    expect((await tasksById(h.store, runId)).get('if-some')?.status).toBe('skipped');
  });
});

describe('dynamic DAGs (addTask)', () => {
  it('runs an added task after its needs, with their outputs as inputs and in `with`', async () => {
    const g = gate();
    let ctxOfNew: HandlerContext | undefined;
    const h = await createHarness({
      handlers: {
        fast: () => ({ n: 1 }),
        slow: () => g.promise.then(() => ({ n: 2 })),
        added: (ctx: HandlerContext) => {
          ctxOfNew = ctx;
          return { sum: (ctx.args.a as number) + (ctx.args.b as number) };
        },
      },
    });
    const added = record(h.engine, 'task:state:added');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'a', uses: 'fast', estimate: '1ms' },
          { id: 'b', uses: 'slow', estimate: '1ms' },
        ],
      }),
    );
    await eventually(() => h.engine.activeRuns().get(runId)?.tasks.get('a')?.status === 'succeeded');
    await h.engine.addTask(
      runId,
      taskIr('sum', 'added', {
        needs: ['a', 'b'],
        with: { a: '${{ tasks.a.outputs.n }}', b: '${{ tasks.b.outputs.n }}' },
      }),
    );
    expect(added).toEqual([expect.objectContaining({ runId, taskId: 'sum' })]);
    expect(h.engine.activeRuns().get(runId)!.tasks.get('sum')!.status).toBe('pending');
    await sleep(10);
    expect(ctxOfNew).toBeUndefined();
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(ctxOfNew!.inputs).toEqual({ a: { n: 1 }, b: { n: 2 } });
    expect(ctxOfNew!.args).toEqual({ a: 1, b: 2 });
    const tasks = await tasksById(h.store, runId);
    expect(tasks.get('sum')).toMatchObject({ status: 'succeeded', outputs: { sum: 3 } });
    // The store knows the new task (a replay needs it): the run's workflow as it started, plus
    // the added task's IR kept with its task row.
    const stored = (await h.store.getRun(runId))!.workflow as StoredWorkflow;
    expect(stored.ir.tasks.map((t) => t.id)).toEqual(['a', 'b']);
    expect(tasks.get('sum')!.spec).toMatchObject({ id: 'sum', needs: ['a', 'b'] });
    const all = storedWorkflowTasks(stored, await h.store.getTasks(runId));
    expect(all.map((t) => t.id)).toEqual(['a', 'b', 'sum']);
  });

  it('runs an added task whose needs are all done at once', async () => {
    const g = gate();
    let inputs: unknown;
    const h = await createHarness({
      handlers: {
        fast: () => ({ n: 1 }),
        hold: () => g.promise.then(() => ({})),
        added: (ctx) => void (inputs = ctx.inputs),
      },
    });
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'a', uses: 'fast', estimate: '1ms' },
          { id: 'keep', uses: 'hold', estimate: '1ms' },
        ],
      }),
    );
    await eventually(() => h.engine.activeRuns().get(runId)?.tasks.get('a')?.status === 'succeeded');
    await h.engine.addTask(runId, taskIr('later', 'added', { needs: ['a'] }));
    await eventually(() => inputs !== undefined);
    expect(inputs).toEqual({ a: { n: 1 } });
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });

  it('rejects an unknown need (NOT_FOUND, naming it) and a duplicate id (ALREADY_EXISTS)', async () => {
    const g = gate();
    const h = await createHarness({ handlers: { hold: () => g.promise.then(() => ({})) } });
    const runId = await h.engine.startRun(plan({ tasks: [{ id: 'a', uses: 'hold', estimate: '1ms' }] }));
    const err = await rejectsWith(
      h.engine.addTask(runId, taskIr('x', 'hold', { needs: ['a', 'ghost'] })),
      'NOT_FOUND',
    );
    expect(err.message).toContain('"ghost"');
    expect(err.details).toEqual({ missing: ['ghost'], index: 0 });
    await rejectsWith(h.engine.addTask(runId, taskIr('a', 'hold')), 'ALREADY_EXISTS');
    // Neither left anything behind.
    expect([...h.engine.activeRuns().get(runId)!.tasks.keys()]).toEqual(['a']);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });

  it('validates an added task like the compiler: id, needs and expressions (INVALID_ARGUMENT)', async () => {
    const g = gate();
    const h = await createHarness({ handlers: { hold: () => g.promise.then(() => ({})) } });
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'a', uses: 'hold', estimate: '1ms', outputs: ['n'] },
          { id: 'b', uses: 'hold', estimate: '1ms' },
        ],
      }),
    );
    const bad = [
      taskIr('', 'hold'),
      taskIr('x', 'hold', { needs: ['a', 'a'] }),
      taskIr('x', 'hold', { needs: ['a'], with: { v: '${{ params. }}' } }),
      taskIr('x', 'hold', { needs: ['a'], with: { v: '${{ tasks.b.outputs.n }}' } }),
      taskIr('x', 'hold', { needs: ['a'], with: { v: '${{ tasks.a.outputs.m }}' } }),
    ];
    const messages: string[] = [];
    for (const t of bad)
      messages.push((await rejectsWith(h.engine.addTask(runId, t), 'INVALID_ARGUMENT')).message);
    expect(messages[0]).toMatch(/invalid task id ""/);
    expect(messages[1]).toMatch(/needs\[1\]: "a" is listed twice/);
    expect(messages[2]).toMatch(/with\.v: invalid expression/);
    expect(messages[3]).toMatch(/task "b" does not run before "x"; add it to needs/);
    expect(messages[4]).toMatch(/declares no output "m"/);
    expect([...h.engine.activeRuns().get(runId)!.tasks.keys()]).toEqual(['a', 'b']);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });

  it('leaves the run as it was when the store cannot record an added task', async () => {
    const g = gate();
    const store = createMemoryCheckpointStore();
    const failing = new Proxy(store, {
      get(target, prop) {
        if (prop === 'addTasks') return () => Promise.reject(new Error('disk full'));
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as CheckpointStore;
    const h = await createHarness({ store: failing, handlers: { hold: () => g.promise.then(() => ({})) } });
    const runId = await h.engine.startRun(plan({ tasks: [{ id: 'a', uses: 'hold', estimate: '1ms' }] }));
    await expect(h.engine.addTask(runId, taskIr('x', 'hold', { needs: ['a'] }))).rejects.toThrow('disk full');
    const run = h.engine.activeRuns().get(runId)!;
    expect([...run.tasks.keys()]).toEqual(['a']);
    expect(run.ir.tasks.map((t) => t.id)).toEqual(['a']);
    expect(run.tasks.get('a')!.dependants).toEqual([]);
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });

  it('skips an added task whose need already failed (continue policy)', async () => {
    const g = gate();
    const h = await createHarness({
      handlers: {
        bad: () => Promise.reject(new Error('no')),
        hold: () => g.promise.then(() => ({})),
        work: () => ({}),
      },
    });
    const runId = await h.engine.startRun(
      plan({
        failurePolicy: 'continue',
        tasks: [
          { id: 'bad', uses: 'bad', estimate: '1ms' },
          { id: 'keep', uses: 'hold', estimate: '1ms' },
        ],
      }),
    );
    await eventually(() => h.engine.activeRuns().get(runId)?.tasks.get('bad')?.status === 'failed');
    const skipped = record(h.engine, 'task:state:skipped');
    await h.engine.addTask(runId, taskIr('after-bad', 'work', { needs: ['bad'] }));
    expect(skipped).toEqual([
      expect.objectContaining({ taskId: 'after-bad', reason: 'upstream bad failed' }),
    ]);
    g.open();
    expect(await finish(h.engine, runId)).toBe('failed');
  });

  it('runs an added task exactly once when its need finishes while the task is being recorded', async () => {
    // A store whose addTasks is slow (a networked store): the need finishes in the meantime.
    const inner = createMemoryCheckpointStore();
    const recorded = gate();
    const store = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'addTasks') {
          return async (runId: string, tasks: Parameters<CheckpointStore['addTasks']>[1]) => {
            await recorded.promise;
            return target.addTasks(runId, tasks);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as CheckpointStore;
    const needGate = gate();
    let calls = 0;
    const h = await createHarness({
      store,
      handlers: {
        need: () => needGate.promise.then(() => ({ n: 1 })),
        added: () => {
          calls++;
          return {};
        },
      },
    });
    const dispatched = record(h.engine, 'task:attempt:dispatched');
    try {
      const runId = await h.engine.startRun(plan({ tasks: [{ id: 'need', uses: 'need', estimate: '1ms' }] }));
      await eventually(() => dispatched.length === 1);
      const adding = h.engine.addTask(runId, taskIr('added', 'added', { needs: ['need'] }));
      needGate.open();
      await eventually(
        () => (h.engine.activeRuns().get(runId)?.tasks.get('need')?.status ?? 'succeeded') === 'succeeded',
      );
      await sleep(10);
      recorded.open();
      await adding;
      expect(await finish(h.engine, runId)).toBe('succeeded');
      expect(calls).toBe(1);
      expect(dispatched.filter((e) => e.taskId === 'added').map((e) => e.attempt)).toEqual([1]);
      expect(await successesInStore(h.store, runId)).toEqual(
        new Map([
          ['need', 1],
          ['added', 1],
        ]),
      );
    } finally {
      await h.close();
      await inner.close();
    }
  });
});

describe('back-pressure', () => {
  it('never runs more attempts than the workers have slots, and reports being blocked', async () => {
    let running = 0;
    let maxRunning = 0;
    const h = await createHarness({
      capacity: 2,
      handlers: {
        work: async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await sleep(10);
          running--;
          return {};
        },
      },
    });
    const blocked = record(h.engine, 'scheduler:dispatch:blocked');
    let maxBusy = 0;
    h.engine.events.on('task:attempt:dispatched', () => (maxBusy = Math.max(maxBusy, h.workers[0]!.busy)));
    const tasks = Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, uses: 'work', estimate: '10ms' }));
    const runId = await h.engine.startRun(plan({ tasks }));
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(maxRunning).toBe(2);
    expect(maxBusy).toBeLessThanOrEqual(2);
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked[0]!.ready).toBe(8);
    const stored = await tasksById(h.store, runId);
    expect([...stored.values()].every((t) => t.status === 'succeeded')).toBe(true);
  });

  it('spreads attempts over several workers, each within its capacity', async () => {
    const perWorker = new Map<string, number>();
    const maxPerWorker = new Map<string, number>();
    const h = await createHarness({
      workers: 3,
      capacity: 1,
      handlers: { work: () => sleep(5).then(() => ({})) },
    });
    h.engine.events.on('task:attempt:dispatched', (e) => {
      perWorker.set(e.workerId, (perWorker.get(e.workerId) ?? 0) + 1);
      for (const w of h.workers) maxPerWorker.set(w.id, Math.max(maxPerWorker.get(w.id) ?? 0, w.busy));
    });
    const runId = await h.engine.startRun(
      plan({ tasks: Array.from({ length: 9 }, (_, i) => ({ id: `t${i}`, uses: 'work', estimate: '5ms' })) }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect([...perWorker.keys()].sort()).toEqual(['w1', 'w2', 'w3']);
    for (const m of maxPerWorker.values()) expect(m).toBeLessThanOrEqual(1);
  });
});
