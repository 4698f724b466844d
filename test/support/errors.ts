import { expect } from 'vitest';
import { SmartQueueError } from '../../engine/errors.js';
import type { ErrorCode } from '../../engine/errors.js';

/** Expects `promise` to reject with a SmartQueueError of `code`; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<SmartQueueError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(SmartQueueError);
  expect((error as SmartQueueError).code).toBe(code);
  return error as SmartQueueError;
}
