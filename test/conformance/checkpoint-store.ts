/**
 * The conformance suite of the CheckpointStore stage: every implementation (memory, SQLite,
 * Cassandra, Redis) registers it from its own `*.test.ts` file and must pass it unchanged.
 *
 * It only uses the CheckpointStore interface. Every test makes its own run ids and workflow name
 * (random), so a store whose data outlives one test (a shared keyspace or key prefix) still sees
 * only its own data.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../engine/errors.js';
import { rejectsWith as expectCode } from '../support/errors.js';

export { expectCode };
import type {
  CheckpointEvent,
  CheckpointStore,
  CompletionRecord,
  RunRecord,
  TaskRecord,
} from '../../engine/stages.js';

/** What a factory hands the suite: a fresh, open store and how to dispose of it. */
export interface CheckpointStoreHandle {
  store: CheckpointStore;
  /** Runs after the suite closed every store it got; removes files, keyspaces, key prefixes. */
  cleanup?: () => Promise<void>;
  /**
   * Durable stores only: closes the current store and opens a new one on the same data, so
   * the suite can check that flushed and closed-over writes survive. Omit for in-process stores.
   */
  reopen?: () => Promise<CheckpointStore>;
  /**
   * Shared stores only (required when the suite runs with `crossProcess`): how another process
   * opens a store on the same data: `(await import(module))[factory](options)`.
   */
  openInChild?: { module: string; factory: string; options: unknown };
}

export interface CheckpointStoreConformanceOptions {
  /**
   * The store is shared between processes (a file, a server): the suite also races completions
   * of the same attempts from separate processes, through `handle.openInChild`.
   */
  crossProcess?: boolean;
}

/**
 * Registers the CheckpointStore conformance tests. `factory` is called once per test and must
 * return a new store.
 */
export function checkpointStoreConformance(
  name: string,
  factory: () => Promise<CheckpointStoreHandle>,
  options: CheckpointStoreConformanceOptions = {},
): void {
  describe(`CheckpointStore conformance: ${name}`, () => {
    let handle: CheckpointStoreHandle;
    let store: CheckpointStore;
    let opened: CheckpointStore[];
    /** Unique per test, so listRuns can be scoped to this test's runs in a shared store. */
    let workflowName: string;

    beforeEach(async () => {
      handle = await factory();
      store = handle.store;
      opened = [store];
      workflowName = `wf-${randomUUID()}`;
    });

    afterEach(async () => {
      for (const s of opened) await s.close();
      await handle.cleanup?.();
    });

    function newRun(overrides: Partial<RunRecord> = {}): RunRecord {
      return {
        runId: `run-${randomUUID()}`,
        workflowName,
        workflow: { name: workflowName, tasks: [{ id: 'a', needs: [] }] },
        params: { day: '2024-05-01' },
        status: 'running',
        shardKey: 'tenant-1',
        createdAt: 1_700_000_000_000,
        ...overrides,
      };
    }

    async function createRun(taskIds: string[] = ['a', 'b', 'c'], overrides: Partial<RunRecord> = {}) {
      const run = newRun(overrides);
      await store.createRun(run, taskIds);
      return run;
    }

    /** What the engine does when it dispatches an attempt. */
    function startAttempt(runId: string, taskId: string, attempt: number, workerId = 'w1'): void {
      store.record(
        { runId, type: 'task:attempt:started', at: 1000 + attempt, taskId, attempt },
        { runId, taskId, status: 'running', attempt, workerId, startedAt: 1000 + attempt },
      );
    }

    function completion(
      runId: string,
      taskId: string,
      attempt: number,
      extra: Partial<CompletionRecord> = {},
    ) {
      return {
        runId,
        taskId,
        attempt,
        workerId: 'w1',
        outputs: { rows: 42 },
        startedAt: 1001,
        finishedAt: 2000,
        ...extra,
      };
    }

    async function task(runId: string, taskId: string): Promise<TaskRecord | undefined> {
      return (await store.getTasks(runId)).find((t) => t.taskId === taskId);
    }

    describe('runs', () => {
      it('createRun stores the run and getRun returns it as given', async () => {
        const run = newRun({
          params: { day: '2024-05-01', nested: { list: [1, 'two', null, true] } },
          deadlineAt: 1_700_000_360_000,
          deadlineMissed: false,
          labels: { team: 'data', tier: 'gold' },
        });
        await store.createRun(run, ['a']);
        expect(await store.getRun(run.runId)).toEqual(run);
      });

      it('stores copies: later changes to given or returned objects do not leak in', async () => {
        const run = newRun({ params: { n: 1 } });
        await store.createRun(run, ['a']);
        run.params.n = 2;
        const read = await store.getRun(run.runId);
        expect(read?.params).toEqual({ n: 1 });
        read!.params.n = 3;
        expect((await store.getRun(run.runId))?.params).toEqual({ n: 1 });
      });

      it('unknown runs read as undefined and empty', async () => {
        const runId = `run-${randomUUID()}`;
        expect(await store.getRun(runId)).toBeUndefined();
        expect(await store.getTasks(runId)).toEqual([]);
        expect(await store.getEvents(runId)).toEqual([]);
      });

      it('createRun of an existing run id rejects with ALREADY_EXISTS and changes nothing', async () => {
        const run = await createRun(['a']);
        await expectCode(store.createRun({ ...run, workflowName: 'other' }, ['a', 'z']), 'ALREADY_EXISTS');
        expect(await store.getRun(run.runId)).toEqual(run);
        expect((await store.getTasks(run.runId)).map((t) => t.taskId)).toEqual(['a']);
      });

      it('updateRun changes the given fields only', async () => {
        const run = await createRun(['a'], { labels: { team: 'data' } });
        await store.updateRun(run.runId, {
          status: 'succeeded',
          finishedAt: 1_700_000_100_000,
          deadlineMissed: true,
          workflowName: undefined,
        });
        expect(await store.getRun(run.runId)).toEqual({
          ...run,
          status: 'succeeded',
          finishedAt: 1_700_000_100_000,
          deadlineMissed: true,
        });
        await store.updateRun(run.runId, { labels: { team: 'ml' }, params: { day: '2024-05-02' } });
        expect(await store.getRun(run.runId)).toMatchObject({
          status: 'succeeded',
          labels: { team: 'ml' },
          params: { day: '2024-05-02' },
        });
      });

      it('updateRun of an unknown run rejects with NOT_FOUND', async () => {
        await expectCode(store.updateRun(`run-${randomUUID()}`, { status: 'failed' }), 'NOT_FOUND');
      });
    });

    describe('tasks', () => {
      it('tasks of a new run start pending at attempt 0', async () => {
        const run = await createRun(['extract', 'transform', 'load']);
        const tasks = sortTasks(await store.getTasks(run.runId));
        expect(tasks).toEqual(
          ['extract', 'load', 'transform'].map((taskId) => ({
            runId: run.runId,
            taskId,
            status: 'pending',
            attempt: 0,
          })),
        );
      });

      it('record applies a partial patch: only the given fields change', async () => {
        const run = await createRun(['a', 'b']);
        startAttempt(run.runId, 'a', 1, 'w7');
        store.record(
          { runId: run.runId, type: 'task:attempt:failed', at: 1500, taskId: 'a', attempt: 1 },
          {
            runId: run.runId,
            taskId: 'a',
            status: 'failed',
            error: 'boom',
            finishedAt: 1500,
            workerId: undefined,
          },
        );
        store.record(
          { runId: run.runId, type: 'task:ready', at: 1600, taskId: 'b' },
          { runId: run.runId, taskId: 'b', readyAt: 1600 },
        );
        await store.flush();
        expect(await task(run.runId, 'a')).toEqual({
          runId: run.runId,
          taskId: 'a',
          status: 'failed',
          attempt: 1,
          workerId: 'w7',
          startedAt: 1001,
          finishedAt: 1500,
          error: 'boom',
        });
        expect(await task(run.runId, 'b')).toEqual({
          runId: run.runId,
          taskId: 'b',
          status: 'pending',
          attempt: 0,
          readyAt: 1600,
        });
        store.record(
          { runId: run.runId, type: 'task:deadline:missed', at: 1700, taskId: 'b' },
          { runId: run.runId, taskId: 'b', deadlineMissed: true, outputs: { partial: [1, 2] } },
        );
        await store.flush();
        expect(await task(run.runId, 'b')).toMatchObject({
          status: 'pending',
          deadlineMissed: true,
          outputs: { partial: [1, 2] },
        });
      });

      it('addTasks adds pending tasks and leaves existing ones alone', async () => {
        const run = await createRun(['a']);
        startAttempt(run.runId, 'a', 1);
        await store.addTasks(run.runId, ['a', 'dyn-1', 'dyn-2']);
        const tasks = sortTasks(await store.getTasks(run.runId));
        expect(tasks.map((t) => [t.taskId, t.status, t.attempt])).toEqual([
          ['a', 'running', 1],
          ['dyn-1', 'pending', 0],
          ['dyn-2', 'pending', 0],
        ]);
      });

      it('addTasks to an unknown run rejects with NOT_FOUND', async () => {
        await expectCode(store.addTasks(`run-${randomUUID()}`, ['x']), 'NOT_FOUND');
      });

      it("addTasks keeps each added task's spec with its row; ids alone and the run's own tasks have none", async () => {
        const run = await createRun(['a']);
        const spec = {
          id: 'dyn-1',
          needs: ['a'],
          handler: { kind: 'uses', name: 'step', with: { n: 1, list: [1, 'two', null, true] } },
          priority: 50,
        };
        await store.addTasks(run.runId, [{ taskId: 'dyn-1', spec }, 'dyn-2', { taskId: 'dyn-3' }]);
        const tasks = sortTasks(await store.getTasks(run.runId));
        expect(tasks.map((t) => [t.taskId, t.spec])).toEqual([
          ['a', undefined],
          ['dyn-1', spec],
          ['dyn-2', undefined],
          ['dyn-3', undefined],
        ]);
        expect(tasks.every((t) => !('spec' in t) || t.taskId === 'dyn-1')).toBe(true);
        // A copy: later changes to the given or returned spec do not leak in.
        spec.needs.push('z');
        tasks[1]!.spec = 'changed';
        expect((await task(run.runId, 'dyn-1'))?.spec).toMatchObject({ needs: ['a'] });
      });

      it('an added task keeps its spec through record, completion, resetTasks and re-adding', async () => {
        const run = await createRun(['a']);
        const spec = { id: 'dyn', needs: [], handler: { kind: 'run', argv: ['echo', 'hi'] } };
        await store.addTasks(run.runId, [{ taskId: 'dyn', spec }]);
        startAttempt(run.runId, 'dyn', 1);
        expect(await store.completeTask(completion(run.runId, 'dyn', 1))).toBe(true);
        await store.resetTasks(run.runId, ['dyn']);
        await store.addTasks(run.runId, [{ taskId: 'dyn', spec: { id: 'dyn', other: true } }, 'a']);
        await store.flush();
        let reader = store;
        if (handle.reopen) {
          reader = await handle.reopen();
          opened.push(reader);
        }
        const tasks = sortTasks(await reader.getTasks(run.runId));
        expect(tasks.map((t) => [t.taskId, t.status, t.attempt, t.spec])).toEqual([
          ['a', 'pending', 0, undefined],
          ['dyn', 'pending', 1, spec],
        ]);
      });

      it("keeps the trace id of a task's latest traced attempt (what inspect links to)", async () => {
        const [t1, t2] = ['0af7651916cd43dd8448eb211c80319c', '4bf92f3577b34da6a3ce929d0e0e4736'];
        const run = await createRun(['a', 'b']);
        const dispatch = (attempt: number, traceId: string) =>
          store.record(
            { runId: run.runId, type: 'task:attempt:dispatched', at: 10 + attempt, taskId: 'a', attempt },
            { runId: run.runId, taskId: 'a', status: 'dispatched', attempt, workerId: 'w1', traceId },
          );
        dispatch(1, t1);
        await store.flush();
        expect((await task(run.runId, 'a'))?.traceId).toBe(t1);
        // A later patch that does not name it keeps it.
        store.record(
          { runId: run.runId, type: 'task:attempt:failed', at: 12, taskId: 'a', attempt: 1 },
          { runId: run.runId, taskId: 'a', status: 'pending', error: 'boom' },
        );
        await store.flush();
        expect((await task(run.runId, 'a'))?.traceId).toBe(t1);
        // The next traced attempt replaces it, and its completion keeps it.
        dispatch(2, t2);
        expect(await store.completeTask(completion(run.runId, 'a', 2))).toBe(true);
        await store.flush();
        let reader = store;
        if (handle.reopen) {
          reader = await handle.reopen();
          opened.push(reader);
        }
        const tasks = sortTasks(await reader.getTasks(run.runId));
        expect(tasks[0]).toMatchObject({ taskId: 'a', status: 'succeeded', traceId: t2 });
        expect(tasks[1]).not.toHaveProperty('traceId');
      });

      it('addTasks with a spec JSON cannot hold rejects with INVALID_ARGUMENT and adds nothing', async () => {
        const run = await createRun(['a']);
        const cyclic: Record<string, unknown> = { id: 'bad' };
        cyclic.self = cyclic;
        await expectCode(
          store.addTasks(run.runId, [
            { taskId: 'ok', spec: { id: 'ok' } },
            { taskId: 'bad', spec: cyclic },
          ]),
          'INVALID_ARGUMENT',
        );
        await expectCode(store.addTasks(run.runId, [{ taskId: '', spec: { id: '' } }]), 'INVALID_ARGUMENT');
        expect((await store.getTasks(run.runId)).map((t) => t.taskId)).toEqual(['a']);
      });
    });

    describe('events', () => {
      it('keeps events in order with increasing seq, and fromSeq filters from a seq on', async () => {
        const run = await createRun(['a']);
        const written: CheckpointEvent[] = Array.from({ length: 25 }, (_, i) => ({
          runId: run.runId,
          type: i % 2 ? 'task:attempt:started' : 'task:ready',
          at: 5000 + i,
          taskId: 'a',
          attempt: i,
          data: { i, tags: ['x', `n${i}`] },
        }));
        for (const event of written) store.record(event);
        await store.flush();
        const events = await store.getEvents(run.runId);
        expect(events).toHaveLength(25);
        events.forEach((event, i) => expect(event).toEqual({ ...written[i], seq: event.seq }));
        expectIncreasing(events.map((e) => e.seq));

        const from = events[10]!.seq!;
        expect(await store.getEvents(run.runId, from)).toEqual(events.slice(10));
        expect(await store.getEvents(run.runId, events[24]!.seq! + 1)).toEqual([]);
      });

      it('assigns seq itself, ignoring any seq the caller passes', async () => {
        const run = await createRun(['a']);
        store.record({ runId: run.runId, type: 'run:started', at: 1, seq: 999 });
        store.record({ runId: run.runId, type: 'run:note', at: 2, seq: 999 });
        await store.flush();
        const seqs = (await store.getEvents(run.runId)).map((e) => e.seq);
        expect(seqs).toHaveLength(2);
        expectIncreasing(seqs);
      });

      it('keeps one log per run, and seq keeps increasing across flushes', async () => {
        const one = await createRun(['a']);
        const two = await createRun(['a']);
        for (let i = 0; i < 5; i++) {
          store.record({ runId: one.runId, type: 'one', at: i, data: { i } });
          store.record({ runId: two.runId, type: 'two', at: i, data: { i } });
          if (i % 2 === 0) await store.flush();
        }
        await store.flush();
        for (const [run, type] of [
          [one, 'one'],
          [two, 'two'],
        ] as const) {
          const events = await store.getEvents(run.runId);
          expect(events.map((e) => [e.type, e.data])).toEqual([0, 1, 2, 3, 4].map((i) => [type, { i }]));
          expectIncreasing(events.map((e) => e.seq));
        }
      });
    });

    describe('once-only completion', () => {
      it('the first completion of the current attempt wins; repeats and other attempts lose', async () => {
        const run = await createRun(['a']);
        startAttempt(run.runId, 'a', 2, 'w2');
        expect(await store.completeTask(completion(run.runId, 'a', 1))).toBe(false);
        expect(await store.completeTask(completion(run.runId, 'a', 3))).toBe(false);
        expect(
          await store.completeTask(completion(run.runId, 'a', 2, { workerId: 'w2', outputs: { won: true } })),
        ).toBe(true);
        expect(
          await store.completeTask(
            completion(run.runId, 'a', 2, { workerId: 'w9', outputs: { won: false } }),
          ),
        ).toBe(false);
        expect(await task(run.runId, 'a')).toEqual({
          runId: run.runId,
          taskId: 'a',
          status: 'succeeded',
          attempt: 2,
          workerId: 'w2',
          startedAt: 1001,
          finishedAt: 2000,
          outputs: { won: true },
        });
        const succeeded = (await store.getEvents(run.runId)).filter(
          (e) => e.type === 'task:attempt:succeeded',
        );
        expect(succeeded).toHaveLength(1);
        expect(succeeded[0]).toMatchObject({
          taskId: 'a',
          attempt: 2,
          at: 2000,
          // The event carries the result, so the log alone can rebuild the task's state.
          data: { workerId: 'w2', outputs: { won: true } },
        });
      });

      it('a completion sees the record() calls made before it, without a flush in between', async () => {
        const run = await createRun(['a']);
        startAttempt(run.runId, 'a', 1);
        expect(await store.completeTask(completion(run.runId, 'a', 1))).toBe(true);
        const events = await store.getEvents(run.runId);
        expect(events.map((e) => e.type)).toEqual(['task:attempt:started', 'task:attempt:succeeded']);
        expectIncreasing(events.map((e) => e.seq));
      });

      it('of 10 concurrent completions of one attempt exactly one wins', async () => {
        const run = await createRun(['a']);
        startAttempt(run.runId, 'a', 1);
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store.completeTask(completion(run.runId, 'a', 1, { workerId: `w${i}`, outputs: { by: i } })),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect(await task(run.runId, 'a')).toMatchObject({
          status: 'succeeded',
          workerId: `w${winner}`,
          outputs: { by: winner },
        });
        const succeeded = (await store.getEvents(run.runId)).filter(
          (e) => e.type === 'task:attempt:succeeded',
        );
        expect(succeeded).toHaveLength(1);
      });

      it('concurrent completions across many tasks: one winner per task', async () => {
        const taskIds = Array.from({ length: 20 }, (_, i) => `t${i}`);
        const run = await createRun(taskIds);
        for (const taskId of taskIds) startAttempt(run.runId, taskId, 1);
        const calls = taskIds.flatMap((taskId) => [1, 2, 3].map((n) => ({ taskId, n })));
        const results = await Promise.all(
          calls.map(({ taskId, n }) =>
            store.completeTask(completion(run.runId, taskId, 1, { workerId: `w${n}` })),
          ),
        );
        for (const taskId of taskIds) {
          expect(results.filter((won, i) => won && calls[i]!.taskId === taskId)).toHaveLength(1);
        }
        expect((await store.getTasks(run.runId)).every((t) => t.status === 'succeeded')).toBe(true);
      });

      it('a completion is visible after flush', async () => {
        const run = await createRun(['a']);
        startAttempt(run.runId, 'a', 1);
        const pending = store.completeTask(completion(run.runId, 'a', 1));
        await store.flush();
        expect(await task(run.runId, 'a')).toMatchObject({ status: 'succeeded', outputs: { rows: 42 } });
        expect(await pending).toBe(true);
      });

      it('a completion clears the error of an earlier attempt', async () => {
        const run = await createRun(['a']);
        startAttempt(run.runId, 'a', 1);
        store.record(
          { runId: run.runId, type: 'task:attempt:failed', at: 1500, taskId: 'a', attempt: 1 },
          { runId: run.runId, taskId: 'a', status: 'failed', error: 'timeout' },
        );
        startAttempt(run.runId, 'a', 2);
        expect(await store.completeTask(completion(run.runId, 'a', 2, { deadlineMissed: true }))).toBe(true);
        const done = await task(run.runId, 'a');
        expect(done).toMatchObject({ status: 'succeeded', attempt: 2, deadlineMissed: true });
        expect(done?.error).toBeUndefined();
      });

      it('completing an unknown task resolves false', async () => {
        const run = await createRun(['a']);
        expect(await store.completeTask(completion(run.runId, 'nope', 1))).toBe(false);
        expect(await store.completeTask(completion(`run-${randomUUID()}`, 'a', 1))).toBe(false);
        expect(await store.getEvents(run.runId)).toEqual([]);
      });

      it('a payload JSON cannot hold fails its own call with INVALID_ARGUMENT, and nothing else', async () => {
        const run = await createRun(['a', 'b']);
        startAttempt(run.runId, 'a', 1);
        startAttempt(run.runId, 'b', 1);
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        const bad = store.completeTask(completion(run.runId, 'a', 1, { outputs: circular }));
        const good = store.completeTask(completion(run.runId, 'b', 1));
        await expectCode(bad, 'INVALID_ARGUMENT');
        expect(await good).toBe(true);
        expect(() => store.record({ runId: run.runId, type: 'x', at: 1, data: circular })).toThrow(
          SmartQueueError,
        );
        expect(await store.completeTask(completion(run.runId, 'a', 1))).toBe(true);
      });
    });

    if (options.crossProcess) {
      it('separate processes racing completions of the same attempts: exactly one wins per task', async () => {
        const opener = handle.openInChild;
        expect(opener, 'a crossProcess store must give openInChild').toBeDefined();
        const taskIds = Array.from({ length: 40 }, (_, i) => `t${i}`);
        const run = await createRun(taskIds);
        for (const taskId of taskIds) startAttempt(run.runId, taskId, 1);
        await store.flush();
        const startAt = Date.now() + 2000;
        // Each child opens the store, waits for the common start time, then completes every task
        // one call at a time, so the processes contend on every task.
        const child = (id: string) => `
          const mod = await import(${JSON.stringify(opener!.module)});
          const store = await mod[${JSON.stringify(opener!.factory)}](${JSON.stringify(opener!.options)});
          while (Date.now() < ${startAt}) await new Promise((r) => setTimeout(r, 1));
          const won = [];
          for (const taskId of ${JSON.stringify(taskIds)}) won.push(await store.completeTask({
            runId: ${JSON.stringify(run.runId)}, taskId, attempt: 1, workerId: ${JSON.stringify(id)},
            outputs: { by: ${JSON.stringify(id)} }, startedAt: 1, finishedAt: 2 }));
          await store.close();
          process.stdout.write(JSON.stringify(won));`;
        const root = fileURLToPath(new URL('../../', import.meta.url));
        const outputs = await Promise.all(
          ['p1', 'p2', 'p3'].map((id) =>
            promisify(execFile)(
              process.execPath,
              ['--import', 'tsx', '--input-type=module', '-e', child(id)],
              {
                cwd: root,
              },
            ),
          ),
        );
        const won = outputs.map((o) => JSON.parse(o.stdout) as boolean[]);
        taskIds.forEach((_, i) => expect(won.filter((w) => w[i]).length).toBe(1));
        const tasks = await store.getTasks(run.runId);
        expect(tasks.every((t) => t.status === 'succeeded')).toBe(true);
        // The recorded outputs are the winner's.
        for (const [i, taskId] of taskIds.entries()) {
          const winner = ['p1', 'p2', 'p3'][won.findIndex((w) => w[i])];
          expect(tasks.find((t) => t.taskId === taskId)?.outputs).toEqual({ by: winner });
        }
        const events = await store.getEvents(run.runId);
        expect(events.filter((e) => e.type === 'task:attempt:succeeded')).toHaveLength(taskIds.length);
      }, 60_000);
    }

    describe('shard fencing', () => {
      /** A shard number of this test's own (the store may be shared with other tests). */
      const shardOfTest = () => 1 + Math.floor(Math.random() * 1_000_000_000);

      it('after a newer owner fences the shard, the old owner cannot complete; the new one can', async () => {
        const shard = shardOfTest();
        const run = await createRun(['a', 'b']);
        startAttempt(run.runId, 'a', 1);
        startAttempt(run.runId, 'b', 1);
        await store.fenceShard({ shard, epoch: 5 });
        expect(await store.completeTask(completion(run.runId, 'b', 1, { fence: { shard, epoch: 5 } }))).toBe(
          true,
        );
        await store.fenceShard({ shard, epoch: 9 });
        const err = await expectCode(
          store.completeTask(completion(run.runId, 'a', 1, { fence: { shard, epoch: 5 } })),
          'FAILED_PRECONDITION',
        );
        expect(err.details).toMatchObject({ fenced: true, shard, epoch: 5, currentEpoch: 9 });
        expect((await task(run.runId, 'a'))?.status).toBe('running');
        expect(await store.completeTask(completion(run.runId, 'a', 1, { fence: { shard, epoch: 9 } }))).toBe(
          true,
        );
        const events = await store.getEvents(run.runId);
        expect(events.filter((e) => e.type === 'task:attempt:succeeded').map((e) => e.taskId)).toEqual([
          'b',
          'a',
        ]);
      });

      it('epochs only move forward; the same epoch again is a no-op; shards are fenced separately', async () => {
        const shard = shardOfTest();
        await store.fenceShard({ shard, epoch: 3 });
        await store.fenceShard({ shard, epoch: 3 });
        const err = await expectCode(store.fenceShard({ shard, epoch: 2 }), 'FAILED_PRECONDITION');
        expect(err.details).toMatchObject({ fenced: true, currentEpoch: 3 });
        const run = await createRun(['a', 'b']);
        startAttempt(run.runId, 'a', 1);
        startAttempt(run.runId, 'b', 1);
        // Another shard, never fenced, and a completion without a fence are not affected.
        expect(
          await store.completeTask(completion(run.runId, 'a', 1, { fence: { shard: shard + 1, epoch: 0 } })),
        ).toBe(true);
        expect(await store.completeTask(completion(run.runId, 'b', 1))).toBe(true);
        await expectCode(store.fenceShard({ shard: -1, epoch: 1 }), 'INVALID_ARGUMENT');
      });

      it('a fenced completion loses nothing else: the once-only rule still holds for the owner', async () => {
        const shard = shardOfTest();
        await store.fenceShard({ shard, epoch: 7 });
        const run = await createRun(['a']);
        startAttempt(run.runId, 'a', 1);
        const fence = { shard, epoch: 7 };
        const results = await Promise.all(
          Array.from({ length: 5 }, () => store.completeTask(completion(run.runId, 'a', 1, { fence }))),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('fences hold for later calls (and across a reopen, for durable stores)', async () => {
        const shard = shardOfTest();
        const run = await createRun(['a']);
        startAttempt(run.runId, 'a', 1);
        await store.fenceShard({ shard, epoch: 11 });
        let reader = store;
        if (handle.reopen) {
          reader = await handle.reopen();
          opened.push(reader);
        }
        await expectCode(
          reader.completeTask(completion(run.runId, 'a', 1, { fence: { shard, epoch: 10 } })),
          'FAILED_PRECONDITION',
        );
        await expectCode(reader.fenceShard({ shard, epoch: 10 }), 'FAILED_PRECONDITION');
        expect(
          await reader.completeTask(completion(run.runId, 'a', 1, { fence: { shard, epoch: 11 } })),
        ).toBe(true);
      });
    });

    describe('replay', () => {
      it('resetTasks makes tasks pending again, clears their results, keeps attempts; a new attempt completes', async () => {
        const run = await createRun(['a', 'b', 'c']);
        startAttempt(run.runId, 'a', 1);
        expect(await store.completeTask(completion(run.runId, 'a', 1))).toBe(true);
        startAttempt(run.runId, 'b', 3);
        store.record(
          { runId: run.runId, type: 'task:attempt:failed', at: 1600, taskId: 'b', attempt: 3 },
          { runId: run.runId, taskId: 'b', status: 'failed', error: 'boom', finishedAt: 1600 },
        );
        startAttempt(run.runId, 'c', 1);
        expect(await store.completeTask(completion(run.runId, 'c', 1))).toBe(true);

        await store.resetTasks(run.runId, ['a', 'b']);
        const [a, b, c] = sortTasks(await store.getTasks(run.runId));
        for (const [reset, attempt] of [
          [a, 1],
          [b, 3],
        ] as const) {
          expect(reset).toMatchObject({ status: 'pending', attempt });
          expect(reset?.outputs).toBeUndefined();
          expect(reset?.error).toBeUndefined();
          expect(reset?.finishedAt).toBeUndefined();
        }
        expect(c).toMatchObject({ status: 'succeeded', outputs: { rows: 42 }, finishedAt: 2000 });

        startAttempt(run.runId, 'a', 2);
        expect(await store.completeTask(completion(run.runId, 'a', 1))).toBe(false);
        expect(await store.completeTask(completion(run.runId, 'a', 2, { outputs: { rows: 7 } }))).toBe(true);
        expect(await store.completeTask(completion(run.runId, 'a', 2))).toBe(false);
        expect(await task(run.runId, 'a')).toMatchObject({
          status: 'succeeded',
          attempt: 2,
          outputs: { rows: 7 },
        });
      });

      it('resetTasks of an unknown run rejects with NOT_FOUND', async () => {
        await expectCode(store.resetTasks(`run-${randomUUID()}`, ['a']), 'NOT_FOUND');
      });

      it('completion stays once-only under any order of starts, resets and completions', async () => {
        type Op =
          { kind: 'start' | 'complete'; task: number; attempt: number } | { kind: 'reset'; task: number };
        const op: fc.Arbitrary<Op> = fc.oneof(
          fc.record({
            kind: fc.constantFrom('start' as const, 'complete' as const),
            task: fc.nat(2),
            attempt: fc.integer({ min: 1, max: 3 }),
          }),
          fc.record({ kind: fc.constant('reset' as const), task: fc.nat(2) }),
        );
        await fc.assert(
          fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
            const taskIds = ['t0', 't1', 't2'];
            const run = await createRun(taskIds);
            // The model: the documented semantics, applied in call order.
            const model = taskIds.map(() => ({ status: 'pending', attempt: 0 }));
            const expected: boolean[] = [];
            const actual: Promise<boolean>[] = [];
            const resets: Promise<void>[] = [];
            // No awaits in between: the store must keep call order within its batches.
            for (const o of ops) {
              const m = model[o.task]!;
              const taskId = taskIds[o.task]!;
              if (o.kind === 'start') {
                Object.assign(m, { status: 'running', attempt: o.attempt });
                startAttempt(run.runId, taskId, o.attempt);
              } else if (o.kind === 'reset') {
                m.status = 'pending';
                resets.push(store.resetTasks(run.runId, [taskId]));
              } else {
                const wins = m.status !== 'succeeded' && m.attempt === o.attempt;
                if (wins) m.status = 'succeeded';
                expected.push(wins);
                actual.push(store.completeTask(completion(run.runId, taskId, o.attempt)));
              }
            }
            await Promise.all(resets);
            expect(await Promise.all(actual)).toEqual(expected);
            const tasks = sortTasks(await store.getTasks(run.runId));
            expect(tasks.map((t) => ({ status: t.status, attempt: t.attempt }))).toEqual(model);
          }),
          { numRuns: 40 },
        );
      });
    });

    describe('listRuns', () => {
      /** createdAt offsets with ties, so the runId tie-break matters. */
      const OFFSETS = [5, 3, 3, 9, 1, 7, 3];

      async function createRuns(): Promise<RunRecord[]> {
        const runs = OFFSETS.map((offset) => newRun({ createdAt: 1_700_000_000_000 + offset }));
        for (const run of runs) await store.createRun(run, ['a']);
        // The documented order: newest first, then by runId.
        return [...runs].sort((x, y) => y.createdAt - x.createdAt || (x.runId < y.runId ? -1 : 1));
      }

      it('pages newest first (ties by runId) with a cursor until there is no next page', async () => {
        const expected = await createRuns();
        await store.createRun(newRun({ workflowName: `other-${randomUUID()}` }), ['a']);
        const pages: RunRecord[][] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listRuns({ workflowName, limit: 3, cursor });
          pages.push(page.runs);
          cursor = page.nextCursor;
        } while (cursor !== undefined && pages.length < 10);
        expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
        expect(pages.flat()).toEqual(expected);
      });

      it('filters by status, and pages the filtered list', async () => {
        const runs = await createRuns();
        const done = [runs[0]!, runs[3]!, runs[6]!];
        for (const run of done)
          await store.updateRun(run.runId, { status: 'succeeded', finishedAt: run.createdAt + 1 });
        const first = await store.listRuns({ workflowName, status: 'succeeded', limit: 2 });
        expect(first.runs.map((r) => r.runId)).toEqual([done[0]!.runId, done[1]!.runId]);
        expect(first.nextCursor).toBeDefined();
        const second = await store.listRuns({
          workflowName,
          status: 'succeeded',
          limit: 2,
          cursor: first.nextCursor,
        });
        expect(second.runs.map((r) => r.runId)).toEqual([done[2]!.runId]);
        expect(second.nextCursor).toBeUndefined();
        const running = await store.listRuns({ workflowName, status: 'running' });
        expect(running.runs.map((r) => r.runId)).toEqual(
          runs.filter((r) => !done.includes(r)).map((r) => r.runId),
        );
        expect(running.runs.every((r) => r.status === 'running')).toBe(true);
      });

      it('rejects a cursor it did not issue with INVALID_ARGUMENT', async () => {
        await createRuns();
        await expectCode(store.listRuns({ workflowName, cursor: 'not-a-cursor' }), 'INVALID_ARGUMENT');
      });
    });

    describe('durability', () => {
      it('every batched write is there after flush (and after close, for durable stores)', async () => {
        const run = await createRun(['a', 'b']);
        startAttempt(run.runId, 'a', 1);
        for (let i = 0; i < 200; i++)
          store.record({ runId: run.runId, type: 'task:progress', at: i, taskId: 'a', data: { i } });
        const won = store.completeTask(completion(run.runId, 'a', 1));
        store.record(
          { runId: run.runId, type: 'task:ready', at: 3000, taskId: 'b' },
          { runId: run.runId, taskId: 'b', status: 'ready', readyAt: 3000 },
        );
        await store.flush();
        expect(await won).toBe(true);

        let reader = store;
        if (handle.reopen) {
          // Written but neither flushed nor awaited: close() must commit it.
          store.record({ runId: run.runId, type: 'run:note', at: 4000 });
          reader = await handle.reopen();
          opened.push(reader);
        }
        const events = await reader.getEvents(run.runId);
        expect(events.filter((e) => e.type === 'task:progress').map((e) => e.data?.i)).toEqual(
          Array.from({ length: 200 }, (_, i) => i),
        );
        expect(events.filter((e) => e.type === 'task:attempt:succeeded')).toHaveLength(1);
        expect(events.filter((e) => e.type === 'run:note')).toHaveLength(handle.reopen ? 1 : 0);
        expectIncreasing(events.map((e) => e.seq));
        expect(sortTasks(await reader.getTasks(run.runId)).map((t) => [t.taskId, t.status])).toEqual([
          ['a', 'succeeded'],
          ['b', 'ready'],
        ]);
        expect(await reader.getRun(run.runId)).toEqual(run);
        // A completion after a reopen still knows the task already succeeded.
        expect(await reader.completeTask(completion(run.runId, 'a', 1))).toBe(false);
      });
    });

    describe('lifecycle', () => {
      it('close is idempotent and every later call fails with UNAVAILABLE', async () => {
        const run = await createRun(['a']);
        await store.close();
        await store.close();
        await expectCode(store.getRun(run.runId), 'UNAVAILABLE');
        await expectCode(store.completeTask(completion(run.runId, 'a', 1)), 'UNAVAILABLE');
        await expectCode(store.flush(), 'UNAVAILABLE');
        expect(() => store.record({ runId: run.runId, type: 'x', at: 1 })).toThrow(SmartQueueError);
      });
    });
  });
}

function expectIncreasing(seqs: (number | undefined)[]): void {
  for (const seq of seqs) expect(Number.isInteger(seq)).toBe(true);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
}

/** The interface does not fix the order of getTasks, so the suite compares by task id. */
function sortTasks(tasks: TaskRecord[]): TaskRecord[] {
  return [...tasks].sort((x, y) => (x.taskId < y.taskId ? -1 : x.taskId > y.taskId ? 1 : 0));
}
