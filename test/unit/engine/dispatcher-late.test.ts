/**
 * The dispatcher's late tier (DispatcherOptions.isLate): a head that can no longer meet its
 * deadline waits behind every on-time task, in every owned shard, and still runs when nothing
 * on time is waiting; cancel and re-key find it there.
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../../engine/dispatcher.js';
import type { RuntimeTask } from '../../../engine/frontier.js';
import type { Balancer } from '../../../engine/stages.js';

/** A balancer with one worker, which has room while `room.open` holds. */
function oneWorker(room = { open: true }): Balancer {
  return { pick: () => (room.open ? 'w1' : undefined), flush: () => undefined } as unknown as Balancer;
}

/** A waiting task; `late` in the test's sense is decided by its key (like LST < now). */
function task(id: string): RuntimeTask {
  return {
    id,
    runId: 'r',
    ir: { handler: { kind: 'uses', name: 'work', with: {} } },
  } as unknown as RuntimeTask;
}

function setup(lateKeysBelow: number | undefined, shards = 2, balancer = oneWorker()) {
  const sent: string[] = [];
  const deferred: string[] = [];
  const keys = new Map<RuntimeTask, number>();
  const d = new Dispatcher({
    balancer,
    shards,
    send: (t) => sent.push(t.id),
    ...(lateKeysBelow === undefined
      ? {}
      : {
          isLate: (t: RuntimeTask) => keys.get(t)! < lateKeysBelow,
          onDeferred: (t: RuntimeTask) => deferred.push(t.id),
        }),
  });
  const add = (id: string, key: number, shardKey = id): RuntimeTask => {
    const t = task(id);
    keys.set(t, key);
    d.enqueue(t, shardKey, key, 0);
    return t;
  };
  return { d, sent, deferred, add, keys };
}

describe('Dispatcher late tier', () => {
  it('without isLate, dispatches by key alone (the late task first)', () => {
    const { d, sent, add } = setup(undefined);
    add('late', 1);
    add('on-time-a', 20);
    add('on-time-b', 10);
    d.tick();
    expect(sent).toEqual(['late', 'on-time-b', 'on-time-a']);
  });

  it('puts late heads of every shard behind all on-time tasks, then runs them most overdue first', () => {
    const { d, sent, deferred, add } = setup(5, 4);
    add('late-2', 2, 'x');
    add('on-time-20', 20, 'y');
    add('late-1', 1, 'z');
    add('on-time-10', 10, 'x');
    add('late-3', 3, 'y');
    expect(d.readyCount).toBe(5);
    d.tick();
    expect(sent).toEqual(['on-time-10', 'on-time-20', 'late-1', 'late-2', 'late-3']);
    expect([...deferred].sort()).toEqual(['late-1', 'late-2', 'late-3']);
    expect(d.readyCount).toBe(0);
    expect(d.readyPerShard().reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('counts deferred tasks as ready, and cancels and re-keys them in the late tier', () => {
    const room = { open: true };
    const { d, sent, add, keys } = setup(5, 1, oneWorker(room));
    const a = add('late-a', 1);
    const b = add('late-b', 2);
    const c = add('late-c', 3);
    add('on-time', 50);
    // The worker is full: the tick moves the late heads but dispatches nothing.
    room.open = false;
    d.tick();
    expect(sent).toEqual([]);
    expect(a.late && b.late && c.late).toBe(true);
    expect(d.readyPerShard()).toEqual([4]);
    expect(d.remove(b)).toBe(true);
    expect(b.late).toBeUndefined();
    expect(d.remove(b)).toBe(false);
    // c becomes the most overdue; a re-key within the late tier reorders it.
    keys.set(c, 0);
    d.rekey(c, 0);
    room.open = true;
    d.tick();
    expect(sent).toEqual(['on-time', 'late-c', 'late-a']);
    expect(d.readyCount).toBe(0);
  });
});
