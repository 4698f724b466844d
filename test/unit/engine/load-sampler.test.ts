import { afterEach, describe, expect, it } from 'vitest';
import { createLoadSampler, loadScore } from '../../../engine/load-sampler.js';
import type { LoadSampler, WorkerLoadSample } from '../../../engine/load-sampler.js';

const idle: WorkerLoadSample = {
  running: 0,
  threads: 0,
  busyThreads: 0,
  queued: 0,
  cpu: 0,
  memoryBytes: 100e6,
  eventLoopLagMs: 0,
};

const open: LoadSampler[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function sampler(...args: Parameters<typeof createLoadSampler>): LoadSampler {
  const s = createLoadSampler(...args);
  open.push(s);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spin(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: the CPU and the event loop are both taken
  }
}

describe('loadScore', () => {
  it('is 0 for an idle worker, whatever it runs: the server already counts running attempts', () => {
    expect(loadScore(idle, 4, 8)).toBe(0);
    expect(loadScore({ ...idle, running: 4, threads: 4, busyThreads: 4 }, 4, 8)).toBe(0);
  });

  it('counts each queued task as one attempt', () => {
    expect(loadScore({ ...idle, queued: 3 }, 4, 8)).toBe(3);
  });

  it('adds nothing below 75% of the cores, and up to half the capacity at a saturated CPU', () => {
    expect(loadScore({ ...idle, cpu: 3 }, 4, 4)).toBe(0); // 75%
    expect(loadScore({ ...idle, cpu: 3.5 }, 4, 4)).toBeCloseTo(4 * 0.25);
    expect(loadScore({ ...idle, cpu: 4 }, 4, 4)).toBeCloseTo(4 * 0.5);
    expect(loadScore({ ...idle, cpu: 7 }, 4, 4)).toBeCloseTo(4 * 0.5); // capped (measurement noise)
  });

  it('adds nothing up to 20 ms of event loop lag, and the whole capacity from 220 ms', () => {
    expect(loadScore({ ...idle, eventLoopLagMs: 20 }, 10, 8)).toBe(0);
    expect(loadScore({ ...idle, eventLoopLagMs: 120 }, 10, 8)).toBeCloseTo(5);
    expect(loadScore({ ...idle, eventLoopLagMs: 220 }, 10, 8)).toBeCloseTo(10);
    expect(loadScore({ ...idle, eventLoopLagMs: 5000 }, 10, 8)).toBeCloseTo(10);
  });

  it('adds the parts up, and ignores memory', () => {
    const l = { ...idle, queued: 2, cpu: 2, eventLoopLagMs: 120, memoryBytes: 64e9 };
    expect(loadScore(l, 2, 2)).toBeCloseTo(2 + 2 * (0.5 + 0.5));
  });

  it('is finite and >= 0 for nonsense input', () => {
    expect(loadScore({ ...idle, cpu: Number.NaN }, 0, 0)).toBe(0);
    expect(loadScore({ ...idle, queued: -5 }, -1, 4)).toBe(0);
    expect(loadScore({ ...idle, eventLoopLagMs: Infinity }, 1, 1)).toBe(1);
  });

  it('defaults the core count to the machine', () => {
    expect(loadScore({ ...idle, cpu: 1e6 }, 2)).toBeCloseTo(1);
  });
});

describe('createLoadSampler', () => {
  it('reports running, the pool stats and the process RSS', () => {
    const s = sampler({ pool: () => ({ threads: 4, busy: 3, queued: 7 }) });
    const l = s.sample(2);
    expect(l).toMatchObject({ running: 2, threads: 4, busyThreads: 3, queued: 7 });
    expect(l.memoryBytes).toBeGreaterThan(1e6);
    expect(Number.isInteger(l.memoryBytes)).toBe(true);
  });

  it('reads no pool as zeros, and a pool that throws or lies as zeros too', () => {
    expect(sampler().sample(0)).toMatchObject({ threads: 0, busyThreads: 0, queued: 0 });
    const throwing = sampler({
      pool: () => {
        throw new Error('restarting');
      },
    });
    expect(throwing.sample(1)).toMatchObject({ running: 1, threads: 0, busyThreads: 0, queued: 0 });
    const lying = sampler({ pool: () => ({ threads: Number.NaN, busy: -1, queued: 2.7 }) });
    expect(lying.sample(0)).toMatchObject({ threads: 0, busyThreads: 0, queued: 2 });
  });

  it('reports more CPU while a busy loop runs than while idle', async () => {
    const s = sampler();
    s.sample(0);
    await sleep(200);
    const quiet = s.sample(0).cpu;
    spin(200);
    const busy = s.sample(0).cpu;
    expect(quiet).toBeGreaterThanOrEqual(0);
    expect(busy).toBeGreaterThan(0.5); // one core spinning reads ~1; generous for a loaded CI box
    expect(busy).toBeGreaterThan(quiet);
  });

  it('reports event loop lag when the loop is blocked, and little when it is not', async () => {
    const s = sampler();
    await sleep(50);
    s.sample(0);
    await sleep(200);
    const quiet = s.sample(0).eventLoopLagMs;
    // The monitor needs a tick after a sample (reset) to measure again: block after it.
    await sleep(50);
    spin(300);
    await sleep(50);
    const blocked = s.sample(0).eventLoopLagMs;
    expect(blocked).toBeGreaterThan(150);
    expect(blocked).toBeGreaterThan(quiet);
    expect(quiet).toBeLessThan(150);
  });

  it('keeps sampling after close (lag reads 0)', () => {
    const s = sampler();
    s.close();
    s.close();
    expect(s.sample(0).eventLoopLagMs).toBe(0);
  });
});
