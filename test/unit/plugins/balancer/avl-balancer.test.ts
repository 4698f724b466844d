import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../engine/errors.js';
import type { WorkerLoad } from '../../../../engine/stages.js';
import { createAvlBalancer } from '../../../../plugins/balancer/avl/index.js';

function loadsById(loads: WorkerLoad[]): Record<string, WorkerLoad> {
  return Object.fromEntries(loads.map((l) => [l.id, l]));
}

describe('createAvlBalancer', () => {
  it('picks the least-loaded worker, by (weight + reported) / capacity, ties by id', () => {
    const balancer = createAvlBalancer({
      workers: [
        { id: 'w-big', capacity: 8 },
        { id: 'w-small', capacity: 2 },
        { id: 'w-mid', capacity: 4 },
      ],
    });
    expect(balancer.size).toBe(3);
    expect(balancer.pick()).toBe('w-big'); // all at load 0: smallest id
    balancer.assign('w-big', 4); // 4/8 = 0.5
    balancer.assign('w-mid', 1); // 1/4 = 0.25
    expect(balancer.pick()).toBe('w-small');
    balancer.assign('w-small', 1); // 1/2 = 0.5
    expect(balancer.pick()).toBe('w-mid');
    balancer.report('w-mid', 2); // (1 + 2)/4 = 0.75
    expect(balancer.pick()).toBe('w-big'); // 0.5, ties with w-small on id
    const loads = loadsById(balancer.snapshot());
    expect(loads['w-big']).toEqual({
      id: 'w-big',
      capacity: 8,
      running: 1,
      weight: 4,
      reported: 0,
      forecast: 0,
      load: 0.5,
    });
    expect(loads['w-mid']!.load).toBe(0.75);
    expect(balancer.snapshot().map((l) => l.id)).toEqual(['w-big', 'w-small', 'w-mid']);
  });

  it('skips full workers and returns undefined when every worker is full (back-pressure)', () => {
    const balancer = createAvlBalancer();
    balancer.join({ id: 'a', capacity: 1 });
    balancer.join({ id: 'b', capacity: 2 });
    balancer.assign('a', 0); // running 1 >= capacity 1: full despite zero weight
    expect(balancer.pick()).toBe('b');
    balancer.assign('b', 100);
    expect(balancer.pick()).toBe('b'); // heavily loaded but has a free slot
    balancer.assign('b', 0);
    expect(balancer.pick()).toBeUndefined();
    expect(balancer.pick('any-handler')).toBeUndefined();
    expect(balancer.snapshot().every((l) => l.load === Infinity)).toBe(true);
    balancer.finish('a', 0);
    expect(balancer.pick()).toBe('a');
  });

  it('filters by handler, skipping in load order the workers that do not run it', () => {
    const balancer = createAvlBalancer({
      workers: [
        { id: 'gpu', capacity: 4, handlers: ['train', 'infer'] },
        { id: 'http-only', capacity: 4, handlers: ['http'] },
        { id: 'generic', capacity: 4 },
      ],
    });
    balancer.assign('generic', 3);
    balancer.assign('gpu', 2);
    expect(balancer.pick()).toBe('http-only');
    expect(balancer.pick('http')).toBe('http-only');
    expect(balancer.pick('train')).toBe('gpu');
    expect(balancer.pick('run')).toBe('generic'); // no handlers list: accepts everything
    for (let i = 0; i < 3; i++) balancer.assign('gpu', 0); // 4 running: full
    expect(balancer.pick('infer')).toBe('generic');
    balancer.leave('generic');
    expect(balancer.pick('infer')).toBeUndefined();
    expect(balancer.pick('http')).toBe('http-only');
  });

  it('batches a burst of updates to one worker into one re-insert', () => {
    const balancer = createAvlBalancer({
      workers: [
        { id: 'hot', capacity: 10_000 },
        { id: 'cold', capacity: 1 },
      ],
    });
    balancer.flush();
    const before = balancer.stats.reinserts;
    for (let i = 0; i < 1000; i++) balancer.assign('hot', 1);
    expect(balancer.stats.reinserts).toBe(before); // nothing applied yet
    expect(balancer.pick()).toBe('cold'); // pick flushes: reads see every change
    expect(balancer.stats.reinserts).toBe(before + 1);
    expect(loadsById(balancer.snapshot())['hot']).toMatchObject({ running: 1000, weight: 1000, load: 0.1 });
    expect(balancer.stats.reinserts).toBe(before + 1);
    // Changes that cancel out within a tick cost nothing.
    balancer.assign('hot', 5);
    balancer.finish('hot', 5);
    balancer.flush();
    expect(balancer.stats.reinserts).toBe(before + 1);
  });

  it('batches a burst of heartbeat reports (and finishes) into one re-insert too', () => {
    const balancer = createAvlBalancer({
      workers: [
        { id: 'a', capacity: 4 },
        { id: 'b', capacity: 4 },
      ],
    });
    for (let i = 0; i < 4; i++) balancer.assign('a', 1);
    balancer.flush();
    const before = balancer.stats.reinserts;
    for (let i = 0; i < 500; i++) balancer.report('a', i % 7);
    for (let i = 0; i < 3; i++) balancer.finish('a', 1);
    expect(balancer.stats.reinserts).toBe(before);
    balancer.flush();
    expect(balancer.stats.reinserts).toBe(before + 1);
    expect(loadsById(balancer.snapshot())['a']).toMatchObject({ running: 1, reported: 499 % 7 });
  });

  it('pays one re-insert per dirty worker per flush, not per update', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `w${String(i).padStart(2, '0')}`);
    const balancer = createAvlBalancer({ workers: ids.map((id) => ({ id, capacity: 100 })) });
    const before = balancer.stats.reinserts;
    const flushesBefore = balancer.stats.flushes;
    for (let round = 0; round < 50; round++) for (const id of ids.slice(0, 7)) balancer.assign(id, 1);
    balancer.flush();
    balancer.flush(); // nothing pending: free
    expect(balancer.stats.reinserts - before).toBe(7);
    expect(balancer.stats.flushes - flushesBefore).toBe(1);
    expect(balancer.pick()).toBe('w07');
  });

  it('takes the latest report, not the sum, and lets reports reorder workers', () => {
    const balancer = createAvlBalancer({
      workers: [
        { id: 'a', capacity: 2 },
        { id: 'b', capacity: 2 },
      ],
    });
    balancer.report('a', 10);
    balancer.report('a', 3);
    balancer.flush();
    balancer.report('a', 1); // in a later tick: replaces 3, not adds to it
    expect(loadsById(balancer.snapshot())['a']).toMatchObject({ reported: 1, load: 0.5 });
    expect(balancer.pick()).toBe('b');
    balancer.report('a', 0);
    balancer.report('b', 3);
    expect(balancer.pick()).toBe('a');
  });

  it('handles leave and re-join: unknown workers are ignored, re-join updates capacity', () => {
    const balancer = createAvlBalancer();
    balancer.join({ id: 'a', capacity: 1 });
    balancer.join({ id: 'b', capacity: 4 });
    balancer.assign('a', 1);
    expect(balancer.pick()).toBe('b');
    // Re-join with more slots keeps the running attempt and frees a slot.
    balancer.join({ id: 'a', capacity: 4 });
    expect(balancer.size).toBe(2);
    expect(loadsById(balancer.snapshot())['a']).toMatchObject({
      capacity: 4,
      running: 1,
      weight: 1,
      load: 0.25,
    });
    // Pending changes of a leaving worker are dropped with it.
    balancer.assign('b', 3);
    balancer.leave('b');
    expect(balancer.size).toBe(1);
    expect(balancer.snapshot().map((l) => l.id)).toEqual(['a']);
    balancer.finish('b', 3);
    balancer.assign('ghost', 1);
    balancer.report('ghost', 1);
    balancer.leave('ghost');
    expect(balancer.snapshot().map((l) => l.id)).toEqual(['a']);
    // A late result from before the re-join cannot drive counts negative.
    balancer.join({ id: 'b', capacity: 2 });
    balancer.finish('b', 3);
    expect(loadsById(balancer.snapshot())['b']).toMatchObject({ running: 0, weight: 0, load: 0 });
    balancer.leave('a');
    balancer.leave('b');
    expect(balancer.size).toBe(0);
    expect(balancer.pick()).toBeUndefined();
    expect(balancer.snapshot()).toEqual([]);
  });

  it('treats a zero-capacity worker as full', () => {
    const balancer = createAvlBalancer({ workers: [{ id: 'draining', capacity: 0 }] });
    expect(balancer.pick()).toBeUndefined();
    expect(balancer.snapshot()[0]!.load).toBe(Infinity);
  });

  it('rejects invalid workers and amounts', () => {
    const balancer = createAvlBalancer({ workers: [{ id: 'a', capacity: 1 }] });
    expect(() => balancer.join({ id: '', capacity: 1 })).toThrow(SmartQueueError);
    expect(() => balancer.join({ id: 'b', capacity: 1.5 })).toThrow(/capacity/);
    expect(() => balancer.join({ id: 'b', capacity: -1 })).toThrow(/capacity/);
    expect(() => balancer.assign('a', Number.NaN)).toThrow(/cost/);
    expect(() => balancer.finish('a', -1)).toThrow(/cost/);
    expect(() => balancer.report('a', Infinity)).toThrow(/load/);
    expect(balancer.size).toBe(1);
    expect(balancer.snapshot()[0]).toMatchObject({ running: 0, weight: 0, reported: 0, load: 0 });
  });

  it('agrees with an eager model under random operations', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const handlerNames = ['x', 'y'];
    const idArb = fc.constantFrom(...ids);
    const opArb = fc.oneof(
      fc.record({
        op: fc.constant('join' as const),
        id: idArb,
        capacity: fc.integer({ min: 0, max: 4 }),
        handlers: fc.option(fc.subarray(handlerNames), { nil: undefined }),
      }),
      fc.record({ op: fc.constant('leave' as const), id: idArb }),
      fc.record({ op: fc.constant('assign' as const), id: idArb, cost: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ op: fc.constant('finish' as const), id: idArb, pick: fc.nat() }),
      fc.record({ op: fc.constant('report' as const), id: idArb, load: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ op: fc.constant('forecast' as const), id: idArb, extra: fc.integer({ min: 0, max: 5 }) }),
      fc.record({
        op: fc.constant('pick' as const),
        handler: fc.option(fc.constantFrom(...handlerNames), { nil: undefined }),
      }),
      fc.record({ op: fc.constant('flush' as const) }),
    );
    interface ModelWorker {
      capacity: number;
      handlers: string[] | undefined;
      /** Costs of the running attempts. */
      costs: number[];
      reported: number;
      forecast: number;
    }
    const weightOf = (w: ModelWorker): number => w.costs.reduce((sum, c) => sum + c, 0);
    const loadOf = (w: ModelWorker): number =>
      w.costs.length >= w.capacity ? Infinity : (weightOf(w) + w.reported + w.forecast) / w.capacity;

    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200, size: 'large' }), (ops) => {
        const balancer = createAvlBalancer();
        const model = new Map<string, ModelWorker>();
        for (const op of ops) {
          switch (op.op) {
            case 'join': {
              balancer.join({ id: op.id, capacity: op.capacity, handlers: op.handlers });
              const w = model.get(op.id);
              if (w) Object.assign(w, { capacity: op.capacity, handlers: op.handlers });
              else
                model.set(op.id, {
                  capacity: op.capacity,
                  handlers: op.handlers,
                  costs: [],
                  reported: 0,
                  forecast: 0,
                });
              break;
            }
            case 'leave':
              balancer.leave(op.id);
              model.delete(op.id);
              break;
            case 'assign':
              balancer.assign(op.id, op.cost);
              model.get(op.id)?.costs.push(op.cost);
              break;
            case 'finish': {
              const w = model.get(op.id);
              if (w && w.costs.length > 0) {
                // Finish an attempt that really runs there, as the dispatcher does.
                balancer.finish(op.id, w.costs.splice(op.pick % w.costs.length, 1)[0]!);
              } else if (w) {
                // A stray finish on an idle worker: applied alone it must clamp to zero, not go
                // negative (within a batch it would net against other changes by design).
                balancer.flush();
                balancer.finish(op.id, 1);
                balancer.flush();
              } else {
                balancer.finish(op.id, 1); // unknown worker: a no-op
              }
              break;
            }
            case 'report':
              balancer.report(op.id, op.load);
              if (model.has(op.id)) model.get(op.id)!.reported = op.load;
              break;
            case 'forecast':
              balancer.forecast!(op.id, op.extra);
              if (model.has(op.id)) model.get(op.id)!.forecast = op.extra;
              break;
            case 'flush':
              balancer.flush();
              break;
            case 'pick': {
              const eligible = [...model.entries()]
                .filter(([, m]) => loadOf(m) !== Infinity)
                .filter(([, m]) => op.handler === undefined || !m.handlers || m.handlers.includes(op.handler))
                .sort(([ia, a], [ib, b]) => loadOf(a) - loadOf(b) || (ia < ib ? -1 : 1));
              expect(balancer.pick(op.handler)).toBe(eligible[0]?.[0]);
              break;
            }
          }
        }
        expect(balancer.size).toBe(model.size);
        const expected = [...model.entries()].map(([id, m]) => ({
          id,
          capacity: m.capacity,
          running: m.costs.length,
          weight: weightOf(m),
          reported: m.reported,
          forecast: m.forecast,
          load: loadOf(m),
        }));
        expected.sort((a, b) => (a.load === b.load ? (a.id < b.id ? -1 : 1) : a.load < b.load ? -1 : 1));
        expect(balancer.snapshot()).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
