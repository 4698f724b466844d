import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../engine/errors.js';
import { fmix32, hashString32, ShardRouter } from '../../../engine/router.js';

const KEYS = Array.from({ length: 10_000 }, (_, i) => `run-${i}`);

function assignment(router: ShardRouter): number[] {
  return KEYS.map((key) => router.shardFor(key));
}

function movedFraction(before: number[], after: number[]): number {
  let moved = 0;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) moved++;
  return moved / before.length;
}

describe('hashString32', () => {
  it('is FNV-1a followed by the murmur3 finalizer, pinned so shard ownership never silently changes', () => {
    // FNV-1a of '' is its offset basis and of 'a' is 0xe40c292c (published test vectors).
    expect(hashString32('')).toBe(fmix32(0x811c9dc5));
    expect(hashString32('a')).toBe(fmix32(0xe40c292c));
    expect(hashString32('foobar')).toBe(fmix32(0xbf9cf968));
  });

  it('returns unsigned 32-bit integers and spreads near-identical keys', () => {
    const seen = new Set<number>();
    for (const key of KEYS) {
      const h = hashString32(key);
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
      seen.add(h);
    }
    expect(seen.size).toBe(KEYS.length);
    // Avalanche: keys differing in the last character differ in about half the bits.
    let bits = 0;
    for (let i = 0; i < 1000; i++) {
      let x = hashString32(`tenant-${i}`) ^ hashString32(`tenant-${i + 1}`);
      while (x !== 0) {
        bits += x & 1;
        x >>>= 1;
      }
    }
    expect(bits / 1000).toBeGreaterThan(14);
    expect(bits / 1000).toBeLessThan(18);
  });

  it('fmix32 maps 0 to 0 and is not the identity elsewhere', () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).not.toBe(1);
    expect(fmix32(-1)).toBeGreaterThanOrEqual(0);
  });
});

describe('ShardRouter', () => {
  it('is deterministic across instances and independent of the order of changes', () => {
    const a = new ShardRouter(8);
    const b = new ShardRouter(8);
    expect(assignment(a)).toEqual(assignment(b));
    // Same live set {0..4, 6, 7} reached two different ways.
    const c = new ShardRouter(8);
    c.removeShard(5);
    const d = new ShardRouter(5);
    expect(d.addShard()).toBe(5);
    expect(d.addShard()).toBe(6);
    expect(d.addShard()).toBe(7);
    d.removeShard(5);
    expect(c.shards).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(d.shards).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(assignment(c)).toEqual(assignment(d));
  });

  it('spreads 10,000 keys roughly uniformly over 8 shards', () => {
    const router = new ShardRouter(8);
    const counts = new Array<number>(8).fill(0);
    for (const shard of assignment(router)) counts[shard]! += 1;
    const mean = KEYS.length / 8;
    for (const count of counts) {
      expect(count).toBeGreaterThan(mean * 0.75);
      expect(count).toBeLessThan(mean * 1.25);
    }
  });

  it('spreads more evenly with more virtual nodes', () => {
    const spread = (virtualNodes: number): number => {
      const router = new ShardRouter(4, { virtualNodes });
      expect(router.virtualNodes).toBe(virtualNodes);
      const counts = new Array<number>(4).fill(0);
      for (const shard of assignment(router)) counts[shard]! += 1;
      return (Math.max(...counts) - Math.min(...counts)) / (KEYS.length / 4);
    };
    expect(spread(1)).toBeGreaterThan(spread(128));
    expect(spread(128)).toBeLessThan(0.4);
  });

  it('moves only keys that go to the added shard, about 1/N of them', () => {
    const router = new ShardRouter(8);
    const before = assignment(router);
    const added = router.addShard();
    expect(added).toBe(8);
    expect(router.shards).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const after = assignment(router);
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] !== after[i]) expect(after[i]).toBe(added);
    }
    const fraction = movedFraction(before, after);
    expect(fraction).toBeGreaterThan(0.5 / 9);
    expect(fraction).toBeLessThan(2 / 9);
  });

  it('moves only the removed shard’s keys, about 1/N of them, and re-adding restores the mapping', () => {
    const router = new ShardRouter(8);
    const before = assignment(router);
    router.removeShard(3);
    expect(router.shards).toEqual([0, 1, 2, 4, 5, 6, 7]);
    expect(router.shardCount).toBe(7);
    const after = assignment(router);
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] !== 3) expect(after[i]).toBe(before[i]);
      else expect(after[i]).not.toBe(3);
    }
    const fraction = movedFraction(before, after);
    expect(fraction).toBeGreaterThan(0.5 / 8);
    expect(fraction).toBeLessThan(2 / 8);
    // The smallest free id comes back, with the same ring points.
    expect(router.addShard()).toBe(3);
    expect(assignment(router)).toEqual(before);
  });

  it('routes precomputed hashes the same way, including the wrap-around past the last point', () => {
    const router = new ShardRouter(3, { virtualNodes: 16 });
    for (const key of KEYS.slice(0, 200)) {
      expect(router.shardForHash(hashString32(key))).toBe(router.shardFor(key));
    }
    // 0xffffffff is after (or at) every ring point, so it wraps to the owner of the first point.
    expect(router.shardForHash(0xffffffff)).toBe(router.shardForHash(0));
  });

  it('exposes a frozen shard list that later changes do not mutate', () => {
    const router = new ShardRouter(2);
    const shards = router.shards;
    expect(Object.isFrozen(shards)).toBe(true);
    router.addShard();
    expect(shards).toEqual([0, 1]);
    expect(router.shards).toEqual([0, 1, 2]);
  });

  it('handles a single shard, empty and non-ASCII keys', () => {
    const router = new ShardRouter(1);
    expect(router.shardFor('')).toBe(0);
    expect(router.shardFor('租户-🚀')).toBe(0);
  });

  it('rejects invalid arguments with typed errors', () => {
    expect(() => new ShardRouter(0)).toThrow(SmartQueueError);
    expect(() => new ShardRouter(2.5)).toThrow(/shardCount/);
    expect(() => new ShardRouter(2, { virtualNodes: 0 })).toThrow(/virtualNodes/);
    const router = new ShardRouter(2);
    expect(() => router.removeShard(7)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    router.removeShard(0);
    expect(() => router.removeShard(1)).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION' }));
    expect(router.shards).toEqual([1]);
  });
});
