/**
 * Open runs (`keepOpen`): runs that take tasks one by one (the gRPC SubmitTask) and end only
 * when closed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileWorkflow } from '../../../dsl/compiler.js';
import type { CompiledPlan } from '../../../dsl/compiler.js';
import { IR_DEFAULTS } from '../../../dsl/ir.js';
import { rejectsWith } from '../../support/errors.js';
import { closeAllHarnesses, createHarness, eventually, finish, taskIr } from './harness.js';

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
});

/** A plan with no task: the shape of a run that only receives submitted tasks. */
function emptyPlan(name = 'submitted'): CompiledPlan {
  const ir = {
    apiVersion: 'smartqueue/v1' as const,
    name,
    labels: {},
    priority: IR_DEFAULTS.priority,
    failurePolicy: 'continue' as const,
    params: {},
    tasks: [],
  };
  const r = compileWorkflow(ir, { file: '<api>', locate: () => ({ line: 1, column: 1 }) });
  return r.plan!;
}

describe('open runs', () => {
  it('stay running between submitted tasks, pass outputs along needs, and end when closed', async () => {
    const h = await createHarness({
      handlers: { one: () => ({ n: 1 }), plus: (ctx) => ({ n: Number(ctx.inputs.a?.n) + 1 }) },
    });
    const runId = await h.engine.startRun(emptyPlan(), { keepOpen: true });
    expect(h.engine.activeRuns().has(runId)).toBe(true);
    await h.engine.addTask(runId, taskIr('a', 'one'));
    await eventually(() => h.engine.activeRuns().get(runId)?.tasks.get('a')?.status === 'succeeded');
    // All its tasks are done, yet the run is still open for more.
    expect(h.engine.activeRuns().has(runId)).toBe(true);
    await h.engine.addTask(runId, taskIr('b', 'plus', { needs: ['a'] }));
    await eventually(() => h.engine.activeRuns().get(runId)?.tasks.get('b')?.status === 'succeeded');
    expect(h.engine.activeRuns().get(runId)!.tasks.get('b')!.outputs).toEqual({ n: 2 });
    const done = finish(h.engine, runId);
    await h.engine.closeRun(runId);
    expect(await done).toBe('succeeded');
    expect((await h.store.getRun(runId))?.status).toBe('succeeded');
  });

  it('closeRun on a run that is not open is FAILED_PRECONDITION; on an unknown run NOT_FOUND', async () => {
    const h = await createHarness({ handlers: { one: () => new Promise(() => {}) } });
    const runId = await h.engine.startRun(emptyPlan(), { keepOpen: true });
    await h.engine.closeRun(runId);
    expect(await finish(h.engine, runId)).toBe('succeeded');
    await rejectsWith(h.engine.closeRun(runId), 'NOT_FOUND');
    const other = await h.engine.startRun(emptyPlan('other'), { keepOpen: true });
    await h.engine.addTask(other, taskIr('hang', 'one'));
    await h.engine.closeRun(other);
    await rejectsWith(h.engine.closeRun(other), 'FAILED_PRECONDITION');
    await h.engine.cancelRun(other);
    expect(await finish(h.engine, other)).toBe('cancelled');
  });

  it('a cancelled open run ends at once, even with no task', async () => {
    const h = await createHarness({ handlers: {} });
    const runId = await h.engine.startRun(emptyPlan(), { keepOpen: true });
    const done = finish(h.engine, runId);
    await h.engine.cancelRun(runId);
    expect(await done).toBe('cancelled');
  });
});
