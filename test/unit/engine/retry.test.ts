/**
 * Retries: the backoff formula (fixed, exponential, cap, jitter bounds with a seeded random),
 * canRetry, and the engine's retry loop (attempt numbers, NonRetryableError, RetryAfterError).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../../dsl/ir.js';
import { NonRetryableError, RetryAfterError } from '../../../engine/errors.js';
import type { HandlerContext } from '../../../engine/handler.js';
import { canRetry, retryDelay } from '../../../engine/retry.js';
import { closeAllHarnesses, createHarness, finish, mulberry32, plan, record, tasksById } from './harness.js';

afterEach(async () => {
  expect(await closeAllHarnesses()).toEqual([]);
});

const policy = (p: Partial<RetryPolicy>): RetryPolicy => ({
  max: 3,
  backoff: 'exponential',
  initialMs: 100,
  maxDelayMs: 1_000,
  jitter: 0,
  ...p,
});

describe('retryDelay', () => {
  it('fixed backoff waits the initial delay every time', () => {
    const p = policy({ backoff: 'fixed', initialMs: 250 });
    expect([1, 2, 3, 10].map((a) => retryDelay(p, a))).toEqual([250, 250, 250, 250]);
  });

  it('fixed backoff is still capped by maxDelay', () => {
    expect(retryDelay(policy({ backoff: 'fixed', initialMs: 5_000, maxDelayMs: 2_000 }), 1)).toBe(2_000);
  });

  it('exponential backoff doubles per attempt up to maxDelay', () => {
    const p = policy({});
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelay(p, a))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    // Huge attempt numbers neither overflow nor exceed the cap.
    expect(retryDelay(p, 1_000)).toBe(1_000);
    expect(retryDelay(policy({ maxDelayMs: Number.MAX_SAFE_INTEGER }), 1_000)).toBe(100 * 2 ** 30);
  });

  it('jitter replaces a fraction of the delay with a random share of it', () => {
    const p = policy({ jitter: 0.2 });
    expect(retryDelay(p, 1, () => 0)).toBe(80);
    expect(retryDelay(p, 1, () => 0.5)).toBe(90);
    expect(retryDelay(p, 3, () => 0)).toBe(320);
    expect(retryDelay(p, 3, () => 0.999_999)).toBe(400);
    // Full jitter: anywhere from 0 to the delay.
    expect(retryDelay(policy({ jitter: 1 }), 2, () => 0)).toBe(0);
    expect(retryDelay(policy({ jitter: 1 }), 2, () => 0.25)).toBe(50);
  });

  it('keeps jittered delays within [delay * (1 - j), delay] and spreads them (seeded random)', () => {
    const random = mulberry32(42);
    for (const [jitter, attempt, base] of [
      [0.5, 3, 400],
      [1, 2, 200],
      [0.1, 8, 1_000],
    ] as const) {
      const p = policy({ jitter });
      const samples = Array.from({ length: 2_000 }, () => retryDelay(p, attempt, random));
      const lo = Math.round(base * (1 - jitter));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(lo);
      expect(Math.max(...samples)).toBeLessThanOrEqual(base);
      // Spread over the whole interval, centred in it.
      const span = base - lo;
      expect(Math.min(...samples)).toBeLessThan(lo + span * 0.05);
      expect(Math.max(...samples)).toBeGreaterThan(base - span * 0.05);
      const mean = samples.reduce((s, x) => s + x, 0) / samples.length;
      expect(Math.abs(mean - (lo + base) / 2)).toBeLessThan(span * 0.05);
    }
  });

  it('clamps the jitter fraction to 0..1', () => {
    expect(retryDelay(policy({ jitter: 5 }), 1, () => 0)).toBe(0);
    expect(retryDelay(policy({ jitter: -1 }), 1, () => 0)).toBe(100);
  });

  it('is reproducible with the same seed', () => {
    const p = policy({ jitter: 0.5 });
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = [1, 2, 3, 4].map((n) => retryDelay(p, n, a));
    expect([1, 2, 3, 4].map((n) => retryDelay(p, n, b))).toEqual(xs);
  });
});

describe('canRetry', () => {
  it('allows max retries after the first attempt', () => {
    const p = policy({ max: 2 });
    expect(canRetry(p, 1)).toBe(true);
    expect(canRetry(p, 2)).toBe(true);
    expect(canRetry(p, 3)).toBe(false);
    expect(canRetry(policy({ max: 0 }), 1)).toBe(false);
  });
});

describe('engine retries', () => {
  it('a handler failing twice then succeeding ends succeeded with attempt 3', async () => {
    const attempts: number[] = [];
    const h = await createHarness({
      handlers: {
        flaky: (ctx: HandlerContext) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`);
          return { attempt: ctx.attempt };
        },
      },
    });
    const failed = record(h.engine, 'task:attempt:failed');
    const scheduled = record(h.engine, 'task:retry:scheduled');
    const succeeded = record(h.engine, 'task:attempt:succeeded');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          {
            id: 'f',
            uses: 'flaky',
            estimate: '10ms',
            retries: { max: 2, backoff: 'fixed', initial: '5ms', jitter: 0 },
          },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(attempts).toEqual([1, 2, 3]);
    expect(failed.map((e) => [e.attempt, e.error, e.willRetry])).toEqual([
      [1, 'boom 1', true],
      [2, 'boom 2', true],
    ]);
    expect(scheduled.map((e) => [e.attempt, e.delayMs])).toEqual([
      [2, 5],
      [3, 5],
    ]);
    expect(succeeded.map((e) => e.attempt)).toEqual([3]);
    const t = (await tasksById(h.store, runId)).get('f')!;
    expect(t).toMatchObject({ status: 'succeeded', attempt: 3, outputs: { attempt: 3 } });
  });

  it('gives up after max retries: max + 1 attempts, then failed', async () => {
    let calls = 0;
    const h = await createHarness({
      handlers: {
        bad: () => {
          calls++;
          throw new Error('always');
        },
      },
    });
    const failed = record(h.engine, 'task:attempt:failed');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'b', uses: 'bad', estimate: '10ms', retries: { max: 1, backoff: 'fixed', initial: '1ms' } },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('failed');
    expect(calls).toBe(2);
    expect(failed.map((e) => e.willRetry)).toEqual([true, false]);
    expect((await tasksById(h.store, runId)).get('b')).toMatchObject({
      status: 'failed',
      attempt: 2,
      error: 'always',
    });
  });

  it('NonRetryableError stops retries at once', async () => {
    let calls = 0;
    const h = await createHarness({
      handlers: {
        fatal: () => {
          calls++;
          throw new NonRetryableError('bad input');
        },
      },
    });
    const scheduled = record(h.engine, 'task:retry:scheduled');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'x', uses: 'fatal', estimate: '10ms', retries: { max: 5, backoff: 'fixed', initial: '1ms' } },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('failed');
    expect(calls).toBe(1);
    expect(scheduled).toEqual([]);
    expect((await tasksById(h.store, runId)).get('x')).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: 'bad input',
    });
  });

  it('honours the delay a RetryAfterError asks for (instead of the policy)', async () => {
    const startedAt: number[] = [];
    let failedAt = 0;
    const h = await createHarness({
      handlers: {
        busy: (ctx: HandlerContext) => {
          startedAt.push(Date.now());
          if (ctx.attempt === 1) {
            failedAt = Date.now();
            throw new RetryAfterError('rate limited', 200);
          }
          return {};
        },
      },
    });
    const scheduled = record(h.engine, 'task:retry:scheduled');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'r', uses: 'busy', estimate: '10ms', retries: { max: 1, backoff: 'fixed', initial: '1ms' } },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    expect(scheduled.map((e) => e.delayMs)).toEqual([200]);
    expect(startedAt).toHaveLength(2);
    // Roughly: timers never fire early by more than a tick.
    expect(startedAt[1]! - failedAt).toBeGreaterThanOrEqual(180);
  });

  it('a RetryAfterError still counts as an attempt: with no retries left the task fails', async () => {
    const h = await createHarness({
      handlers: { busy: () => Promise.reject(new RetryAfterError('later', 10)) },
    });
    const runId = await h.engine.startRun(
      plan({ tasks: [{ id: 'r', uses: 'busy', estimate: '10ms', retries: 0 }] }),
    );
    expect(await finish(h.engine, runId)).toBe('failed');
    expect((await tasksById(h.store, runId)).get('r')).toMatchObject({ status: 'failed', attempt: 1 });
  });

  it("draws jitter from the engine's random option", async () => {
    const h = await createHarness({
      engine: { random: mulberry32(99) },
      handlers: {
        flaky: (ctx: HandlerContext) => {
          if (ctx.attempt < 3) throw new Error('again');
          return {};
        },
      },
    });
    const scheduled = record(h.engine, 'task:retry:scheduled');
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          {
            id: 'j',
            uses: 'flaky',
            estimate: '10ms',
            retries: { max: 2, backoff: 'exponential', initial: '20ms', maxDelay: '1s', jitter: 0.5 },
          },
        ],
      }),
    );
    expect(await finish(h.engine, runId)).toBe('succeeded');
    const p = policy({ max: 2, initialMs: 20, maxDelayMs: 1_000, jitter: 0.5 });
    const same = mulberry32(99);
    expect(scheduled.map((e) => e.delayMs)).toEqual([retryDelay(p, 1, same), retryDelay(p, 2, same)]);
    expect(scheduled[0]!.delayMs).toBeGreaterThanOrEqual(10);
    expect(scheduled[1]!.delayMs).toBeGreaterThanOrEqual(20);
  });
});
