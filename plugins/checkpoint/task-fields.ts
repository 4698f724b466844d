/** What every CheckpointStore shares about task rows. */
import type { TaskRecord } from '../../engine/stages.js';

/** Task fields `record()` may change; identity fields are not among them. */
export const PATCHABLE_TASK_FIELDS = [
  'status',
  'attempt',
  'workerId',
  'readyAt',
  'startedAt',
  'finishedAt',
  'outputs',
  'error',
  'deadlineMissed',
  'traceId',
] as const satisfies readonly (keyof TaskRecord)[];
