/**
 * The thread-pool benchmark's workloads and statistics (bench/threads.ts): seeded, equal in
 * total CPU time, and with the asked-for share of long tasks.
 */
import { describe, expect, it } from 'vitest';
import { percentile } from '../../../bench/lib.js';
import {
  formatRatios,
  formatSpread,
  makespanBound,
  pairedRatios,
  poissonArrivals,
  skewedWorkload,
  uniformWorkload,
} from '../../../bench/threads.js';

const spec = { tasks: 1000, shortMs: 1, longMs: 100, longPct: 2 };

describe('thread benchmark workloads', () => {
  it('replays the same workload from the same seed, and another from another seed', () => {
    expect(skewedWorkload(spec, 7).costs).toEqual(skewedWorkload(spec, 7).costs);
    expect(skewedWorkload(spec, 7).costs).not.toEqual(skewedWorkload(spec, 8).costs);
    expect(poissonArrivals(100, 2, 3)).toEqual(poissonArrivals(100, 2, 3));
  });

  it('puts the long-task share of the tasks at 100 ms and the rest at 1 ms', () => {
    const w = skewedWorkload(spec, 1);
    expect(w.costs).toHaveLength(1000);
    expect(w.costs.filter((c) => c === 100)).toHaveLength(20);
    expect(w.costs.filter((c) => c === 1)).toHaveLength(980);
    expect(w.longestMs).toBe(100);
    // Spread out, not bunched at the front.
    const positions = w.costs.flatMap((c, i) => (c === 100 ? [i] : []));
    expect(Math.max(...positions) - Math.min(...positions)).toBeGreaterThan(500);
  });

  it('keeps at least one long task in a small workload', () => {
    expect(skewedWorkload({ ...spec, tasks: 10 }, 1).costs.filter((c) => c === 100)).toHaveLength(1);
  });

  it('gives the uniform workload the skewed one’s total CPU time in equal tasks', () => {
    const skewed = skewedWorkload(spec, 1);
    const uniform = uniformWorkload(skewed);
    expect(skewed.totalMs).toBe(2980);
    expect(uniform.costs).toHaveLength(1000);
    expect(new Set(uniform.costs).size).toBe(1);
    expect(uniform.totalMs).toBeCloseTo(skewed.totalMs, 6);
  });

  it('bounds the makespan by the even split or the longest task', () => {
    const skewed = skewedWorkload(spec, 1);
    expect(makespanBound(skewed, 2)).toBe(1490);
    expect(makespanBound(skewed, 64)).toBe(100);
  });

  it('spaces Poisson arrivals by the mean gap on average', () => {
    const a = poissonArrivals(10_000, 2, 1);
    expect(a.every((t, i) => i === 0 || t > a[i - 1]!)).toBe(true);
    expect(a.at(-1)! / a.length).toBeGreaterThan(1.9);
    expect(a.at(-1)! / a.length).toBeLessThan(2.1);
  });
});

describe('thread benchmark statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([5], 99)).toBe(5);
    expect(() => percentile([], 50)).toThrow();
  });

  it('formats medians with their spread, and run-by-run ratios', () => {
    expect(formatSpread([660, 640, 651])).toBe('651 (640–660)');
    expect(formatSpread([1.25, 1.5], 1)).toBe('1.4 (1.3–1.5)');
    const r = pairedRatios([200, 300, 330], [100, 300, 300]);
    expect(r).toEqual([2, 1, 1.1]);
    expect(formatRatios(r)).toBe('1.10× (1.00–2.00×)');
    expect(() => pairedRatios([1], [1, 2])).toThrow();
  });
});
