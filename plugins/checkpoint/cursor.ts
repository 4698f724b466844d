/**
 * The listRuns page cursor every checkpoint store uses: the (createdAt, runId) key of the last
 * run of a page, as base64url JSON, so pages are stable while runs are added.
 */
import { SmartQueueError } from '../../engine/errors.js';

/** The cursor is the (createdAt, runId) key of the last run of a page, as base64url JSON. */
export function encodeCursor(createdAt: number, runId: string): string {
  return Buffer.from(JSON.stringify([createdAt, runId])).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: number; runId: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') {
      return { createdAt: value[0], runId: value[1] };
    }
  } catch {
    // Fall through to the one error below: the cause is always "not a cursor we issued".
  }
  throw new SmartQueueError('INVALID_ARGUMENT', 'cursor is not one returned by listRuns', {
    details: { field: 'cursor' },
  });
}
