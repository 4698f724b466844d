/**
 * Tasks added to a live run (dynamic DAGs, open runs) are stored with their task rows, not by
 * rewriting the run's workflow: adding one costs the same however large the run is, and a
 * resumed run (a new engine on the same SQLite file) still has them, with their needs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storedWorkflowTasks } from '../../../engine/engine.js';
import type { StoredWorkflow } from '../../../engine/engine.js';
import type { HandlerContext, TaskHandler } from '../../../engine/handler.js';
import type { CheckpointStore, RunRecord } from '../../../engine/stages.js';
import { createMemoryCheckpointStore } from '../../../plugins/checkpoint/memory/index.js';
import { createSqliteCheckpointStore } from '../../../plugins/checkpoint/sqlite/index.js';
import {
  closeAllHarnesses,
  createHarness,
  eventually,
  finish,
  plan,
  successesInStore,
  taskIr,
  untilAborted,
} from './harness.js';

let dir: string;
const stores: CheckpointStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smartqueue-added-tasks-'));
});

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function sqliteStore(): Promise<CheckpointStore> {
  const store = await createSqliteCheckpointStore({ path: join(dir, 'state.db') });
  stores.push(store);
  return store;
}

/** A store that counts the calls of each method (and otherwise is `inner`). */
function counting(inner: CheckpointStore) {
  const calls = new Map<string, number>();
  const updates: Partial<Omit<RunRecord, 'runId'>>[] = [];
  const store = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        if (prop === 'updateRun') updates.push(args[1] as Partial<Omit<RunRecord, 'runId'>>);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as CheckpointStore;
  return { store, calls, updates, count: (name: string) => calls.get(name) ?? 0 };
}

const oneTask = () => plan({ tasks: [{ id: 'a', uses: 'step', estimate: '1ms', outputs: ['v'] }] });

describe('tasks added to a run', () => {
  it('are recorded with their task rows: no rewrite of the run workflow per added task', async () => {
    const c = counting(createMemoryCheckpointStore());
    stores.push(c.store);
    const h = await createHarness({ store: c.store, handlers: { step: (ctx) => ({ v: ctx.taskId }) } });
    const runId = await h.engine.startRun(oneTask(), { keepOpen: true, file: 'flows/etl.yaml' });
    const updatesBefore = c.count('updateRun');
    for (let i = 0; i < 50; i++) {
      await h.engine.addTask(runId, taskIr(`t${i}`, 'step', { needs: i === 0 ? ['a'] : [`t${i - 1}`] }));
    }
    expect(c.count('addTasks')).toBe(50);
    expect(c.updates.slice(updatesBefore).filter((u) => u.workflow !== undefined)).toEqual([]);
    await eventually(() => h.engine.activeRuns().get(runId)?.tasks.get('t49')?.status === 'succeeded');

    // Closing writes the workflow once, as it started (file kept), with the run no longer open.
    const done = finish(h.engine, runId);
    await h.engine.closeRun(runId);
    expect(await done).toBe('succeeded');
    const written = c.updates.filter((u) => u.workflow !== undefined);
    expect(written).toHaveLength(1);
    const stored = written[0]!.workflow as StoredWorkflow;
    expect(stored.open).toBeUndefined();
    expect(stored.file).toBe('flows/etl.yaml');
    expect(stored.ir.tasks.map((t) => t.id)).toEqual(['a']);
    const all = storedWorkflowTasks(stored, await c.store.getTasks(runId));
    expect(all.map((t) => t.id)).toEqual(['a', ...Array.from({ length: 50 }, (_, i) => `t${i}`)]);
    expect(all[2]!.needs).toEqual(['t0']);
  });

  it('leave the compiled plan, and other runs of it, as they were', async () => {
    const h = await createHarness({ handlers: { step: () => new Promise(() => {}) } });
    const p = oneTask();
    const first = await h.engine.startRun(p, { keepOpen: true });
    const second = await h.engine.startRun(p, { keepOpen: true });
    await h.engine.addTask(first, taskIr('extra', 'step', { needs: ['a'] }));
    expect(p.ir.tasks.map((t) => t.id)).toEqual(['a']);
    expect(
      h.engine
        .activeRuns()
        .get(first)!
        .ir.tasks.map((t) => t.id),
    ).toEqual(['a', 'extra']);
    expect(
      h.engine
        .activeRuns()
        .get(second)!
        .ir.tasks.map((t) => t.id),
    ).toEqual(['a']);
    await h.engine.cancelRun(first);
    await h.engine.cancelRun(second);
    expect(await finish(h.engine, first)).toBe('cancelled');
    expect(await finish(h.engine, second)).toBe('cancelled');
  });

  it('survive a restart on the same SQLite file: resumed, they run once each, with their needs', async () => {
    // First process: c never finishes (it honours its signal when the process goes down).
    const firstCalls: string[] = [];
    const step: TaskHandler = async (ctx) => {
      firstCalls.push(ctx.taskId);
      if (ctx.taskId === 'c') await untilAborted(ctx.signal);
      return { v: `${ctx.taskId}-1` };
    };
    let store = await sqliteStore();
    const h1 = await createHarness({ store, handlers: { step } });
    const runId = await h1.engine.startRun(oneTask(), { keepOpen: true });
    await h1.engine.addTask(runId, taskIr('b', 'step', { needs: ['a'], outputs: ['v'] }));
    await h1.engine.addTask(runId, taskIr('c', 'step', { needs: ['b'], outputs: ['v'] }));
    await h1.engine.addTask(
      runId,
      taskIr('d', 'step', { needs: ['c'], with: { fromC: '${{ tasks.c.outputs.v }}' } }),
    );
    await h1.engine.addTask(runId, taskIr('e', 'step'));
    await eventually(() => {
      const run = h1.engine.activeRuns().get(runId);
      return run?.tasks.get('c')?.status === 'dispatched' && run.tasks.get('e')?.status === 'succeeded';
    });
    await h1.close(); // the "crash"
    await store.close();

    // Second process, on the same file.
    store = await sqliteStore();
    const second = new Map<string, HandlerContext>();
    const h2 = await createHarness({
      store,
      handlers: {
        step: (ctx) => {
          second.set(ctx.taskId, ctx);
          return { v: `${ctx.taskId}-2` };
        },
      },
    });
    const p = await h2.engine.planResume(runId);
    expect(p.stored.ir.tasks.map((t) => t.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(p.stored.ir.tasks.find((t) => t.id === 'd')!.needs).toEqual(['c']);
    const summary = await h2.engine.resumeRun(runId);
    expect(summary).toEqual({ runId, kept: ['a', 'b', 'e'], rerun: ['c', 'd'], redispatched: ['c'] });
    await eventually(() => h2.engine.activeRuns().get(runId)?.tasks.get('d')?.status === 'succeeded');
    // The run is still open after the resume: it takes more tasks, which need resumed ones.
    await h2.engine.addTask(runId, taskIr('f', 'step', { needs: ['d', 'a'] }));
    await eventually(() => h2.engine.activeRuns().get(runId)?.tasks.get('f')?.status === 'succeeded');
    const done = finish(h2.engine, runId);
    await h2.engine.closeRun(runId);
    expect(await done).toBe('succeeded');

    expect(firstCalls.sort()).toEqual(['a', 'b', 'c', 'e']);
    expect([...second.keys()]).toEqual(['c', 'd', 'f']);
    expect(second.get('d')!.inputs).toEqual({ c: { v: 'c-2' } });
    expect(second.get('d')!.args).toEqual({ fromC: 'c-2' });
    expect(second.get('f')!.inputs).toEqual({ d: { v: 'd-2' }, a: { v: 'a-1' } });
    expect(await successesInStore(store, runId)).toEqual(
      new Map(['a', 'b', 'e', 'c', 'd', 'f'].map((id) => [id, 1])),
    );

    // Closed and done: the stored workflow is the one the run started with, and every task is
    // listed once whoever reads it.
    const record = (await store.getRun(runId))!;
    expect(record.status).toBe('succeeded');
    const stored = record.workflow as StoredWorkflow;
    expect(stored.open).toBeUndefined();
    expect(stored.ir.tasks.map((t) => t.id)).toEqual(['a']);
    const again = await h2.engine.planResume(runId);
    expect(again.kept).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(again.rerun).toEqual([]);
  });

  it('a run recorded with its added tasks in the workflow (before task rows kept them) resumes as before', async () => {
    const store = await sqliteStore();
    const h1 = await createHarness({ store, handlers: { step: () => new Promise(() => {}) } });
    const runId = await h1.engine.startRun(oneTask(), { keepOpen: true });
    await h1.engine.addTask(runId, taskIr('b', 'step', { needs: ['a'] }));
    await h1.close();
    // What the engine used to write: the added task in the workflow as well.
    const stored = (await store.getRun(runId))!.workflow as StoredWorkflow;
    const b = storedWorkflowTasks(stored, await store.getTasks(runId)).find((t) => t.id === 'b')!;
    await store.updateRun(runId, {
      workflow: { ...stored, ir: { ...stored.ir, tasks: [...stored.ir.tasks, b] } },
    });

    const h2 = await createHarness({ store, handlers: { step: () => ({}) } });
    const summary = await h2.engine.resumeRun(runId);
    expect(summary.rerun).toEqual(['a', 'b']);
    await eventually(() => h2.engine.activeRuns().get(runId)?.tasks.get('b')?.status === 'succeeded');
    expect(
      h2.engine
        .activeRuns()
        .get(runId)!
        .ir.tasks.map((t) => t.id),
    ).toEqual(['a', 'b']);
    const done = finish(h2.engine, runId);
    await h2.engine.closeRun(runId);
    expect(await done).toBe('succeeded');
  });
});
