/**
 * Conversions between the engine's records and the messages of the contract: JSON values and
 * google.protobuf.Struct, epoch milliseconds and Timestamp, status strings and enums.
 */
import { SmartQueueError } from '../../../engine/errors.js';
import type {
  CheckpointEvent,
  RunRecord,
  RunStatus,
  TaskRecord,
  TaskStatus,
} from '../../../engine/stages.js';
import type { Struct, Struct__Output } from '../../../proto/generated/google/protobuf/Struct.js';
import type { Timestamp } from '../../../proto/generated/google/protobuf/Timestamp.js';
import type { Value, Value__Output } from '../../../proto/generated/google/protobuf/Value.js';
import type { Run } from '../../../proto/generated/smartqueue/v1/Run.js';
import type { RunEvent } from '../../../proto/generated/smartqueue/v1/RunEvent.js';
import type { RunStatus__Output } from '../../../proto/generated/smartqueue/v1/RunStatus.js';
import type { Task } from '../../../proto/generated/smartqueue/v1/Task.js';
import type { TaskStatus__Output } from '../../../proto/generated/smartqueue/v1/TaskStatus.js';
import type { TaskUpdate } from '../../../proto/generated/smartqueue/v1/TaskUpdate.js';

/** Deepest nesting accepted in a Struct from a client (deeper input is INVALID_ARGUMENT). */
export const MAX_STRUCT_DEPTH = 64;

export function toValue(v: unknown, depth = 0): Value {
  if (depth > MAX_STRUCT_DEPTH) return { stringValue: '[too deep]' };
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? { numberValue: v } : { stringValue: String(v) };
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'bigint':
      return { stringValue: v.toString() };
    case 'object':
      if (Array.isArray(v)) return { listValue: { values: v.map((x) => toValue(x, depth + 1)) } };
      return { structValue: toStruct(v as Record<string, unknown>, depth + 1) };
    default:
      return { nullValue: 'NULL_VALUE' };
  }
}

/** A JSON object as a Struct (undefined members are left out, as JSON.stringify does). */
export function toStruct(obj: Record<string, unknown>, depth = 0): Struct {
  const fields: Record<string, Value> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) fields[k] = toValue(v, depth);
  return { fields };
}

function tooDeep(field: string): SmartQueueError {
  return new SmartQueueError('INVALID_ARGUMENT', `${field}: nested deeper than ${MAX_STRUCT_DEPTH} levels`, {
    details: { fieldViolations: [{ field, description: `nested deeper than ${MAX_STRUCT_DEPTH} levels` }] },
  });
}

export function fromValue(v: Value__Output | null | undefined, field: string, depth = 0): unknown {
  if (depth > MAX_STRUCT_DEPTH) throw tooDeep(field);
  switch (v?.kind) {
    case 'numberValue':
      return v.numberValue;
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'structValue':
      return fromStruct(v.structValue, field, depth + 1);
    case 'listValue':
      return (v.listValue?.values ?? []).map((x) => fromValue(x, field, depth + 1));
    default:
      return null;
  }
}

/** A Struct as a plain JSON object; an absent Struct is `{}`. */
export function fromStruct(
  s: Struct__Output | null | undefined,
  field: string,
  depth = 0,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = fromValue(v, field, depth);
  return out;
}

export function toTimestamp(ms: number | undefined): Timestamp | null {
  if (ms === undefined || !Number.isFinite(ms)) return null;
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

const RUN_STATUS: Record<RunStatus, RunStatus__Output> = {
  running: 'RUN_STATUS_RUNNING',
  succeeded: 'RUN_STATUS_SUCCEEDED',
  failed: 'RUN_STATUS_FAILED',
  cancelled: 'RUN_STATUS_CANCELLED',
};

/** The engine's run status of an enum value, or undefined for UNSPECIFIED (no filter). */
export function runStatusOf(value: string | number | undefined): RunStatus | undefined {
  const entry = Object.entries(RUN_STATUS).find(
    ([, name], i) => name === value || (typeof value === 'number' && value === i + 1),
  );
  return entry?.[0] as RunStatus | undefined;
}

const TASK_STATUS: Record<TaskStatus, TaskStatus__Output> = {
  pending: 'TASK_STATUS_PENDING',
  ready: 'TASK_STATUS_READY',
  dispatched: 'TASK_STATUS_DISPATCHED',
  running: 'TASK_STATUS_RUNNING',
  succeeded: 'TASK_STATUS_SUCCEEDED',
  failed: 'TASK_STATUS_FAILED',
  skipped: 'TASK_STATUS_SKIPPED',
  cancelled: 'TASK_STATUS_CANCELLED',
  'timed-out': 'TASK_STATUS_TIMED_OUT',
};

export function toTask(t: TaskRecord, metadata: Record<string, string> = {}): Task {
  return {
    runId: t.runId,
    taskId: t.taskId,
    status: TASK_STATUS[t.status] ?? 'TASK_STATUS_UNSPECIFIED',
    attempt: t.attempt,
    workerId: t.workerId ?? '',
    outputs: toStruct(t.outputs ?? {}),
    error: t.error ?? '',
    startedAt: toTimestamp(t.startedAt),
    finishedAt: toTimestamp(t.finishedAt),
    deadlineMissed: t.deadlineMissed ?? false,
    metadata,
  };
}

export function toRun(r: RunRecord, tasks: TaskRecord[] = []): Run {
  const open = (r.workflow as { open?: boolean } | undefined)?.open === true && r.status === 'running';
  return {
    runId: r.runId,
    workflow: r.workflowName,
    status: RUN_STATUS[r.status] ?? 'RUN_STATUS_UNSPECIFIED',
    params: toStruct(r.params),
    labels: r.labels ?? {},
    createdAt: toTimestamp(r.createdAt),
    finishedAt: toTimestamp(r.finishedAt),
    deadlineAt: toTimestamp(r.deadlineAt),
    deadlineMissed: r.deadlineMissed ?? false,
    open,
    tasks: tasks.map((t) => toTask(t)),
  };
}

export function toRunEvent(e: CheckpointEvent): RunEvent {
  return {
    seq: e.seq ?? 0,
    runId: e.runId,
    type: e.type,
    at: toTimestamp(e.at),
    taskId: e.taskId ?? '',
    attempt: e.attempt ?? 0,
    data: toStruct(e.data ?? {}),
  };
}

/** Event type of a handler's progress report (`ctx.progress(...)`) in a run's log. */
export const PROGRESS_EVENT = 'task:attempt:progress';

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * The task state a recorded event leaves its task in, as a TaskUpdate; undefined for events
 * that change no task's state (run events, metadata, a final failure, which the following
 * `task:state:*` event reports).
 */
export function toTaskUpdate(e: CheckpointEvent): TaskUpdate | undefined {
  if (!e.taskId) return undefined;
  const d = e.data ?? {};
  const base = {
    seq: e.seq ?? 0,
    runId: e.runId,
    taskId: e.taskId,
    attempt: e.attempt ?? 0,
    at: toTimestamp(e.at),
  };
  const worker = { workerId: text(d.workerId) };
  switch (e.type) {
    case 'task:attempt:dispatched':
      return { ...base, ...worker, status: 'TASK_STATUS_DISPATCHED' };
    case PROGRESS_EVENT:
      return {
        ...base,
        ...worker,
        status: 'TASK_STATUS_RUNNING',
        ...(typeof d.fraction === 'number' && { progress: d.fraction }),
        message: text(d.message),
      };
    case 'task:attempt:succeeded':
      return {
        ...base,
        ...worker,
        status: 'TASK_STATUS_SUCCEEDED',
        outputs: toStruct((d.outputs as Record<string, unknown> | undefined) ?? {}),
      };
    case 'task:attempt:failed':
      // A retry is scheduled; a final failure is reported by the task:state event after it.
      return d.final ? undefined : { ...base, status: 'TASK_STATUS_PENDING', error: text(d.error) };
    case 'task:attempt:lost':
      return { ...base, ...worker, status: 'TASK_STATUS_READY', error: text(d.reason) };
    default: {
      const m = /^task:state:(.+)$/.exec(e.type);
      const status = m && TASK_STATUS[m[1] as TaskStatus];
      return status ? { ...base, status, error: text(d.reason) } : undefined;
    }
  }
}

/** True for the statuses a task never leaves. */
export function isFinalTaskStatus(status: TaskUpdate['status']): boolean {
  return [
    'TASK_STATUS_SUCCEEDED',
    'TASK_STATUS_FAILED',
    'TASK_STATUS_SKIPPED',
    'TASK_STATUS_CANCELLED',
    'TASK_STATUS_TIMED_OUT',
  ].includes(status as string);
}
