/** The `ttlMs` of `Coordinator.reserve`, checked once for every coordinator. */
import { SmartQueueError } from '../../engine/errors.js';

/** `ttlMs` when it is a number > 0, undefined when absent. @throws SmartQueueError INVALID_ARGUMENT */
export function reservationTtlMs(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `reservation ttlMs must be a number > 0, got ${String(ttlMs)}`,
    );
  return ttlMs;
}
