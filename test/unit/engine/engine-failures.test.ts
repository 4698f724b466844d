/**
 * The failure model in the engine: timeouts, cancellation (tasks and runs), failure policies,
 * and once-only completion when the store already holds a success.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HandlerContext, TaskHandler } from '../../../engine/handler.js';
import type { CheckpointStore } from '../../../engine/stages.js';
import { createMemoryCheckpointStore } from '../../../plugins/checkpoint/memory/index.js';
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
  tasksById,
  untilAborted,
} from './harness.js';
import { rejectsWith } from '../../support/errors.js';

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
});

describe('timeouts', () => {
  it('ends as timed-out after the task timeout, whether the handler ignores or honours its signal', async () => {
    const signals = new Map<string, AbortSignal>();
    let ignoringDone = false;
    const h = await createHarness({
      handlers: {
        ignores: async (ctx: HandlerContext) => {
          signals.set(ctx.taskId, ctx.signal);
          await sleep(600);
          ignoringDone = true;
          return {};
        },
        honours: async (ctx: HandlerContext) => {
          signals.set(ctx.taskId, ctx.signal);
          await untilAborted(ctx.signal);
          return {};
        },
      },
    });
    const failed = record(h.engine, 'task:attempt:failed');
    const runId = await h.engine.startRun(
      plan({
        failurePolicy: 'continue',
        tasks: [
          { id: 'ignores', uses: 'ignores', estimate: '1ms', timeout: '50ms', retries: 0 },
          { id: 'honours', uses: 'honours', estimate: '1ms', timeout: '50ms', retries: 0 },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('failed');
    // The run did not wait for the handler that ignores its signal.
    expect(ignoringDone).toBe(false);
    expect(signals.get('ignores')!.aborted).toBe(true);
    expect(signals.get('honours')!.aborted).toBe(true);
    const tasks = await tasksById(h.store, runId);
    for (const id of ['ignores', 'honours']) {
      const t = tasks.get(id)!;
      expect(t.status).toBe('timed-out');
      expect(t.error).toContain('timed out');
    }
    expect(failed.map((e) => [e.taskId, e.timedOut, e.willRetry]).sort()).toEqual([
      ['honours', true, false],
      ['ignores', true, false],
    ]);
    // The slot of the abandoned attempt is free again.
    expect(h.balancer.snapshot()[0]!.running).toBe(0);
  });

  it('retries a timed-out attempt when retries remain', async () => {
    const h = await createHarness({
      handlers: {
        slowFirst: async (ctx: HandlerContext) => {
          if (ctx.attempt === 1) await untilAborted(ctx.signal);
          return { attempt: ctx.attempt };
        },
      },
    });
    const failed = record(h.engine, 'task:attempt:failed');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          {
            id: 't',
            uses: 'slowFirst',
            estimate: '1ms',
            timeout: '40ms',
            retries: { max: 1, backoff: 'fixed', initial: '1ms' },
          },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(failed).toEqual([
      expect.objectContaining({ taskId: 't', attempt: 1, timedOut: true, willRetry: true }),
    ]);
    expect((await tasksById(h.store, runId)).get('t')).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      outputs: { attempt: 2 },
    });
  });

  it('fails fast on a timeout like on any failure', async () => {
    const h = await createHarness({
      handlers: { honours: (ctx) => untilAborted(ctx.signal).then(() => ({})), work: () => ({}) },
    });
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 't', uses: 'honours', estimate: '1ms', timeout: '30ms' },
          { id: 'after', uses: 'work', needs: ['t'], estimate: '1ms' },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('failed');
    const tasks = await tasksById(h.store, runId);
    expect(tasks.get('t')?.status).toBe('timed-out');
    // Its direct dependant is skipped as soon as it times out, before fail-fast cancels the rest.
    expect(tasks.get('after')?.status).toBe('skipped');
  });
});

describe('cancellation', () => {
  it('cancelTask on a queued task drops it and skips its dependants', async () => {
    const g = gate();
    const calls: string[] = [];
    const handlers: Record<string, TaskHandler> = {
      hold: () => g.promise.then(() => ({})),
      work: (ctx) => {
        calls.push(ctx.taskId);
        return {};
      },
    };
    const h = await createHarness({ capacity: 1, handlers });
    const order = dispatchOrder(h.engine);
    const cancelled = record(h.engine, 'task:state:cancelled');
    const skipped = record(h.engine, 'task:state:skipped');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'blocker', uses: 'hold', deadline: '5s', estimate: '1ms' },
          { id: 'queued', uses: 'work', estimate: '1ms' },
          { id: 'dep', uses: 'work', needs: ['queued'], estimate: '1ms' },
          { id: 'other', uses: 'work', estimate: '1ms' },
        ],
      }),
    );
    await eventually(() => order.length === 1 && h.engine.readyCount === 2);
    await h.engine.cancelTask(runId, 'queued', 'not needed');
    expect(h.engine.readyCount).toBe(1);
    expect(cancelled).toEqual([expect.objectContaining({ taskId: 'queued', reason: 'not needed' })]);
    expect(skipped).toEqual([
      expect.objectContaining({ taskId: 'dep', reason: 'upstream queued cancelled' }),
    ]);
    g.open();
    expect(await finish(h.engine, runId)).toBe('cancelled');
    expect(calls).toEqual(['other']);
    expect(order).not.toContain('queued');
    const tasks = await tasksById(h.store, runId);
    expect(tasks.get('queued')).toMatchObject({ status: 'cancelled', attempt: 0 });
    expect(tasks.get('dep')?.status).toBe('skipped');
    expect(tasks.get('other')?.status).toBe('succeeded');
  });

  it('cancelTask on a running task aborts its handler, frees its slot and skips its dependants', async () => {
    let signal: AbortSignal | undefined;
    const calls: string[] = [];
    const h = await createHarness({
      capacity: 1,
      handlers: {
        long: async (ctx: HandlerContext) => {
          signal = ctx.signal;
          await untilAborted(ctx.signal);
          return {};
        },
        work: (ctx) => {
          calls.push(ctx.taskId);
          return {};
        },
      },
    });
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'long', uses: 'long', deadline: '5s', estimate: '1ms' },
          { id: 'dep', uses: 'work', needs: ['long'], estimate: '1ms' },
          { id: 'waiting', uses: 'work', estimate: '1ms' },
        ],
      }),
    );
    await eventually(() => signal !== undefined);
    await h.engine.cancelTask(runId, 'long');
    await eventually(() => signal!.aborted, 2000, 'the handler signal to abort');
    // The one slot is free again: the waiting task runs.
    expect(await finish(h.engine, runId)).toBe('cancelled');
    expect(calls).toEqual(['waiting']);
    const tasks = await tasksById(h.store, runId);
    expect(tasks.get('long')?.status).toBe('cancelled');
    expect(tasks.get('dep')?.status).toBe('skipped');
  });

  it('cancelRun aborts running attempts, drops waiting tasks and ends the run cancelled', async () => {
    const signals: AbortSignal[] = [];
    let ran = 0;
    const h = await createHarness({
      capacity: 2,
      handlers: {
        long: async (ctx: HandlerContext) => {
          signals.push(ctx.signal);
          await untilAborted(ctx.signal);
          return {};
        },
        work: () => {
          ran++;
          return {};
        },
      },
    });
    const finished = record(h.engine, 'run:state:finished');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'l1', uses: 'long', estimate: '1ms', deadline: '5s' },
          { id: 'l2', uses: 'long', estimate: '1ms', deadline: '5s' },
          { id: 'queued', uses: 'work', estimate: '1ms' },
          { id: 'later', uses: 'work', needs: ['l1'], estimate: '1ms' },
        ],
      }),
    );
    await eventually(() => signals.length === 2);
    const waiting = h.engine.waitForRun(runId);
    await h.engine.cancelRun(runId, 'operator said so');
    expect(await waiting).toBe('cancelled');
    await eventually(() => signals.every((s) => s.aborted), 2000, 'every handler signal to abort');
    expect(ran).toBe(0);
    expect(h.engine.readyCount).toBe(0);
    expect(finished).toEqual([expect.objectContaining({ runId, status: 'cancelled' })]);
    expect((await h.store.getRun(runId))?.status).toBe('cancelled');
    const tasks = await tasksById(h.store, runId);
    for (const id of ['l1', 'l2', 'queued']) {
      expect(tasks.get(id)).toMatchObject({ status: 'cancelled', error: 'operator said so' });
    }
    // A waiting dependant is cancelled too, with the same reason (not skipped as "upstream cancelled").
    expect(tasks.get('later')).toMatchObject({ status: 'cancelled', error: 'operator said so' });
    // Once finished, the run can no longer be cancelled.
    await rejectsWith(h.engine.cancelRun(runId), 'FAILED_PRECONDITION');
  });

  it('cancelRun stops a task waiting to be retried', async () => {
    let calls = 0;
    const h = await createHarness({
      handlers: {
        flaky: () => {
          calls++;
          throw new Error('again');
        },
      },
    });
    const scheduled = record(h.engine, 'task:retry:scheduled');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          {
            id: 'f',
            uses: 'flaky',
            estimate: '1ms',
            retries: { max: 3, backoff: 'fixed', initial: '150ms' },
          },
        ],
      }),
    );
    await eventually(() => scheduled.length === 1);
    await h.engine.cancelRun(runId);
    expect(await finish(h.engine, runId)).toBe('cancelled');
    await sleep(200);
    expect(calls).toBe(1);
  });

  it('refuses to cancel a finished task (FAILED_PRECONDITION) and unknown runs or tasks (NOT_FOUND)', async () => {
    const g = gate();
    const h = await createHarness({ handlers: { work: () => ({}), hold: () => g.promise.then(() => ({})) } });
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'done', uses: 'work', estimate: '1ms' },
          { id: 'held', uses: 'hold', estimate: '1ms' },
        ],
      }),
    );
    await eventually(() => h.engine.activeRuns().get(runId)?.tasks.get('done')?.status === 'succeeded');
    await rejectsWith(h.engine.cancelTask(runId, 'done'), 'FAILED_PRECONDITION');
    await rejectsWith(h.engine.cancelTask(runId, 'ghost'), 'NOT_FOUND');
    await rejectsWith(h.engine.cancelTask('no-such-run', 'done'), 'NOT_FOUND');
    await rejectsWith(h.engine.cancelRun('no-such-run'), 'NOT_FOUND');
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect((await tasksById(h.store, runId)).get('done')?.status).toBe('succeeded');
  });
});

describe('failure policies', () => {
  it('fail-fast: the first failure cancels the rest and the run is failed', async () => {
    let longSignal: AbortSignal | undefined;
    const calls: string[] = [];
    // "bad" fails only once "long" is running.
    const badGate = gate();
    const h = await createHarness({
      capacity: 4,
      handlers: {
        bad: () =>
          badGate.promise.then(() => {
            throw new Error('kaput');
          }),
        long: async (ctx: HandlerContext) => {
          longSignal = ctx.signal;
          await untilAborted(ctx.signal);
          return {};
        },
        work: (ctx) => {
          calls.push(ctx.taskId);
          return {};
        },
      },
    });
    h.engine.events.on('task:attempt:dispatched', (e) => {
      if (e.taskId === 'long') badGate.open();
    });
    const p = plan({
      tasks: [
        { id: 'long', uses: 'long', estimate: '1ms', deadline: '5s' },
        { id: 'bad', uses: 'bad', estimate: '1ms', retries: 0 },
        { id: 'after-long', uses: 'work', needs: ['long'], estimate: '1ms' },
        { id: 'after-bad', uses: 'work', needs: ['bad'], estimate: '1ms' },
      ],
    });
    expect(p.ir.failurePolicy).toBe('fail-fast');
    const runId = await h.engine.startRun(p);
    expect(await finish(h.engine, runId)).toBe('failed');
    await eventually(() => longSignal?.aborted === true, 2000, 'the running task to be aborted');
    expect(calls).toEqual([]);
    const tasks = await tasksById(h.store, runId);
    expect(tasks.get('bad')).toMatchObject({ status: 'failed', error: 'kaput' });
    expect(tasks.get('long')?.status).toBe('cancelled');
    expect(tasks.get('long')?.error).toContain('fail-fast');
    expect(tasks.get('after-long')?.status).toBe('cancelled');
    expect(tasks.get('after-bad')?.status).toBe('skipped');
    expect((await h.store.getRun(runId))?.status).toBe('failed');
  });

  it('continue: independent branches run, dependants of the failed task are skipped, the run is failed', async () => {
    const g = gate();
    const calls: string[] = [];
    const h = await createHarness({
      capacity: 4,
      handlers: {
        bad: () => Promise.reject(new Error('kaput')),
        // Held until the failure is known, so the branch provably keeps going after it.
        ok: () => g.promise.then(() => ({ fine: true })),
        work: (ctx) => {
          calls.push(ctx.taskId);
          return {};
        },
      },
    });
    h.engine.events.on('task:attempt:failed', () => g.open());
    const skipped = record(h.engine, 'task:state:skipped');
    const finished = record(h.engine, 'run:state:finished');
    const runId = await h.engine.startRun(
      plan({
        failurePolicy: 'continue',
        tasks: [
          { id: 'bad', uses: 'bad', estimate: '1ms', retries: 0 },
          { id: 'ok', uses: 'ok', estimate: '1ms' },
          { id: 'c', uses: 'work', needs: ['bad'], estimate: '1ms' },
          { id: 'd', uses: 'work', needs: ['c'], estimate: '1ms' },
          { id: 'e', uses: 'work', needs: ['ok'], estimate: '1ms' },
          { id: 'f', uses: 'work', needs: ['ok', 'bad'], estimate: '1ms' },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('failed');
    expect(calls).toEqual(['e']);
    const reasons = new Map(skipped.map((s) => [s.taskId, s.reason]));
    expect(reasons.get('c')).toBe('upstream bad failed');
    expect(reasons.get('f')).toBe('upstream bad failed');
    expect(reasons.get('d')).toBeDefined();
    const tasks = await tasksById(h.store, runId);
    expect(tasks.get('bad')?.status).toBe('failed');
    expect(tasks.get('ok')?.status).toBe('succeeded');
    expect(tasks.get('e')?.status).toBe('succeeded');
    for (const id of ['c', 'd', 'f']) expect(tasks.get(id)?.status).toBe('skipped');
    expect(finished).toEqual([expect.objectContaining({ status: 'failed' })]);
  });
});

describe('once-only completion', () => {
  it('finishes the run when the store says the success was already recorded (another scheduler won)', async () => {
    const inner = createMemoryCheckpointStore();
    // Simulates a duplicate delivery recorded first elsewhere: the engine's own completion loses.
    const store = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'completeTask') {
          return async (c: Parameters<CheckpointStore['completeTask']>[0]) => {
            if (c.taskId === 'dup') await target.completeTask({ ...c, workerId: 'elsewhere' });
            return target.completeTask(c);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as CheckpointStore;
    const calls: string[] = [];
    const h = await createHarness({
      store,
      handlers: {
        work: (ctx) => {
          calls.push(ctx.taskId);
          return { id: ctx.taskId };
        },
      },
    });
    const discarded = record(h.engine, 'task:result:discarded');
    try {
      const runId = await h.engine.startRun(
        plan({
          tasks: [
            { id: 'dup', uses: 'work', estimate: '1ms' },
            { id: 'next', uses: 'work', needs: ['dup'], estimate: '1ms' },
          ],
        }),
      );
      expect(await finish(h.engine, runId, 3000)).toBe('succeeded');
      expect(discarded).toEqual([
        expect.objectContaining({ taskId: 'dup', reason: 'completion already recorded' }),
      ]);
      expect(calls).toEqual(['dup', 'next']);
      const tasks = await tasksById(h.store, runId);
      expect(tasks.get('dup')).toMatchObject({ status: 'succeeded', workerId: 'elsewhere' });
      expect(tasks.get('next')?.status).toBe('succeeded');
    } finally {
      await h.close();
      await inner.close();
    }
  });
});
