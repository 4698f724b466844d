/**
 * Cron schedules: when a scheduled workflow fires next, which fire times were missed while the
 * scheduler was down, and a small scheduler that starts runs on time (cron-parser does the
 * calendar arithmetic, time zones included).
 */
import { CronExpressionParser } from 'cron-parser';
import type { ScheduleIR } from '../dsl/ir.js';

/** At most this many missed runs are started by `catchUp: all` after a long outage. */
export const MAX_CATCH_UP = 100;

/** The first fire time strictly after `after` (epoch ms). */
export function nextFireTime(schedule: ScheduleIR, after: number): number {
  const it = CronExpressionParser.parse(schedule.cron, {
    tz: schedule.timezone,
    currentDate: new Date(after),
  });
  return it.next().getTime();
}

/**
 * Fire times in (lastFireAt, now] that should still run, per `catchUp`: none → [], latest → the
 * last one, all → every one (oldest first, at most {@link MAX_CATCH_UP}).
 */
export function missedFireTimes(schedule: ScheduleIR, lastFireAt: number | undefined, now: number): number[] {
  if (lastFireAt === undefined || schedule.catchUp === 'none' || lastFireAt >= now) return [];
  // Walk back from now, so a long outage of a frequent schedule costs at most MAX_CATCH_UP steps.
  const it = CronExpressionParser.parse(schedule.cron, {
    tz: schedule.timezone,
    currentDate: new Date(now + 1),
  });
  const limit = schedule.catchUp === 'latest' ? 1 : MAX_CATCH_UP;
  const missed: number[] = [];
  while (missed.length < limit) {
    const t = it.prev().getTime();
    if (t <= lastFireAt) break;
    missed.push(t);
  }
  return missed.reverse();
}

/** One scheduled workflow as the scheduler knows it. */
export interface ScheduledEntry {
  name: string;
  schedule: ScheduleIR;
  /** When it last fired (from the checkpoint store), for catch-up after a restart. */
  lastFireAt?: number;
}

export interface CronSchedulerOptions {
  /** Starts one run; `scheduledAt` is the fire time it stands for. */
  fire(name: string, scheduledAt: number, reason: 'schedule' | 'catch-up'): Promise<void>;
  /** Reports a run that could not be started (the scheduler goes on). */
  onError?(name: string, error: unknown): void;
  now?: () => number;
}

/** Starts scheduled runs on time, catching up missed ones once at start. */
export class CronScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly options: CronSchedulerOptions) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Catches up what was missed, then arms a timer per entry. */
  async start(entries: ScheduledEntry[]): Promise<void> {
    for (const e of entries) {
      for (const t of missedFireTimes(e.schedule, e.lastFireAt, this.now()))
        await this.run(e.name, t, 'catch-up');
      this.arm(e);
    }
  }

  /** Next fire time of each entry (for `serve` to print). */
  upcoming(entries: ScheduledEntry[]): { name: string; at: number }[] {
    return entries.map((e) => ({ name: e.name, at: nextFireTime(e.schedule, this.now()) }));
  }

  private arm(e: ScheduledEntry): void {
    if (this.stopped) return;
    const at = nextFireTime(e.schedule, this.now());
    // setTimeout holds at most ~24.8 days; longer waits re-arm on the way.
    const delay = Math.min(Math.max(at - this.now(), 0), 2 ** 31 - 1);
    this.timers.set(
      e.name,
      setTimeout(() => {
        if (this.now() + 5 < at) {
          this.arm(e);
          return;
        }
        void this.run(e.name, at, 'schedule').finally(() => this.arm(e));
      }, delay),
    );
  }

  private async run(name: string, at: number, reason: 'schedule' | 'catch-up'): Promise<void> {
    try {
      await this.options.fire(name, at, reason);
    } catch (err) {
      this.options.onError?.(name, err);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
