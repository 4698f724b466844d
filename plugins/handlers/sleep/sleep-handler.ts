/**
 * The `sleep` handler: waits, then succeeds or (on purpose) fails. For demos, tests and
 * workflows that need a pause; failure switches make retry and failure paths easy to show.
 */
import { NonRetryableError } from '../../../engine/errors.js';
import type { HandlerContext, TaskHandler } from '../../../engine/handler.js';
import { parseDuration } from '../../../dsl/duration.js';
import { delay } from './delay.js';

/** `ctx.args` of the `sleep` handler. */
export interface SleepArgs {
  /**
   * How long to wait: a duration (`"300ms"`, `"2s"`, `"PT1M"`) or a number of milliseconds.
   * @default 0
   */
  duration?: string | number;
  /** When true, the attempt throws (a retryable error) after sleeping. */
  fail?: boolean;
  /** Attempts 1..failAttempts throw (retryable) after sleeping; later attempts succeed. */
  failAttempts?: number;
}

/** Outputs of the `sleep` handler. */
export interface SleepOutputs extends Record<string, unknown> {
  /** The requested duration in ms (not the measured one, so outputs are reproducible). */
  sleptMs: number;
}

/** Parses `args.duration` into ms; bad values cannot succeed on a retry. */
export function sleepDurationMs(duration: unknown): number {
  if (duration === undefined) return 0;
  const ms =
    typeof duration === 'number'
      ? duration
      : typeof duration === 'string'
        ? parseDuration(duration)
        : undefined;
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw new NonRetryableError(
      `sleep: args.duration must be a duration such as "300ms" or "2s", or a number of ms >= 0; got ${JSON.stringify(duration)}`,
    );
  }
  return ms;
}

/**
 * Waits `args.duration`, then resolves to `{ sleptMs }`. Rejects with `ctx.signal.reason` as
 * soon as the signal aborts. `args.fail: true` fails every attempt after the wait;
 * `args.failAttempts: n` fails attempts 1..n, so a task with `retries >= n` succeeds.
 */
export const sleepHandler: TaskHandler<SleepArgs, SleepOutputs> = async (ctx: HandlerContext<SleepArgs>) => {
  const args: Partial<SleepArgs> = ctx.args ?? {};
  const ms = sleepDurationMs(args.duration);
  const failAttempts = args.failAttempts ?? 0;
  if (typeof failAttempts !== 'number' || !Number.isInteger(failAttempts) || failAttempts < 0) {
    throw new NonRetryableError(
      `sleep: args.failAttempts must be an integer >= 0, got ${JSON.stringify(failAttempts)}`,
    );
  }
  await delay(ms, ctx.signal);
  if (args.fail === true) throw new Error(`sleep: failing on purpose after ${ms}ms (args.fail)`);
  if (ctx.attempt <= failAttempts) {
    throw new Error(
      `sleep: failing attempt ${ctx.attempt} of the first ${failAttempts} on purpose (args.failAttempts)`,
    );
  }
  return { sleptMs: ms };
};
