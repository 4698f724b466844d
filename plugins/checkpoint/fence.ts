/**
 * Shard fencing shared by every CheckpointStore: the error a stale owner gets, in one shape, so
 * the engine can tell "fenced off" from other failures (`isFencedError`).
 */
import { SmartQueueError } from '../../engine/errors.js';
import type { ShardFence } from '../../engine/stages.js';

/** FAILED_PRECONDITION for a write carrying `fence` while the store holds `currentEpoch`. */
export function fencedError(fence: ShardFence, currentEpoch: number): SmartQueueError {
  return new SmartQueueError(
    'FAILED_PRECONDITION',
    `shard ${fence.shard} is owned with epoch ${currentEpoch}; epoch ${fence.epoch} is fenced off`,
    { details: { fenced: true, shard: fence.shard, epoch: fence.epoch, currentEpoch } },
  );
}

/** Whether `err` is a store's refusal of a stale shard owner's write. */
export function isFencedError(err: unknown): boolean {
  return (
    err instanceof SmartQueueError &&
    err.code === 'FAILED_PRECONDITION' &&
    (err.details as { fenced?: unknown } | undefined)?.fenced === true
  );
}

/** Rejects a fence that is not a pair of non-negative safe integers (INVALID_ARGUMENT). */
export function checkFence(fence: ShardFence): void {
  if (
    !Number.isSafeInteger(fence.shard) ||
    fence.shard < 0 ||
    !Number.isSafeInteger(fence.epoch) ||
    fence.epoch < 0
  )
    throw new SmartQueueError('INVALID_ARGUMENT', `bad shard fence ${JSON.stringify(fence)}`, {
      details: { fence },
    });
}
