/**
 * Cluster mode in the engine: completions carry the run's shard fence, a completion refused as
 * fenced detaches the run (the new owner resumes it), and detachRun lets go of a run without
 * recording anything.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskHandler } from '../../../engine/handler.js';
import type { CheckpointStore, ShardFence } from '../../../engine/stages.js';
import { createMemoryCheckpointStore } from '../../../plugins/checkpoint/memory/index.js';
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

const twoStep = () =>
  plan({
    tasks: [
      { id: 'a', uses: 'step', estimate: '1ms' },
      { id: 'b', uses: 'step', needs: ['a'], estimate: '1ms' },
    ],
  });

describe('shard fencing in the engine', () => {
  it('a fenced completion records nothing and detaches the run; the new owner resumes and finishes it', async () => {
    const store = sharedStore();
    const release = gate();
    const calls: string[] = [];
    const handler: TaskHandler = async (ctx) => {
      calls.push(`old:${ctx.taskId}`);
      await release.promise;
      return {};
    };
    const fence: ShardFence = { shard: 3, epoch: 10 };
    await store.fenceShard(fence);
    const old = await createHarness({ store, handlers: { step: handler }, engine: { fenceOf: () => fence } });
    const discarded = record(old.engine, 'task:attempt:succeeded');
    const runId = await old.engine.startRun(twoStep());
    await eventually(() => calls.length === 1);

    // A newer owner takes the shard over while the old one's attempt is still running.
    await store.fenceShard({ shard: 3, epoch: 11 });
    release.open();
    await eventually(() => !old.engine.activeRuns().has(runId));
    expect(discarded).toEqual([]);
    expect((await tasksById(store, runId)).get('a')?.status).not.toBe('succeeded');

    const next = await createHarness({
      store,
      handlers: { step: async () => ({}) },
      engine: { fenceOf: () => ({ shard: 3, epoch: 11 }) },
    });
    await next.engine.resumeRun(runId);
    expect(await finish(next.engine, runId)).toBe('succeeded');
    expect(await successesInStore(store, runId)).toEqual(
      new Map([
        ['a', 1],
        ['b', 1],
      ]),
    );
  });

  it('detachRun drops queued tasks and frees worker slots without recording anything', async () => {
    const store = sharedStore();
    const release = gate();
    const started: string[] = [];
    const h = await createHarness({
      store,
      capacity: 1,
      handlers: {
        step: async (ctx) => {
          started.push(ctx.taskId);
          await release.promise;
          return {};
        },
      },
    });
    const wide = plan({
      tasks: Array.from({ length: 4 }, (_, i) => ({ id: `t${i}`, uses: 'step', estimate: '1ms' })),
    });
    const runId = await h.engine.startRun(wide);
    await eventually(() => started.length === 1);
    expect(h.engine.readyCount).toBe(3);
    const eventsBefore = (await store.getEvents(runId)).length;
    const waiting = h.engine.waitForRun(runId);

    expect(h.engine.detachRun(runId)).toBe(true);
    expect(h.engine.detachRun(runId)).toBe(false);
    expect(await waiting).toBe('running');
    expect(h.engine.readyCount).toBe(0);
    expect(h.balancer.snapshot().find((w) => w.id === 'w1')?.running).toBe(0);

    // The late result of the detached attempt changes nothing in the store.
    release.open();
    await new Promise((r) => setTimeout(r, 50));
    expect(started).toHaveLength(1);
    await store.flush();
    expect((await store.getEvents(runId)).length).toBe(eventsBefore);
    expect((await store.getRun(runId))?.status).toBe('running');
  });

  describe('resuming with awaitInFlightMs (a takeover)', () => {
    async function crashWithAttemptInFlight() {
      const store = sharedStore();
      const first = await createHarness({ store, handlers: { step: () => new Promise(() => {}) } });
      const runId = await first.engine.startRun(twoStep());
      await eventually(() => first.engine.activeRuns().get(runId)?.tasks.get('a')?.status === 'dispatched');
      await first.close(); // the scheduler dies; its worker may still be running "a"
      return { store, runId };
    }

    it('takes the late result of the in-flight attempt instead of running it again', async () => {
      const { store, runId } = await crashWithAttemptInFlight();
      const calls: string[] = [];
      const next = await createHarness({
        store,
        handlers: {
          step: async (ctx) => {
            calls.push(`${ctx.taskId}#${ctx.attempt}`);
            return {};
          },
        },
      });
      await next.engine.resumeRun(runId, { awaitInFlightMs: 60_000 });
      expect(next.engine.activeRuns().get(runId)?.tasks.get('a')).toMatchObject({
        status: 'dispatched',
        attempt: 1,
      });
      // The old worker finishes attempt 1 and its result arrives.
      await next.transport.publishResult({
        runId,
        taskId: 'a',
        attempt: 1,
        workerId: 'old-worker',
        ok: true,
        outputs: { late: true },
        startedAt: 1,
        finishedAt: 2,
      });
      expect(await finish(next.engine, runId)).toBe('succeeded');
      expect(calls).toEqual(['b#1']);
      expect((await tasksById(store, runId)).get('a')?.outputs).toEqual({ late: true });
    });

    it('sends the same attempt again when no result comes within the wait', async () => {
      const { store, runId } = await crashWithAttemptInFlight();
      const calls: string[] = [];
      const next = await createHarness({
        store,
        handlers: {
          step: async (ctx) => {
            calls.push(`${ctx.taskId}#${ctx.attempt}`);
            return {};
          },
        },
      });
      const lost = record(next.engine, 'task:attempt:lost');
      await next.engine.resumeRun(runId, { awaitInFlightMs: 50 });
      expect(await finish(next.engine, runId)).toBe('succeeded');
      // Attempt 1 again, not attempt 2: a worker that already ran it answers from its record.
      expect(calls).toEqual(['a#1', 'b#1']);
      expect(lost.map((e) => [e.taskId, e.attempt, e.reason])).toEqual([
        ['a', 1, 'no result within 50 ms of the takeover: sending attempt 1 again'],
      ]);
      expect((await tasksById(store, runId)).get('a')).toMatchObject({ status: 'succeeded', attempt: 1 });
    });
  });
});
