import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../engine/errors.js';
import { createInProcessCoordinator, IdGenerator } from '../../../../plugins/coordinator/in-process/index.js';

function fakeClock(start = 1_700_000_000_000): {
  now: () => number;
  advance: (ms: number) => void;
  set: (ms: number) => void;
} {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms), set: (ms) => (t = ms) };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(SmartQueueError);
  return (error as SmartQueueError).code;
}

describe('createInProcessCoordinator', () => {
  it('expires leases lazily on its clock, and keepAlive extends them', async () => {
    const clock = fakeClock();
    const coordinator = createInProcessCoordinator({ now: clock.now });
    const lease = await coordinator.register('worker', 'w1', 1000);
    await coordinator.register('worker', 'w0', 5000);
    clock.advance(999);
    expect(await coordinator.members('worker')).toEqual(['w0', 'w1']);
    await lease.keepAlive();
    clock.advance(999);
    expect(await coordinator.members('worker')).toEqual(['w0', 'w1']);
    clock.advance(1);
    expect(await coordinator.members('worker')).toEqual(['w0']);
    expect(await codeOf(lease.keepAlive())).toBe('NOT_FOUND');
    await coordinator.close();
  });

  it('replaces the lease of a member that registers again', async () => {
    const clock = fakeClock();
    const coordinator = createInProcessCoordinator({ now: clock.now });
    const old = await coordinator.register('scheduler', 's1', 1000);
    const fresh = await coordinator.register('scheduler', 's1', 1000);
    expect(fresh.id).not.toBe(old.id);
    // Revoking the replaced lease does not remove the member held by the new one.
    await old.revoke();
    expect(await coordinator.members('scheduler')).toEqual(['s1']);
    await fresh.revoke();
    expect(await coordinator.members('scheduler')).toEqual([]);
    await coordinator.close();
  });

  it('refuses bad registrations', async () => {
    const coordinator = createInProcessCoordinator();
    expect(await codeOf(coordinator.register('worker', 'w', 0))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(coordinator.register('worker', '', 100))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(coordinator.register('robot' as 'worker', 'w', 100))).toBe('INVALID_ARGUMENT');
    await coordinator.close();
  });

  it('owns every shard', async () => {
    const coordinator = createInProcessCoordinator();
    expect(await coordinator.ownedShards(4)).toEqual([0, 1, 2, 3]);
    expect(await coordinator.ownedShards(0)).toEqual([]);
    await coordinator.close();
  });

  it('hands a lock over in FIFO order', async () => {
    const coordinator = createInProcessCoordinator();
    const order: string[] = [];
    let release!: () => void;
    const first = coordinator.withLock('l', () =>
      new Promise<void>((resolve) => (release = resolve)).then(() => order.push('first')),
    );
    const rest = ['b', 'c', 'd'].map((n) => coordinator.withLock('l', async () => order.push(n)));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    release();
    await Promise.all([first, ...rest]);
    expect(order).toEqual(['first', 'b', 'c', 'd']);
    await coordinator.close();
  });

  it('on close, rejects lock waiters and later calls with UNAVAILABLE', async () => {
    const coordinator = createInProcessCoordinator();
    let release!: () => void;
    const holder = coordinator.withLock('l', () => new Promise<void>((resolve) => (release = resolve)));
    let ran = false;
    const waiter = coordinator.withLock('l', async () => {
      ran = true;
    });
    await new Promise((r) => setImmediate(r));
    await coordinator.close();
    expect(await codeOf(waiter)).toBe('UNAVAILABLE');
    release();
    await holder;
    expect(ran).toBe(false);
    expect(await codeOf(coordinator.withLock('other', async () => 1))).toBe('UNAVAILABLE');
    expect(await codeOf(coordinator.members('worker'))).toBe('UNAVAILABLE');
    expect(await codeOf(coordinator.reserve('k', 'v'))).toBe('UNAVAILABLE');
    expect(await codeOf(coordinator.register('worker', 'w', 100))).toBe('UNAVAILABLE');
  });

  it('makes short ids: prefix, 9 characters of time, 2 of counter', () => {
    const clock = fakeClock(Date.UTC(2025, 0, 1));
    const coordinator = createInProcessCoordinator({ now: clock.now });
    const first = coordinator.nextId('run');
    expect(first).toBe(`run_${Date.UTC(2025, 0, 1).toString(36).padStart(9, '0')}00`);
    expect(first).toHaveLength('run_'.length + 11);
    expect(coordinator.nextId('run')).toBe(`run_${Date.UTC(2025, 0, 1).toString(36).padStart(9, '0')}01`);
    expect(() => coordinator.nextId('bad_prefix')).toThrow(SmartQueueError);
    expect(() => coordinator.nextId('')).toThrow(/prefix/);
    expect(() => coordinator.nextId('a/b')).toThrow(/prefix/);
  });

  it('supports await using', async () => {
    let ref: ReturnType<typeof createInProcessCoordinator>;
    {
      await using coordinator = createInProcessCoordinator();
      ref = coordinator;
    }
    expect(await codeOf(ref.members('worker'))).toBe('UNAVAILABLE');
  });
});

const ID_RE = /^p_[0-9a-z]{11}$/;

describe('IdGenerator', () => {
  it('borrows the next ms when 1296 ids are made within one ms', () => {
    const clock = fakeClock(1_000_000);
    const ids = new IdGenerator(clock.now);
    const made = Array.from({ length: 1300 }, () => ids.next('t'));
    expect(made[1295]!.endsWith('zz')).toBe(true);
    expect(made[1296]).toBe(`t_${(1_000_001).toString(36).padStart(9, '0')}00`);
    expect(made.slice().sort()).toEqual(made);
    // The real clock catching up to the borrowed ms continues after it, not from it.
    clock.set(1_000_001);
    expect(ids.next('t') > made.at(-1)!).toBe(true);
  });

  it('makes strictly increasing ids whatever the clock does (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3_000_000_000_000 }), fc.integer({ min: 1, max: 50 })), {
          minLength: 1,
          maxLength: 40,
        }),
        (steps) => {
          let t = 0;
          const ids = new IdGenerator(() => t);
          let previous = '';
          for (const [time, count] of steps) {
            t = time;
            for (let i = 0; i < count; i++) {
              const id = ids.next('p');
              if (!(id > previous) || !ID_RE.test(id)) return false;
              previous = id;
            }
          }
          return true;
        },
      ),
    );
  });
});
