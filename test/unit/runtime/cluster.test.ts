/**
 * ClusterMember's own logic, on the in-process stages with a coordinator whose shard ownership
 * the test moves by hand (the etcd coordinator's real ownership is tested against etcd in
 * test/conformance/coordinator-etcd.test.ts and the multi-process cluster test).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../engine/engine.js';
import type { TaskHandler } from '../../../engine/handler.js';
import type { CheckpointStore, Coordinator } from '../../../engine/stages.js';
import { createMemoryCheckpointStore } from '../../../plugins/checkpoint/memory/index.js';
import { createInProcessCoordinator } from '../../../plugins/coordinator/in-process/index.js';
import { ClusterMember, shardOfRun } from '../../../runtime/cluster.js';
import { rejectsWith } from '../../support/errors.js';
import {
  closeAllHarnesses,
  createHarness,
  eventually,
  finish,
  gate,
  plan,
  successesInStore,
} from '../engine/harness.js';

const SHARDS = 4;
const stores: CheckpointStore[] = [];
const members: ClusterMember[] = [];
afterEach(async () => {
  for (const m of members.splice(0)) await m.close();
  expect(await closeAllHarnesses()).toEqual([]);
  for (const s of stores.splice(0)) await s.close();
});

/** An in-process coordinator whose shard ownership the test sets. */
function movableCoordinator(): Coordinator & { own(owned: [number, number][]): void } {
  const base = createInProcessCoordinator();
  let listener: ((owned: ReadonlyMap<number, number>) => void) | undefined;
  return Object.assign(base, {
    onShardsChanged(_total: number, l: (owned: ReadonlyMap<number, number>) => void) {
      listener = l;
      return () => (listener = undefined);
    },
    own(owned: [number, number][]) {
      listener?.(new Map(owned));
    },
  });
}

async function member(store: CheckpointStore, name: string, handler: TaskHandler) {
  const coordinator = movableCoordinator();
  const cluster = new ClusterMember({
    coordinator,
    store,
    shards: SHARDS,
    awaitInFlightMs: 50,
    instanceId: name,
    rescanIntervalMs: 60_000,
  });
  members.push(cluster);
  const h = await createHarness({
    store,
    coordinator: cluster.engineCoordinator(),
    handlers: { step: handler },
    engine: { fenceOf: cluster.fenceOf },
  });
  const started = cluster.start(h.engine as Engine, 5000);
  return { h, cluster, coordinator, started };
}

/** Waits until the store says the run succeeded (a resumed run may end before the test looks). */
async function runSucceeded(store: CheckpointStore, runId: string): Promise<void> {
  const until = Date.now() + 5000;
  while ((await store.getRun(runId))?.status !== 'succeeded') {
    if (Date.now() > until) throw new Error(`run ${runId} did not succeed within 5 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const all = (epoch: number): [number, number][] => Array.from({ length: SHARDS }, (_, s) => [s, epoch]);
const flow = () =>
  plan({
    tasks: [
      { id: 'a', uses: 'step', estimate: '1ms' },
      { id: 'b', uses: 'step', needs: ['a'], estimate: '1ms' },
    ],
  });

describe('ClusterMember', () => {
  it('draws run ids on owned shards only, and refuses new runs while it owns none', async () => {
    const store = createMemoryCheckpointStore();
    stores.push(store);
    const a = await member(store, 'a', async () => ({}));
    await rejectsWith(a.h.engine.startRun(flow()), 'UNAVAILABLE');
    a.coordinator.own([[2, 7]]);
    await a.started;
    expect(a.cluster.ownedShards()).toEqual([2]);
    const ids = await Promise.all(Array.from({ length: 20 }, () => a.h.engine.startRun(flow())));
    for (const id of ids) expect(shardOfRun(id, SHARDS)).toBe(2);
    for (const id of ids) expect(await finish(a.h.engine, id)).toBe('succeeded');
    expect(a.cluster.fenceOf(ids[0]!)).toEqual({ shard: 2, epoch: 7 });
  });

  it('when a shard moves, the old owner lets go, the new one fences and resumes: one success per task', async () => {
    const store = createMemoryCheckpointStore();
    stores.push(store);
    const release = gate();
    const oldCalls: string[] = [];
    const a = await member(store, 'a', async (ctx) => {
      oldCalls.push(ctx.taskId);
      await release.promise;
      return { by: 'a' };
    });
    const b = await member(store, 'b', async () => ({ by: 'b' }));
    a.coordinator.own(all(1));
    await a.started;
    const runId = await a.h.engine.startRun(flow());
    await eventually(() => oldCalls.length === 1);

    // The shards move to b (a newer epoch); a hears it too.
    a.coordinator.own([]);
    b.coordinator.own(all(2));
    await b.started;
    await eventually(() => !a.h.engine.activeRuns().has(runId));
    await runSucceeded(store, runId);
    expect(a.cluster.stats.detached).toBe(1);
    expect(b.cluster.stats).toMatchObject({ resumed: 1, fenced: SHARDS });

    // a's attempt finishes late: it records nothing.
    release.open();
    await new Promise((r) => setTimeout(r, 50));
    expect(await successesInStore(store, runId)).toEqual(
      new Map([
        ['a', 1],
        ['b', 1],
      ]),
    );
    expect((await store.getTasks(runId)).map((t) => t.outputs)).toEqual([{ by: 'b' }, { by: 'b' }]);
  });

  it('a taking-over instance records the successes it heard for the run instead of running them again', async () => {
    const store = createMemoryCheckpointStore();
    stores.push(store);
    const a = await member(store, 'a', () => new Promise(() => {})); // a dies mid-attempt
    const bCalls: string[] = [];
    const b = await member(store, 'b', async (ctx) => {
      bCalls.push(ctx.taskId);
      return { by: 'b' };
    });
    a.coordinator.own(all(1));
    await a.started;
    const runId = await a.h.engine.startRun(flow());
    await eventually(() => a.h.engine.activeRuns().get(runId)?.tasks.get('a')?.status === 'dispatched');
    await a.h.close(); // the old owner is gone; its worker finished "a" and b heard the result
    b.cluster.holdResult({
      runId,
      taskId: 'a',
      attempt: 1,
      workerId: 'w-gone',
      ok: true,
      outputs: { by: 'worker of a' },
      startedAt: 1,
      finishedAt: 2,
    });
    b.coordinator.own(all(2));
    await b.started;
    // The resumed run has one task left to run, so it may be over before the test looks.
    await runSucceeded(store, runId);
    expect(bCalls).toEqual(['b']);
    expect(b.cluster.stats).toMatchObject({ adopted: 1, resumed: 1 });
    expect((await store.getTasks(runId)).map((t) => t.outputs)).toEqual([{ by: 'worker of a' }, { by: 'b' }]);
  });

  it('a paused old owner that never heard of the move cannot complete: the store fences it off', async () => {
    const store = createMemoryCheckpointStore();
    stores.push(store);
    const release = gate();
    const a = await member(store, 'a', async () => {
      await release.promise;
      return {};
    });
    a.coordinator.own(all(1));
    await a.started;
    const runId = await a.h.engine.startRun(flow());
    await eventually(() => a.h.engine.activeRuns().get(runId)?.tasks.get('a')?.status === 'dispatched');
    // Another instance took the shard (epoch 5) while a was paused; a was not told.
    await store.fenceShard({ shard: shardOfRun(runId, SHARDS), epoch: 5 });
    release.open();
    await eventually(() => !a.h.engine.activeRuns().has(runId));
    expect(await successesInStore(store, runId)).toEqual(new Map());
  });
});
