/** Record <-> row mapping of the Cassandra checkpoint store (JSON as text, times as bigint ms). */
import { SmartQueueError, errorMessage } from '../../../engine/errors.js';
import type {
  CheckpointEvent,
  RunRecord,
  RunStatus,
  TaskRecord,
  TaskStatus,
} from '../../../engine/stages.js';

type Row = Record<string, unknown>;

/** JSON text of a payload; INVALID_ARGUMENT (for its own caller) when JSON cannot hold it. */
export function toJson(value: unknown, field: string): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (err) {
    throw new SmartQueueError('INVALID_ARGUMENT', `${field} is not JSON-serializable: ${errorMessage(err)}`, {
      cause: err,
      details: { field },
    });
  }
}

/** A bigint/int column as a number (cassandra-driver returns bigint as Long). */
export function num(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return value;
  return (value as { toNumber(): number }).toNumber();
}

function put(target: Row, key: string, value: unknown): void {
  if (value !== null && value !== undefined) target[key] = value;
}

export function runFromRow(row: Row): RunRecord {
  const run: Row = {
    runId: row.run_id,
    workflowName: row.workflow_name,
    workflow: JSON.parse(row.workflow as string) as unknown,
    params: JSON.parse(row.params as string) as unknown,
    status: row.status as RunStatus,
    shardKey: row.shard_key,
    createdAt: num(row.created_at),
  };
  put(run, 'finishedAt', num(row.finished_at));
  put(run, 'deadlineAt', num(row.deadline_at));
  put(run, 'deadlineMissed', row.deadline_missed);
  if (row.labels !== null && row.labels !== undefined)
    run.labels = JSON.parse(row.labels as string) as unknown;
  return run as unknown as RunRecord;
}

/** Columns of a run (or of a patch: only the given fields). */
export function runColumns(run: Partial<RunRecord>): Row {
  const cols: Row = {};
  const map: [keyof RunRecord, string, boolean][] = [
    ['workflowName', 'workflow_name', false],
    ['workflow', 'workflow', true],
    ['params', 'params', true],
    ['status', 'status', false],
    ['shardKey', 'shard_key', false],
    ['createdAt', 'created_at', false],
    ['finishedAt', 'finished_at', false],
    ['deadlineAt', 'deadline_at', false],
    ['deadlineMissed', 'deadline_missed', false],
    ['labels', 'labels', true],
  ];
  for (const [field, column, json] of map) {
    const value = run[field];
    if (value !== undefined) cols[column] = json ? toJson(value, field) : value;
  }
  return cols;
}

export function taskFromRow(row: Row): TaskRecord {
  const task: Row = {
    runId: row.run_id,
    taskId: row.task_id,
    status: row.status as TaskStatus,
    attempt: row.attempt ?? 0,
  };
  put(task, 'workerId', row.worker_id);
  put(task, 'readyAt', num(row.ready_at));
  put(task, 'startedAt', num(row.started_at));
  put(task, 'finishedAt', num(row.finished_at));
  if (row.outputs !== null && row.outputs !== undefined)
    task.outputs = JSON.parse(row.outputs as string) as unknown;
  put(task, 'error', row.error);
  put(task, 'deadlineMissed', row.deadline_missed);
  put(task, 'traceId', row.trace_id);
  if (row.spec !== null && row.spec !== undefined) task.spec = JSON.parse(row.spec as string) as unknown;
  return task as unknown as TaskRecord;
}

/** Columns `record()` may change, from a task patch (undefined fields are left alone). */
export function taskPatchColumns(patch: Partial<TaskRecord>): Row {
  const cols: Row = {};
  const map: [keyof TaskRecord, string][] = [
    ['status', 'status'],
    ['attempt', 'attempt'],
    ['workerId', 'worker_id'],
    ['readyAt', 'ready_at'],
    ['startedAt', 'started_at'],
    ['finishedAt', 'finished_at'],
    ['error', 'error'],
    ['deadlineMissed', 'deadline_missed'],
    ['traceId', 'trace_id'],
  ];
  for (const [field, column] of map) if (patch[field] !== undefined) cols[column] = patch[field];
  if (patch.outputs !== undefined) cols.outputs = toJson(patch.outputs, 'outputs');
  return cols;
}

export function eventFromRow(row: Row): CheckpointEvent {
  const event: Row = { runId: row.run_id, type: row.type, at: num(row.at) };
  put(event, 'taskId', row.task_id);
  put(event, 'attempt', row.attempt);
  if (row.data !== null && row.data !== undefined) event.data = JSON.parse(row.data as string) as unknown;
  event.seq = num(row.seq);
  return event as unknown as CheckpointEvent;
}

/** UTC day of an epoch-ms time: the listRuns partition. */
export function dayOf(ms: number): number {
  return Math.floor(ms / 86_400_000);
}

/** Newest first; ties by runId in code-point order (the clustering order of runs_by_day). */
export function isAfterCursor(
  createdAt: number,
  runId: string,
  after: { createdAt: number; runId: string },
): boolean {
  return (
    createdAt < after.createdAt ||
    (createdAt === after.createdAt && Buffer.compare(Buffer.from(runId), Buffer.from(after.runId)) > 0)
  );
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

export function resolveListLimit(limit: number | undefined): number {
  if (limit === undefined) return 50;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new SmartQueueError('INVALID_ARGUMENT', `limit must be a positive integer, got ${String(limit)}`, {
      details: { field: 'limit' },
    });
  }
  return Math.min(limit, 1000);
}
