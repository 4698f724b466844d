/**
 * The worker_threads pool: every task runs exactly once however the threads steal, and a
 * failing handler, a crashing thread, a thread out of memory and a runaway CPU loop each fail
 * their own attempt only, the thread being replaced.
 */
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createThreadPool } from '../../../engine/threads/pool.js';
import type { PoolMode, ThreadPool, ThreadTask, ThreadTaskResult } from '../../../engine/threads/pool.js';

const MODULE = path.resolve(import.meta.dirname, '../../fixtures/threads/handlers.ts');
const pools: ThreadPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

function pool(options: Parameters<typeof createThreadPool>[0] = {}) {
  const p = createThreadPool({ seed: 7, ...options });
  pools.push(p);
  return p;
}

const task = (exportName: string, extra: Partial<ThreadTask> = {}): ThreadTask => ({
  module: MODULE,
  export: exportName,
  runId: 'r',
  taskId: exportName,
  attempt: 1,
  idempotencyKey: `r/${exportName}`,
  args: {},
  inputs: {},
  params: {},
  ...extra,
});

const failed = (r: ThreadTaskResult) => (r.ok ? undefined : r.error);

describe('thread pool', () => {
  it('runs every task exactly once under heavy stealing (random durations, thread counts and modes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom<PoolMode>('stealing', 'stealing', 'shared-queue', 'static'),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 15, max: 40 })), {
          minLength: 1,
          maxLength: 60,
        }),
        async (threads, mode, durations) => {
          const p = pool({ threads, mode });
          const counts = new SharedArrayBuffer(durations.length * 4);
          const results = await Promise.all(
            durations.map((ms, i) =>
              p.run(task('counted', { taskId: `t${i}`, args: { ms, i, counts, id: `t${i}` } })),
            ),
          );
          expect(results.map((r) => (r.ok ? r.outputs.id : failed(r)?.message))).toEqual(
            durations.map((_, i) => `t${i}`),
          );
          expect([...new Int32Array(counts)]).toEqual(durations.map(() => 1));
          const s = p.stats();
          expect(s.completed).toBe(durations.length);
          expect(s.stealsSucceeded).toBeLessThanOrEqual(s.stealsAttempted);
          if (mode !== 'stealing') expect(s.stealsAttempted).toBe(0);
          await p.close();
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);

  it('idle threads steal the backlog of a thread stuck on a long task', async () => {
    const p = pool({ threads: 2, mode: 'stealing' });
    await p.whenReady();
    // Warm both threads up (module import), then: one long task and many short ones.
    await Promise.all([0, 1].map((i) => p.run(task('burn', { taskId: `w${i}`, args: { ms: 1 } }))));
    const runs = [p.run(task('burn', { taskId: 'long', args: { ms: 300 } }))];
    // Once it runs, placement still gives its thread some of the short tasks (busy counts as
    // one): those would wait 300 ms without stealing.
    while (p.stats().busy === 0) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 40; i++) runs.push(p.run(task('burn', { taskId: `s${i}`, args: { ms: 2 } })));
    const results = await Promise.all(runs);
    expect(results.every((r) => r.ok)).toBe(true);
    const s = p.stats();
    expect(s.stealsSucceeded).toBeGreaterThan(0);
    expect(s.stolenTasks).toBeGreaterThan(0);
    // The short tasks did not all wait behind the long one.
    const longEnd = results[0]!.finishedAt;
    expect(results.slice(1).filter((r) => r.finishedAt < longEnd)).toHaveLength(40);
  });

  it('places tasks by estimated work: short ones do not land behind a long one', async () => {
    const p = pool({ threads: 2, mode: 'stealing' });
    await p.whenReady();
    await Promise.all([0, 1].map((i) => p.run(task('burn', { taskId: `w${i}`, args: { ms: 1 } }))));
    // Long enough that the ten short ones finish first even on a loaded machine; if the long one
    // ended first, its thread would rightly steal the shorts still queued and the test would fail.
    const long = p.run(task('burn', { taskId: 'long', args: { ms: 1500 }, estimateMs: 1500 }));
    while (p.stats().busy === 0) await new Promise((r) => setTimeout(r, 5));
    const shorts = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        p.run(task('burn', { taskId: `s${i}`, args: { ms: 2 }, estimateMs: 2 })),
      ),
    );
    const longThread = (await long).thread;
    expect(shorts.map((r) => r.thread)).toEqual(shorts.map(() => 1 - longThread));
    expect(p.stats().stealsSucceeded).toBe(0);
  });

  it("a handler's exception fails its attempt only; the thread stays", async () => {
    const p = pool({ threads: 1 });
    const r = await p.run(task('fail'));
    expect(failed(r)).toEqual({ message: 'this handler always fails', retryable: false });
    expect((await p.run(task('burn'))).ok).toBe(true);
    expect(p.stats().replaced).toBe(0);
  });

  it('a crashing thread fails only the attempt it ran, and is replaced', async () => {
    const p = pool({ threads: 2 });
    const others = Array.from({ length: 10 }, (_, i) =>
      p.run(task('burn', { taskId: `b${i}`, args: { ms: 5 } })),
    );
    const crash = await p.run(task('crash'));
    expect(failed(crash)).toMatchObject({ threadLost: true, retryable: true });
    expect(failed(crash)!.message).toContain('exited with code 3');
    expect((await Promise.all(others)).every((r) => r.ok)).toBe(true);
    expect((await p.run(task('burn'))).ok).toBe(true);
    expect(p.stats().replaced).toBe(1);
  });

  it('a thread out of heap fails its attempt and is replaced', async () => {
    const p = pool({ threads: 1, maxHeapMb: 32 });
    const r = await p.run(task('oom'));
    expect(failed(r)).toMatchObject({ threadLost: true });
    expect(failed(r)!.message).toMatch(/memory/i);
    expect((await p.run(task('burn'))).ok).toBe(true);
    expect(p.stats().replaced).toBe(1);
  });

  it('a runaway CPU loop times out: its thread is terminated after the grace and replaced', async () => {
    const p = pool({ threads: 1, abortGraceMs: 100 });
    const r = await p.run(task('spin', { timeoutMs: 100 }));
    expect(failed(r)).toMatchObject({ timedOut: true, threadLost: true, retryable: true });
    const next = await p.run(task('burn'));
    expect(next.ok).toBe(true);
    expect(p.stats().replaced).toBe(1);
  });

  it('cancels a queued task at once and a running one through its signal (no replacement)', async () => {
    const p = pool({ threads: 1 });
    const running = new AbortController();
    const queued = new AbortController();
    const a = p.run(task('wait', { taskId: 'a' }), { signal: running.signal });
    const b = p.run(task('burn', { taskId: 'b' }), { signal: queued.signal });
    queued.abort();
    expect(failed(await b)).toMatchObject({ cancelled: true });
    await new Promise((r) => setTimeout(r, 100));
    running.abort();
    expect(failed(await a)).toMatchObject({ cancelled: true });
    expect((await p.run(task('burn'))).ok).toBe(true);
    expect(p.stats().replaced).toBe(0);
  });

  it('passes inputs, params and the idempotency key; forwards progress and logs', async () => {
    const p = pool({ threads: 1 });
    const progress: [number | undefined, string | undefined][] = [];
    const logs: string[] = [];
    const r = await p.run(task('report', { inputs: { up: { n: 1 } }, params: { day: 'mon' } }), {
      onProgress: (f, m) => progress.push([f, m]),
      onLog: (level, message) => logs.push(`${level} ${message}`),
    });
    expect(r).toMatchObject({
      ok: true,
      outputs: { inputs: { up: { n: 1 } }, params: { day: 'mon' }, key: 'r/report' },
    });
    expect(progress).toEqual([[0.5, 'half way']]);
    expect(logs).toEqual(['info reporting']);
  });

  it('hands over tasks too big for the payload arena, and non-JSON ones, through the main thread', async () => {
    const p = pool({ threads: 1, payloadArenaMb: 1 });
    const big = 'x'.repeat(200_000);
    const r = await p.run(task('burn', { args: { ms: 0, id: big } }));
    expect(r.ok && r.outputs.id).toBe(big);
    const counts = new SharedArrayBuffer(4);
    expect((await p.run(task('counted', { args: { ms: 0, i: 0, counts } }))).ok).toBe(true);
    expect(new Int32Array(counts)[0]).toBe(1);
  });

  it('an unknown export or module fails the attempt, not retryable', async () => {
    const p = pool({ threads: 1 });
    expect(failed(await p.run(task('nope')))).toMatchObject({ retryable: false });
    expect(failed(await p.run(task('burn', { module: '/nowhere/x.js' })))!.message).toContain('cannot load');
  });

  it('rejects with RESOURCE_EXHAUSTED when every slot is taken', async () => {
    const p = pool({ threads: 1, dequeCapacity: 1 });
    const first = p.run(task('burn', { args: { ms: 50 } }));
    await expect(p.run(task('burn'))).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    expect((await first).ok).toBe(true);
    expect((await p.run(task('burn'))).ok).toBe(true);
  });

  it('refuses nonsense options', () => {
    expect(() => createThreadPool({ threads: 0 })).toThrow(/threads/);
    expect(() => createThreadPool({ mode: 'fifo' as PoolMode })).toThrow(/mode/);
    expect(() => createThreadPool({ maxHeapMb: 1 })).toThrow(/maxHeapMb/);
  });
});
