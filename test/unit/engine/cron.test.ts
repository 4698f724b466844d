import { afterEach, describe, expect, it, vi } from 'vitest';
import { CronScheduler, MAX_CATCH_UP, missedFireTimes, nextFireTime } from '../../../engine/cron.js';
import type { ScheduleIR } from '../../../dsl/ir.js';

const at = (iso: string) => Date.parse(iso);
const every5: ScheduleIR = { cron: '*/5 * * * *', timezone: 'UTC', catchUp: 'latest' };

describe('nextFireTime', () => {
  it('is strictly after the given time', () => {
    expect(nextFireTime(every5, at('2026-11-27T10:02:00Z'))).toBe(at('2026-11-27T10:05:00Z'));
    expect(nextFireTime(every5, at('2026-11-27T10:05:00Z'))).toBe(at('2026-11-27T10:10:00Z'));
  });

  it('follows the time zone across a daylight-saving change', () => {
    const paris: ScheduleIR = { cron: '0 6 * * *', timezone: 'Europe/Paris', catchUp: 'none' };
    // 06:00 in Paris is 05:00Z in winter (CET) and 04:00Z in summer (CEST).
    expect(nextFireTime(paris, at('2026-03-28T12:00:00Z'))).toBe(at('2026-03-29T04:00:00Z'));
    expect(nextFireTime(paris, at('2026-03-27T12:00:00Z'))).toBe(at('2026-03-28T05:00:00Z'));
  });
});

describe('missedFireTimes', () => {
  const last = at('2026-11-27T10:00:00Z');
  const now = at('2026-11-27T10:17:00Z');

  it('catchUp all: every missed fire time, oldest first', () => {
    expect(missedFireTimes({ ...every5, catchUp: 'all' }, last, now)).toEqual([
      at('2026-11-27T10:05:00Z'),
      at('2026-11-27T10:10:00Z'),
      at('2026-11-27T10:15:00Z'),
    ]);
  });

  it('catchUp latest: only the last one', () => {
    expect(missedFireTimes(every5, last, now)).toEqual([at('2026-11-27T10:15:00Z')]);
  });

  it('catchUp none, a first start, or nothing missed: nothing', () => {
    expect(missedFireTimes({ ...every5, catchUp: 'none' }, last, now)).toEqual([]);
    expect(missedFireTimes(every5, undefined, now)).toEqual([]);
    expect(missedFireTimes(every5, at('2026-11-27T10:15:00Z'), now)).toEqual([]);
  });

  it('catchUp all is capped after a long outage', () => {
    const missed = missedFireTimes(
      { cron: '* * * * *', timezone: 'UTC', catchUp: 'all' },
      last,
      last + 3 * 3_600_000,
    );
    expect(missed).toHaveLength(MAX_CATCH_UP);
    expect(missed[missed.length - 1]).toBe(last + 3 * 3_600_000);
  });
});

describe('CronScheduler', () => {
  afterEach(() => vi.useRealTimers());

  it('catches up at start, then fires on time, and stops', async () => {
    vi.useFakeTimers({ now: at('2026-11-27T10:17:00Z') });
    const fired: [string, string, string][] = [];
    const scheduler = new CronScheduler({
      fire: async (name, scheduledAt, reason) => {
        fired.push([name, new Date(scheduledAt).toISOString(), reason]);
      },
    });
    await scheduler.start([{ name: 'report', schedule: every5, lastFireAt: at('2026-11-27T10:00:00Z') }]);
    expect(fired).toEqual([['report', '2026-11-27T10:15:00.000Z', 'catch-up']]);
    await vi.advanceTimersByTimeAsync(3 * 60_000); // 10:20
    await vi.advanceTimersByTimeAsync(5 * 60_000); // 10:25
    expect(fired.slice(1)).toEqual([
      ['report', '2026-11-27T10:20:00.000Z', 'schedule'],
      ['report', '2026-11-27T10:25:00.000Z', 'schedule'],
    ]);
    scheduler.stop();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(fired).toHaveLength(3);
  });

  it('keeps scheduling after a run fails to start, and reports it', async () => {
    vi.useFakeTimers({ now: at('2026-11-27T10:01:00Z') });
    const errors: string[] = [];
    let calls = 0;
    const scheduler = new CronScheduler({
      fire: async () => {
        calls++;
        throw new Error('store down');
      },
      onError: (name, err) => errors.push(`${name}: ${(err as Error).message}`),
    });
    await scheduler.start([{ name: 'r', schedule: every5 }]);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    scheduler.stop();
    expect(calls).toBe(2);
    expect(errors).toEqual(['r: store down', 'r: store down']);
  });
});
