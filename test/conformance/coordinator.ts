/**
 * The conformance suite of the Coordinator stage: every implementation (in-process, etcd)
 * registers it from its own `*.test.ts` file and must pass it unchanged.
 *
 * It only uses the Coordinator interface, with real time (no fake clocks), and every test uses
 * fresh random member ids, lock names and keys, so a coordinator whose data outlives one test
 * (a shared etcd key prefix) still sees only its own.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../engine/errors.js';
import type { Coordinator } from '../../engine/stages.js';

/** What a factory hands the suite: a fresh, open coordinator and how to dispose of it. */
export interface CoordinatorHandle {
  coordinator: Coordinator;
  /** Runs after the suite closed the coordinator; removes key prefixes and the like. */
  cleanup?: () => Promise<void>;
}

/** Timing knobs: a server-backed coordinator has a minimum lease TTL (etcd rounds up to ~2 s). */
export interface CoordinatorConformanceOptions {
  /**
   * TTL of the leases the suite registers, in ms. Expiry tests wait about twice this long.
   * @default 1000
   */
  leaseTtlMs?: number;
  /**
   * How long the suite waits for an unrenewed lease to drop its member, in ms.
   * @default 10000
   */
  expiryTimeoutMs?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, but the promise resolved');
    },
    (err: unknown) => err,
  );
}

/**
 * Registers the Coordinator conformance tests. `factory` is called once per test and must
 * return a new coordinator.
 */
export function coordinatorConformance(
  name: string,
  factory: () => Promise<CoordinatorHandle> | CoordinatorHandle,
  options: CoordinatorConformanceOptions = {},
): void {
  const leaseTtlMs = options.leaseTtlMs ?? 1000;
  const expiryTimeoutMs = options.expiryTimeoutMs ?? 10_000;

  describe(`Coordinator conformance: ${name}`, () => {
    let handle: CoordinatorHandle;
    let coordinator: Coordinator;

    beforeEach(async () => {
      handle = await factory();
      coordinator = handle.coordinator;
    });

    afterEach(async () => {
      await coordinator.close();
      await handle.cleanup?.();
    });

    const unique = (what: string): string => `${what}-${randomUUID()}`;

    describe('membership', () => {
      it('lists a registered member under its kind until its lease is revoked', async () => {
        const worker = unique('w');
        const scheduler = unique('s');
        const workerLease = await coordinator.register('worker', worker, leaseTtlMs);
        const schedulerLease = await coordinator.register('scheduler', scheduler, leaseTtlMs);
        expect(typeof workerLease.id).toBe('string');
        expect(workerLease.id).not.toBe(schedulerLease.id);
        expect(await coordinator.members('worker')).toContain(worker);
        expect(await coordinator.members('worker')).not.toContain(scheduler);
        expect(await coordinator.members('scheduler')).toContain(scheduler);
        await workerLease.revoke();
        expect(await coordinator.members('worker')).not.toContain(worker);
        expect(await coordinator.members('scheduler')).toContain(scheduler);
        await schedulerLease.revoke();
      });

      it('drops a member whose lease is not kept alive', async () => {
        const worker = unique('w');
        await coordinator.register('worker', worker, leaseTtlMs);
        expect(await coordinator.members('worker')).toContain(worker);
        const deadline = Date.now() + expiryTimeoutMs;
        while ((await coordinator.members('worker')).includes(worker)) {
          if (Date.now() > deadline) throw new Error(`the lease was still live after ${expiryTimeoutMs}ms`);
          await sleep(Math.max(10, leaseTtlMs / 10));
        }
      });

      it('keeps a member whose lease is kept alive past its TTL', async () => {
        const worker = unique('w');
        const lease = await coordinator.register('worker', worker, leaseTtlMs);
        const until = Date.now() + 2.5 * leaseTtlMs;
        while (Date.now() < until) {
          await sleep(leaseTtlMs / 4);
          await lease.keepAlive();
          expect(await coordinator.members('worker')).toContain(worker);
        }
        await lease.revoke();
      });

      it('refuses to keep a revoked lease alive (NOT_FOUND)', async () => {
        const lease = await coordinator.register('worker', unique('w'), leaseTtlMs);
        await lease.revoke();
        const error = await rejectionOf(lease.keepAlive());
        expect(error).toBeInstanceOf(SmartQueueError);
        expect((error as SmartQueueError).code).toBe('NOT_FOUND');
      });
    });

    describe('shards', () => {
      it('returns sorted, distinct shard numbers in 0..total-1', async () => {
        for (const total of [0, 1, 16]) {
          const owned = await coordinator.ownedShards(total);
          expect(owned).toEqual([...new Set(owned)].sort((a, b) => a - b));
          for (const shard of owned) {
            expect(Number.isInteger(shard)).toBe(true);
            expect(shard).toBeGreaterThanOrEqual(0);
            expect(shard).toBeLessThan(total);
          }
        }
      });

      it('refuses a bad shard count with INVALID_ARGUMENT', async () => {
        for (const total of [-1, 1.5, Number.NaN]) {
          const error = await rejectionOf(coordinator.ownedShards(total));
          expect(error).toBeInstanceOf(SmartQueueError);
          expect((error as SmartQueueError).code).toBe('INVALID_ARGUMENT');
        }
      });
    });

    describe('locks', () => {
      it('runs holders of one lock one at a time and returns their results', async () => {
        const name = unique('lock');
        let active = 0;
        let maxActive = 0;
        const order: number[] = [];
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            coordinator.withLock(name, async () => {
              active++;
              maxActive = Math.max(maxActive, active);
              await sleep(5);
              order.push(i);
              active--;
              return i * 10;
            }),
          ),
        );
        expect(maxActive).toBe(1);
        expect(results).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
        expect(order.slice().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      });

      it('does not make different locks wait for each other', async () => {
        let releaseA!: () => void;
        const aHeld = new Promise<void>((resolve) => {
          releaseA = resolve;
        });
        let aEntered!: () => void;
        const aStarted = new Promise<void>((resolve) => {
          aEntered = resolve;
        });
        const a = coordinator.withLock(unique('a'), async () => {
          aEntered();
          await aHeld;
        });
        await aStarted;
        await expect(coordinator.withLock(unique('b'), async () => 'b ran')).resolves.toBe('b ran');
        releaseA();
        await a;
      });

      it('releases the lock when the holder throws, and passes the error on', async () => {
        const name = unique('lock');
        const boom = new Error('boom');
        await expect(
          coordinator.withLock(name, async () => {
            throw boom;
          }),
        ).rejects.toBe(boom);
        await expect(coordinator.withLock(name, async () => 'next')).resolves.toBe('next');
      });

      it('gives up waiting when the signal aborts, without running fn', async () => {
        const name = unique('lock');
        let release!: () => void;
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        let entered!: () => void;
        const started = new Promise<void>((resolve) => {
          entered = resolve;
        });
        const holder = coordinator.withLock(name, async () => {
          entered();
          await held;
          return 'holder done';
        });
        await started;
        const controller = new AbortController();
        let ran = false;
        const waiter = coordinator.withLock(
          name,
          async () => {
            ran = true;
          },
          { signal: controller.signal },
        );
        await sleep(20);
        const reason = new Error('gave up');
        controller.abort(reason);
        await expect(waiter).rejects.toBe(reason);
        release();
        await expect(holder).resolves.toBe('holder done');
        expect(ran).toBe(false);
        // The abandoned wait did not leave the lock taken.
        await expect(coordinator.withLock(name, async () => 'free')).resolves.toBe('free');
      });

      it('rejects at once with an already aborted signal', async () => {
        const controller = new AbortController();
        controller.abort(new Error('too late'));
        let ran = false;
        await expect(
          coordinator.withLock(
            unique('lock'),
            async () => {
              ran = true;
            },
            { signal: controller.signal },
          ),
        ).rejects.toThrow('too late');
        expect(ran).toBe(false);
      });
    });

    describe('reservations', () => {
      it('keeps the first value reserved for a key', async () => {
        const key = unique('key');
        expect(await coordinator.reserve(key, 'first')).toBe('first');
        expect(await coordinator.reserve(key, 'second')).toBe('first');
        expect(await coordinator.reserve(key, 'first')).toBe('first');
        expect(await coordinator.reserve(unique('other'), 'second')).toBe('second');
      });

      it('lets a reservation with ttlMs lapse after about that long, and not before', async () => {
        const key = unique('key');
        expect(await coordinator.reserve(key, 'first', { ttlMs: 1000 })).toBe('first');
        expect(await coordinator.reserve(key, 'second', { ttlMs: 1000 })).toBe('first');
        await sleep(500);
        expect(await coordinator.reserve(key, 'second', { ttlMs: 1000 })).toBe('first');
        // Past the TTL and the lease's slot of slack (1 s for this TTL), plus expiry rounding.
        await sleep(3500);
        expect(await coordinator.reserve(key, 'second', { ttlMs: 1000 })).toBe('second');
        // A reservation without a TTL stays.
        const lasting = unique('key');
        expect(await coordinator.reserve(lasting, 'kept')).toBe('kept');
        await expect(coordinator.reserve(unique('key'), 'x', { ttlMs: -1 })).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }, 15_000);

      it('agrees on one winner among concurrent reservations', async () => {
        const key = unique('key');
        const values = Array.from({ length: 10 }, (_, i) => `v${i}`);
        const answers = await Promise.all(values.map((v) => coordinator.reserve(key, v)));
        expect(new Set(answers).size).toBe(1);
        expect(values).toContain(answers[0]);
      });
    });

    describe('ids', () => {
      it('makes unique, URL-safe ids that sort in creation order', () => {
        const ids = Array.from({ length: 20_000 }, () => coordinator.nextId('run'));
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.slice().sort()).toEqual(ids);
        for (const id of [ids[0]!, ids.at(-1)!]) {
          expect(id.startsWith('run_')).toBe(true);
          expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
        }
      });

      it('keeps sorting across a pause', async () => {
        const before = coordinator.nextId('task');
        await sleep(5);
        const after = coordinator.nextId('task');
        expect(before < after).toBe(true);
      });
    });

    it('closes idempotently', async () => {
      await coordinator.close();
      await coordinator.close();
    });
  });
}
