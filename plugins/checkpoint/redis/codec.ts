/**
 * Records <-> Redis hash fields and stream entries. Every field value is JSON text, so the Lua
 * scripts never decode user JSON (Redis' cjson would turn `[]` into `{}` and round numbers);
 * they only compare a few scalars (`"succeeded"`, an attempt number) as strings.
 */
import { SmartQueueError, errorMessage } from '../../../engine/errors.js';
import type { CheckpointEvent, CompletionRecord, RunRecord, TaskRecord } from '../../../engine/stages.js';
import { PATCHABLE_TASK_FIELDS } from '../task-fields.js';

/** JSON text of `value`; INVALID_ARGUMENT naming `field` when JSON cannot hold it. */
export function toJson(value: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new SmartQueueError('INVALID_ARGUMENT', `${field} is not JSON-serializable: ${errorMessage(err)}`, {
      cause: err,
      details: { field },
    });
  }
  if (text === undefined) {
    throw new SmartQueueError('INVALID_ARGUMENT', `${field} is not JSON-serializable`, {
      details: { field },
    });
  }
  return text;
}

/** Flattened `field, json` pairs of a new run (undefined fields left out). */
export function runFields(run: RunRecord): string[] {
  const record: Record<string, unknown> = {
    ...run,
    workflow: run.workflow ?? null,
    params: run.params ?? {},
  };
  return objectFields(record, new Set());
}

/** Flattened `field, json` pairs of an updateRun patch: given fields only, never runId. */
export function runPatchFields(patch: Partial<Omit<RunRecord, 'runId'>>): string[] {
  return objectFields(patch as Record<string, unknown>, new Set(['runId']));
}

export function runFromHash(hash: Record<string, string>): RunRecord | undefined {
  if (Object.keys(hash).length === 0) return undefined;
  const run: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hash)) run[key] = JSON.parse(value) as unknown;
  return run as unknown as RunRecord;
}

/** Flattened `field, json` pairs of a record() task patch. */
export function taskPatchFields(patch: Partial<TaskRecord>): string[] {
  const fields: string[] = [];
  for (const key of PATCHABLE_TASK_FIELDS) {
    const value = patch[key];
    if (value !== undefined) fields.push(key, toJson(value, key === 'outputs' ? 'outputs' : `task.${key}`));
  }
  return fields;
}

export function taskFromHash(runId: string, taskId: string, hash: Record<string, string>): TaskRecord {
  const task: Record<string, unknown> = { runId, taskId };
  for (const [key, value] of Object.entries(hash)) task[key] = JSON.parse(value) as unknown;
  return task as unknown as TaskRecord;
}

/** The stream entry value of an event: JSON without runId and seq (the key and entry id hold them). */
export function eventJson(
  event: Omit<CheckpointEvent, 'runId' | 'seq'>,
  dataJson: string | undefined,
): string {
  const parts = [`"type":${JSON.stringify(String(event.type))}`, `"at":${toJson(event.at, 'event.at')}`];
  if (event.taskId !== undefined) parts.push(`"taskId":${toJson(event.taskId, 'event.taskId')}`);
  if (event.attempt !== undefined) parts.push(`"attempt":${toJson(event.attempt, 'event.attempt')}`);
  if (dataJson !== undefined) parts.push(`"data":${dataJson}`);
  return `{${parts.join(',')}}`;
}

export function eventFromEntry(runId: string, id: string, fields: string[]): CheckpointEvent {
  const index = fields.indexOf('e');
  const body = JSON.parse(fields[index + 1] ?? '{}') as Omit<CheckpointEvent, 'runId' | 'seq'>;
  return { runId, ...body, seq: Number(id.slice(0, id.indexOf('-'))) };
}

/**
 * What a winning completion writes: the task fields, and the `task:attempt:succeeded` event with
 * the same payload as the memory store's (so the log alone can rebuild the task's state).
 */
export function completionWrite(c: CompletionRecord): { fields: string[]; event: string } {
  const outputs = toJson(c.outputs ?? {}, 'outputs');
  const fields = [
    'status',
    '"succeeded"',
    'workerId',
    toJson(c.workerId, 'workerId'),
    'startedAt',
    toJson(c.startedAt, 'startedAt'),
    'finishedAt',
    toJson(c.finishedAt, 'finishedAt'),
    'outputs',
    outputs,
  ];
  const data = [
    `"workerId":${fields[3]}`,
    `"startedAt":${fields[5]}`,
    `"finishedAt":${fields[7]}`,
    `"outputs":${outputs}`,
  ];
  if (c.deadlineMissed !== undefined) {
    fields.push('deadlineMissed', toJson(c.deadlineMissed, 'deadlineMissed'));
    data.push(`"deadlineMissed":${toJson(c.deadlineMissed, 'deadlineMissed')}`);
  }
  const event = eventJson(
    { type: 'task:attempt:succeeded', at: c.finishedAt, taskId: c.taskId, attempt: c.attempt },
    `{${data.join(',')}}`,
  );
  return { fields, event };
}

function objectFields(record: Record<string, unknown>, skip: ReadonlySet<string>): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || skip.has(key)) continue;
    fields.push(key, toJson(value, key));
  }
  return fields;
}
