import { afterEach, describe, expect, it, vi } from 'vitest';
import { NonRetryableError } from '../../../../../engine/errors.js';
import {
  sleepDurationMs,
  sleepHandler,
  type SleepArgs,
} from '../../../../../plugins/handlers/sleep/index.js';
import { makeContext } from '../make-context.js';

describe('sleepHandler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits the duration (text or ms) and returns the requested ms', async () => {
    const started = performance.now();
    await expect(sleepHandler(makeContext<SleepArgs>({ duration: '60ms' }))).resolves.toEqual({
      sleptMs: 60,
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    await expect(sleepHandler(makeContext<SleepArgs>({ duration: 5 }))).resolves.toEqual({ sleptMs: 5 });
    await expect(sleepHandler(makeContext<SleepArgs>({}))).resolves.toEqual({ sleptMs: 0 });
  });

  it('does not resolve before the duration has passed', async () => {
    vi.useFakeTimers();
    let done = false;
    const attempt = Promise.resolve(sleepHandler(makeContext<SleepArgs>({ duration: '2s' }))).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(1999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await attempt;
    expect(done).toBe(true);
  });

  it('waits longer than the 2^31-1 ms timer limit instead of firing early', async () => {
    vi.useFakeTimers();
    let done = false;
    const attempt = Promise.resolve(sleepHandler(makeContext<SleepArgs>({ duration: '30d' }))).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(30 * 86_400_000 - 2 ** 31);
    await attempt;
    expect(done).toBe(true);
  });

  it('rejects promptly with the signal reason on abort', async () => {
    const controller = new AbortController();
    const attempt = sleepHandler(makeContext<SleepArgs>({ duration: '1h' }, { signal: controller.signal }));
    const reason = new Error('cancelled');
    const started = performance.now();
    setTimeout(() => controller.abort(reason), 20);
    await expect(attempt).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await expect(
      sleepHandler(makeContext<SleepArgs>({ duration: '1h' }, { signal: controller.signal })),
    ).rejects.toThrow('too late');
  });

  it('fails after sleeping with args.fail, and for the first n attempts with args.failAttempts', async () => {
    const failing = sleepHandler(makeContext<SleepArgs>({ duration: 1, fail: true }));
    await expect(failing).rejects.toThrow(/args\.fail/);
    await expect(failing).rejects.not.toBeInstanceOf(NonRetryableError);
    for (const attempt of [1, 2]) {
      await expect(sleepHandler(makeContext<SleepArgs>({ failAttempts: 2 }, { attempt }))).rejects.toThrow(
        new RegExp(`attempt ${attempt} of the first 2`),
      );
    }
    await expect(sleepHandler(makeContext<SleepArgs>({ failAttempts: 2 }, { attempt: 3 }))).resolves.toEqual({
      sleptMs: 0,
    });
  });

  it('refuses bad arguments for good', async () => {
    for (const args of [
      { duration: 'soon' },
      { duration: -5 },
      { duration: Number.NaN },
      { failAttempts: 1.5 },
      { duration: {} },
    ]) {
      await expect(sleepHandler(makeContext(args as SleepArgs)), JSON.stringify(args)).rejects.toBeInstanceOf(
        NonRetryableError,
      );
    }
  });
});

describe('sleepDurationMs', () => {
  it('parses compact and ISO durations and numbers', () => {
    expect(sleepDurationMs('300ms')).toBe(300);
    expect(sleepDurationMs('2s')).toBe(2000);
    expect(sleepDurationMs('1m30s')).toBe(90_000);
    expect(sleepDurationMs('PT1M')).toBe(60_000);
    expect(sleepDurationMs(250)).toBe(250);
    expect(sleepDurationMs(undefined)).toBe(0);
  });
});
