/**
 * The frontier's rules, on hand-built run states: when a dependant is released or skipped, how a
 * terminal task settles its dependants (cascading skips), and a run's final status.
 */
import { describe, expect, it } from 'vitest';
import { IR_DEFAULTS } from '../../../dsl/ir.js';
import { finalStatus, isTerminal, releaseDecision, settle } from '../../../engine/frontier.js';
import type { RunState, RuntimeTask } from '../../../engine/frontier.js';
import type { TaskStatus } from '../../../engine/stages.js';

/** A run of tasks given as `id -> needs`, all pending. */
function runOf(needs: Record<string, string[]>): RunState {
  const tasks = new Map<string, RuntimeTask>();
  for (const [id, n] of Object.entries(needs)) {
    tasks.set(id, {
      runId: 'r',
      id,
      ir: {
        id,
        needs: n,
        handler: { kind: 'uses', name: 'noop', with: {} },
        priority: 50,
        retries: IR_DEFAULTS.retries,
      },
      status: 'pending',
      attempt: 0,
      needsLeft: n.length,
      needs: n,
      dependants: [],
      estimateMs: 1,
      templated: false,
      lftAt: Infinity,
      cost: 1,
    });
  }
  for (const t of tasks.values()) for (const n of t.needs) tasks.get(n)!.dependants.push(t.id);
  return {
    runId: 'r',
    ir: {
      apiVersion: 'smartqueue/v1',
      name: 'w',
      labels: {},
      priority: 50,
      failurePolicy: 'continue',
      params: {},
      tasks: [],
    },
    params: {},
    startedAt: 0,
    shardKey: 'r',
    tasks,
    remaining: tasks.size,
    status: 'running',
    cancelled: false,
    deadlineMissed: false,
    handlers: new Map(),
    waiters: [],
    scope: { params: {}, run: {}, tasks: {} },
  };
}

const task = (run: RunState, id: string) => run.tasks.get(id)!;
const ids = (ts: { id: string }[]) => ts.map((t) => t.id).sort();

describe('isTerminal', () => {
  it('knows the terminal statuses', () => {
    const terminal: TaskStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled', 'timed-out'];
    const live: TaskStatus[] = ['pending', 'ready', 'dispatched', 'running'];
    for (const s of terminal) expect(isTerminal(s)).toBe(true);
    for (const s of live) expect(isTerminal(s)).toBe(false);
  });
});

describe('releaseDecision', () => {
  it('releases when every need succeeded, or at least one did and the others were skipped', () => {
    const run = runOf({ a: [], b: [], d: ['a', 'b'] });
    task(run, 'a').status = 'succeeded';
    task(run, 'b').status = 'succeeded';
    expect(releaseDecision(run, task(run, 'd'))).toEqual({ action: 'ready' });
    task(run, 'b').status = 'skipped';
    expect(releaseDecision(run, task(run, 'd'))).toEqual({ action: 'ready' });
  });

  it('skips when all needs were skipped', () => {
    const run = runOf({ a: [], b: [], d: ['a', 'b'] });
    task(run, 'a').status = 'skipped';
    task(run, 'b').status = 'skipped';
    expect(releaseDecision(run, task(run, 'd'))).toEqual({ action: 'skip', reason: 'all needs skipped' });
  });

  it('skips with "upstream <id> <status>" when a need failed, timed out or was cancelled', () => {
    for (const status of ['failed', 'timed-out', 'cancelled'] as const) {
      const run = runOf({ a: [], b: [], d: ['a', 'b'] });
      task(run, 'a').status = 'succeeded';
      task(run, 'b').status = status;
      expect(releaseDecision(run, task(run, 'd'))).toEqual({
        action: 'skip',
        reason: `upstream b ${status}`,
      });
    }
  });

  it('releases a task without needs', () => {
    const run = runOf({ a: [] });
    expect(releaseDecision(run, task(run, 'a'))).toEqual({ action: 'ready' });
  });
});

describe('settle', () => {
  it('releases dependants whose last need finished, and only those', () => {
    const run = runOf({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'] });
    let r = settle(run, task(run, 'a'), 'succeeded');
    expect(ids(r.ready)).toEqual(['b', 'c']);
    expect(r.skipped).toEqual([]);
    expect(run.remaining).toBe(3);
    r = settle(run, task(run, 'b'), 'succeeded');
    expect(r.ready).toEqual([]);
    expect(task(run, 'd').needsLeft).toBe(1);
    r = settle(run, task(run, 'c'), 'succeeded');
    expect(ids(r.ready)).toEqual(['d']);
    expect(run.remaining).toBe(1);
  });

  it('cascades skips below a failed task and counts each skipped task as done', () => {
    const run = runOf({ a: [], b: ['a'], c: ['b'], other: [] });
    const r = settle(run, task(run, 'a'), 'failed');
    expect(r.ready).toEqual([]);
    expect(r.skipped.map((s) => [s.task.id, s.reason])).toEqual([
      ['b', 'upstream a failed'],
      ['c', 'all needs skipped'],
    ]);
    expect(task(run, 'a').status).toBe('failed');
    expect(task(run, 'b').status).toBe('skipped');
    expect(task(run, 'c').status).toBe('skipped');
    expect(run.remaining).toBe(1);
  });

  it('does not count a task twice when it is settled again', () => {
    const run = runOf({ a: [], b: [] });
    settle(run, task(run, 'a'), 'cancelled');
    expect(run.remaining).toBe(1);
    settle(run, task(run, 'a'), 'succeeded');
    expect(run.remaining).toBe(1);
  });

  it('leaves dependants that are already terminal alone', () => {
    const run = runOf({ a: [], b: ['a'] });
    task(run, 'b').status = 'cancelled';
    run.remaining = 1;
    const r = settle(run, task(run, 'a'), 'failed');
    expect(r.ready).toEqual([]);
    expect(r.skipped).toEqual([]);
    expect(task(run, 'b').status).toBe('cancelled');
    expect(run.remaining).toBe(0);
  });
});

describe('finalStatus', () => {
  const withStatuses = (statuses: TaskStatus[], cancelled = false) => {
    const run = runOf(Object.fromEntries(statuses.map((_, i) => [`t${i}`, []])));
    statuses.forEach((s, i) => (task(run, `t${i}`).status = s));
    run.cancelled = cancelled;
    return finalStatus(run);
  };

  it('is failed when any task failed or timed out, even if others were cancelled', () => {
    expect(withStatuses(['succeeded', 'failed'])).toBe('failed');
    expect(withStatuses(['timed-out', 'succeeded'])).toBe('failed');
    expect(withStatuses(['cancelled', 'failed'], true)).toBe('failed');
  });

  it('is cancelled when a task was cancelled or the run was', () => {
    expect(withStatuses(['succeeded', 'cancelled'])).toBe('cancelled');
    expect(withStatuses(['succeeded'], true)).toBe('cancelled');
  });

  it('is succeeded when every task succeeded or was skipped', () => {
    expect(withStatuses(['succeeded', 'skipped'])).toBe('succeeded');
    expect(withStatuses(['skipped'])).toBe('succeeded');
  });
});
