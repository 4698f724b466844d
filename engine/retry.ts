import type { RetryPolicy } from '../dsl/ir.js';

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed (attempt is 1-based):
 * fixed = initial; exponential = initial * 2^(attempt-1); both capped at maxDelay. A jitter
 * fraction j replaces j of the delay with a uniform random share of it (j = 1: "full jitter"),
 * so retries of many tasks that failed together spread out.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base =
    policy.backoff === 'fixed'
      ? policy.initialMs
      : policy.initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30);
  const capped = Math.min(base, policy.maxDelayMs);
  const j = Math.min(Math.max(policy.jitter, 0), 1);
  return Math.round(capped * (1 - j) + capped * j * random());
}

/** True when another attempt is allowed after `attempt` failed. */
export function canRetry(policy: RetryPolicy, attempt: number): boolean {
  return attempt <= policy.max;
}
