import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../engine/errors.js';
import { createAvlBalancer } from '../../../../plugins/balancer/avl/index.js';

describe('createAvlBalancer forecasts (predictive balancing)', () => {
  it('adds the forecast extra load to the key: (weight + reported + forecast) / capacity', () => {
    const balancer = createAvlBalancer({
      workers: [
        { id: 'a', capacity: 4 },
        { id: 'b', capacity: 4 },
      ],
    });
    balancer.assign('a', 1); // a: 0.25
    balancer.assign('b', 2); // b: 0.5
    expect(balancer.pick()).toBe('a');
    balancer.forecast!('a', 2); // a: (1 + 0 + 2) / 4 = 0.75
    expect(balancer.pick()).toBe('b');
    const a = balancer.snapshot().find((w) => w.id === 'a')!;
    expect(a).toMatchObject({ weight: 1, reported: 0, forecast: 2, load: 0.75 });
  });

  it('new tasks avoid a worker forecast to saturate while it still has free slots', () => {
    const balancer = createAvlBalancer({
      workers: [
        { id: 'hot', capacity: 8 },
        { id: 'cool', capacity: 2 },
      ],
    });
    // Idle now, but forecast to fill all its 8 slots: key 1 sorts after any worker below 1.
    balancer.forecast!('hot', 8);
    expect(balancer.pick()).toBe('cool');
    balancer.assign('cool', 1.5); // cool: 0.75, still below hot
    expect(balancer.pick()).toBe('cool');
    balancer.assign('cool', 0.1); // cool is full now (2 running)
    // A forecast never blocks a pick on its own: the hot worker takes work once nobody else can.
    expect(balancer.pick()).toBe('hot');
    balancer.forecast!('hot', 0);
    balancer.finish('cool', 0.1);
    expect(balancer.pick()).toBe('hot'); // 0 < cool's 0.75
  });

  it('keeps reports and forecasts apart: a heartbeat does not erase a forecast', () => {
    const balancer = createAvlBalancer({ workers: [{ id: 'w', capacity: 2 }] });
    balancer.forecast!('w', 1);
    balancer.report('w', 0.5);
    expect(balancer.snapshot()[0]).toMatchObject({ reported: 0.5, forecast: 1, load: 0.75 });
    balancer.report('w', 0);
    expect(balancer.snapshot()[0]).toMatchObject({ reported: 0, forecast: 1, load: 0.5 });
  });

  it('latest forecast wins within a tick, and an unchanged forecast costs no re-insert', () => {
    const balancer = createAvlBalancer({
      workers: [
        { id: 'a', capacity: 1 },
        { id: 'b', capacity: 1 },
      ],
    });
    balancer.forecast!('a', 3);
    balancer.forecast!('a', 0.5);
    balancer.flush();
    expect(balancer.snapshot().find((w) => w.id === 'a')!.forecast).toBe(0.5);
    const { reinserts, flushes } = balancer.stats;
    balancer.forecast!('a', 0.5); // same level as applied: nothing pending
    balancer.flush();
    expect(balancer.stats).toEqual({ reinserts, flushes });
    balancer.forecast!('nobody', 1); // unknown worker: ignored
    expect(balancer.size).toBe(2);
  });

  it('rejects negative and non-finite forecasts', () => {
    const balancer = createAvlBalancer({ workers: [{ id: 'w', capacity: 1 }] });
    for (const bad of [-1, Number.NaN, Infinity]) {
      expect(() => balancer.forecast!('w', bad)).toThrow(SmartQueueError);
    }
    expect(balancer.snapshot()[0]!.forecast).toBe(0);
  });
});
