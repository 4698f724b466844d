/** Argument checks and error mapping of the Redis checkpoint store. */
import { SmartQueueError, errorMessage } from '../../../engine/errors.js';
import type { RunRecord } from '../../../engine/stages.js';

/** Page size of `listRuns` when the query gives none. */
const DEFAULT_LIST_LIMIT = 50;
/** Largest page `listRuns` returns, whatever the query asks for. */
const MAX_LIST_LIMIT = 1000;

export function failure(
  code: 'NOT_FOUND' | 'ALREADY_EXISTS',
  message: string,
  runId: string,
): SmartQueueError {
  return new SmartQueueError(code, message, { details: { runId } });
}

export function assertIds(ids: unknown[]): void {
  for (const id of ids) {
    if (typeof id !== 'string' || id === '') {
      throw new SmartQueueError(
        'INVALID_ARGUMENT',
        `run and task ids must be non-empty strings, got ${String(id)}`,
      );
    }
  }
}

/** The fields the run indexes are built from must be what the Lua script expects. */
export function assertRunScalars(run: Partial<RunRecord>): void {
  const problems: string[] = [];
  if ('status' in run && run.status !== undefined && typeof run.status !== 'string') problems.push('status');
  if ('workflowName' in run && run.workflowName !== undefined && typeof run.workflowName !== 'string')
    problems.push('workflowName');
  if ('createdAt' in run && run.createdAt !== undefined && !Number.isFinite(run.createdAt))
    problems.push('createdAt');
  if (problems.length > 0) {
    throw new SmartQueueError('INVALID_ARGUMENT', `bad run fields: ${problems.join(', ')}`, {
      details: { fields: problems },
    });
  }
}

export function resolveListLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new SmartQueueError('INVALID_ARGUMENT', `limit must be a positive integer, got ${String(limit)}`, {
      details: { field: 'limit' },
    });
  }
  return Math.min(limit, MAX_LIST_LIMIT);
}

/** Server busy, loading, failing over, or no connection: UNAVAILABLE (retry later); else INTERNAL. */
export function toStoreError(err: unknown, what: string): SmartQueueError {
  if (err instanceof SmartQueueError) return err;
  const message = errorMessage(err);
  const isReply = (err as { name?: unknown } | null)?.name === 'ReplyError';
  const transient =
    !isReply || /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|OOM)/.test(message);
  return new SmartQueueError(
    transient ? 'UNAVAILABLE' : 'INTERNAL',
    `Redis checkpoint store: ${what} failed: ${message}`,
    { cause: err },
  );
}
