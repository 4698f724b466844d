/**
 * Resuming runs from the checkpoint store: after a scheduler "crash" (the engine is closed
 * mid-run and a new one opens the same store), and replays `from` a task. Succeeded tasks are
 * kept; every successful completion is recorded exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../engine/errors.js';
import type { HandlerContext, TaskHandler } from '../../../engine/handler.js';
import type { CheckpointStore } from '../../../engine/stages.js';
import { createMemoryCheckpointStore } from '../../../plugins/checkpoint/memory/index.js';
import {
  closeAllHarnesses,
  createHarness,
  eventually,
  finish,
  plan,
  successesInStore,
  tasksById,
  untilAborted,
} from './harness.js';

const stores: CheckpointStore[] = [];
afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
  for (const s of stores.splice(0)) await s.close();
});

function sharedStore(): CheckpointStore {
  const s = createMemoryCheckpointStore();
  stores.push(s);
  return s;
}

/** Handlers that count their calls per task and remember each context. */
function counting(
  behaviour: (ctx: HandlerContext) => Promise<Record<string, unknown>> | Record<string, unknown>,
) {
  const calls = new Map<string, number>();
  const contexts = new Map<string, HandlerContext>();
  const successes = new Map<string, number>();
  const handler: TaskHandler = async (ctx) => {
    calls.set(ctx.taskId, (calls.get(ctx.taskId) ?? 0) + 1);
    contexts.set(ctx.taskId, ctx);
    const out = await behaviour(ctx);
    successes.set(ctx.taskId, (successes.get(ctx.taskId) ?? 0) + 1);
    return out;
  };
  return { calls, contexts, successes, handlers: { step: handler } };
}

const chain = (order: 'natural' | 'dependants-first' = 'natural') => {
  const tasks = [
    { id: 'a', uses: 'step', estimate: '1ms', outputs: ['v'] },
    { id: 'b', uses: 'step', needs: ['a'], estimate: '1ms', with: { fromA: '${{ tasks.a.outputs.v }}' } },
    { id: 'c', uses: 'step', needs: ['b'], estimate: '1ms' },
    { id: 'd', uses: 'step', estimate: '1ms' },
  ];
  return plan({ deadline: '1h', tasks: order === 'natural' ? tasks : [...tasks].reverse() });
};

describe('resume after a crash', () => {
  async function crashMidRun(order: 'natural' | 'dependants-first' = 'natural') {
    const store = sharedStore();
    // First process: b never finishes (it honours its signal when the process goes down).
    const first = counting(async (ctx) => {
      if (ctx.taskId === 'b') await untilAborted(ctx.signal);
      return { v: `${ctx.taskId}-1` };
    });
    const h1 = await createHarness({ store, handlers: first.handlers });
    const runId = await h1.engine.startRun(chain(order));
    await eventually(() => {
      const run = h1.engine.activeRuns().get(runId);
      return run?.tasks.get('b')?.status === 'dispatched' && run.tasks.get('d')?.status === 'succeeded';
    });
    await h1.close(); // the "crash": nothing more is recorded by this engine
    return { store, runId, first };
  }

  it('plans to keep succeeded tasks and re-run the rest (the interrupted one re-dispatched)', async () => {
    const { store, runId } = await crashMidRun();
    const h2 = await createHarness({ store, handlers: counting(() => ({})).handlers });
    const p = await h2.engine.planResume(runId);
    expect(p.kept).toEqual(['a', 'd']);
    expect(p.rerun).toEqual(['b', 'c']);
    expect(p.redispatched).toEqual(['b']);
    expect(p.record.status).toBe('running');
    // Planning changes nothing.
    expect((await tasksById(store, runId)).get('b')?.status).toBe('dispatched');
  });

  it('resumeRun in a new engine re-runs only unsucceeded tasks, with kept outputs as inputs', async () => {
    const { store, runId, first } = await crashMidRun();
    expect(first.calls).toEqual(
      new Map([
        ['a', 1],
        ['b', 1],
        ['d', 1],
      ]),
    );
    const second = counting((ctx) => ({ v: `${ctx.taskId}-2` }));
    const h2 = await createHarness({ store, handlers: second.handlers });
    const summary = await h2.engine.resumeRun(runId);
    expect(summary).toEqual({ runId, kept: ['a', 'd'], rerun: ['b', 'c'], redispatched: ['b'] });
    expect(await finish(h2.engine, runId)).toBe('succeeded');
    expect(second.calls).toEqual(
      new Map([
        ['b', 1],
        ['c', 1],
      ]),
    );
    // b reads a's outputs from the checkpoint, and its `with` is rendered from them.
    expect(second.contexts.get('b')!.inputs).toEqual({ a: { v: 'a-1' } });
    expect(second.contexts.get('b')!.args).toEqual({ fromA: 'a-1' });
    // A new attempt, same idempotency key.
    expect(second.contexts.get('b')!.attempt).toBe(2);
    expect(second.contexts.get('b')!.idempotencyKey).toBe(first.contexts.get('b')!.idempotencyKey);
    const tasks = await tasksById(store, runId);
    for (const id of ['a', 'b', 'c', 'd']) expect(tasks.get(id)?.status).toBe('succeeded');
    expect(tasks.get('b')).toMatchObject({ attempt: 2, outputs: { v: 'b-2' } });
    expect(await successesInStore(store, runId)).toEqual(
      new Map([
        ['a', 1],
        ['d', 1],
        ['b', 1],
        ['c', 1],
      ]),
    );
    expect((await store.getEvents(runId)).some((e) => e.type === 'run:state:resumed')).toBe(true);
    expect((await store.getRun(runId))?.status).toBe('succeeded');
  });

  it('resumes a workflow whose file lists dependants before their needs', async () => {
    const { store, runId } = await crashMidRun('dependants-first');
    const second = counting((ctx) => ({ v: `${ctx.taskId}-2` }));
    const h2 = await createHarness({ store, handlers: second.handlers });
    const summary = await h2.engine.resumeRun(runId);
    expect([...summary.rerun].sort()).toEqual(['b', 'c']);
    // LFTs are computed as on the first start: the run deadline bounds c, c's LST bounds b.
    const run = h2.engine.activeRuns().get(runId)!;
    expect(run.tasks.get('c')!.lftAt).toBe(run.startedAt + 3_600_000);
    expect(run.tasks.get('b')!.lftAt).toBe(run.startedAt + 3_600_000 - 1);
    expect(await finish(h2.engine, runId)).toBe('succeeded');
    expect(second.calls).toEqual(
      new Map([
        ['b', 1],
        ['c', 1],
      ]),
    );
    expect(await successesInStore(store, runId)).toEqual(
      new Map([
        ['a', 1],
        ['d', 1],
        ['b', 1],
        ['c', 1],
      ]),
    );
  });
});

describe('resume from a task', () => {
  it('re-runs the task and everything downstream of it, and records each success once', async () => {
    const store = sharedStore();
    const c = counting((ctx) => ({ v: `${ctx.taskId}@${ctx.attempt}` }));
    const h = await createHarness({ store, handlers: c.handlers });
    const runId = await h.engine.startRun(chain());
    expect(await finish(h.engine, runId)).toBe('succeeded');
    const p = await h.engine.planResume(runId, 'b');
    expect(p.kept).toEqual(['a', 'd']);
    expect(p.rerun).toEqual(['b', 'c']);
    expect(p.redispatched).toEqual([]);
    await h.engine.resumeRun(runId, { from: 'b' });
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(c.calls).toEqual(
      new Map([
        ['a', 1],
        ['b', 2],
        ['c', 2],
        ['d', 1],
      ]),
    );
    // One recorded success per successful completion.
    expect(await successesInStore(store, runId)).toEqual(c.successes);
    const tasks = await tasksById(store, runId);
    expect(tasks.get('b')).toMatchObject({ status: 'succeeded', attempt: 2, outputs: { v: 'b@2' } });
    expect(tasks.get('a')).toMatchObject({ status: 'succeeded', attempt: 1, outputs: { v: 'a@1' } });
  });

  it('replays a run whose file lists dependants before their needs', async () => {
    const store = sharedStore();
    const c = counting((ctx) => ({ v: ctx.taskId }));
    const h = await createHarness({ store, handlers: c.handlers });
    const runId = await h.engine.startRun(chain('dependants-first'));
    expect(await finish(h.engine, runId)).toBe('succeeded');
    await h.engine.resumeRun(runId, { from: 'a' });
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(c.calls).toEqual(
      new Map([
        ['a', 2],
        ['b', 2],
        ['c', 2],
        ['d', 1],
      ]),
    );
  });

  it('resuming a fully succeeded run without `from` has nothing to do', async () => {
    const store = sharedStore();
    const c = counting(() => ({}));
    const h = await createHarness({ store, handlers: c.handlers });
    const runId = await h.engine.startRun(chain());
    expect(await finish(h.engine, runId)).toBe('succeeded');
    const summary = await h.engine.resumeRun(runId);
    expect(summary).toEqual({ runId, kept: ['a', 'b', 'c', 'd'], rerun: [], redispatched: [] });
    expect(h.engine.activeRuns().has(runId)).toBe(false);
    expect([...c.calls.values()]).toEqual([1, 1, 1, 1]);
  });

  it('rejects unknown runs and tasks (NOT_FOUND) and runs active here (FAILED_PRECONDITION)', async () => {
    const store = sharedStore();
    const h = await createHarness({
      store,
      handlers: { step: (ctx) => untilAborted(ctx.signal).then(() => ({})) },
    });
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e instanceof SmartQueueError ? e.code : String(e)),
      );
    expect(await codeOf(h.engine.planResume('no-such-run'))).toBe('NOT_FOUND');
    expect(await codeOf(h.engine.resumeRun('no-such-run'))).toBe('NOT_FOUND');
    const runId = await h.engine.startRun(chain());
    expect(await codeOf(h.engine.planResume(runId, 'ghost'))).toBe('NOT_FOUND');
    expect(await codeOf(h.engine.resumeRun(runId))).toBe('FAILED_PRECONDITION');
    await h.engine.cancelRun(runId);
    expect(await finish(h.engine, runId)).toBe('cancelled');
  });
});
