/** Small records the store-specific checkpoint tests share (the conformance suite has its own). */
import type { RunRecord } from '../../engine/stages.js';

/** Waits one event-loop turn (a group-commit batch goes out on it). */
export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A running run of workflow `etl` with no tasks in its IR. */
export function run(runId: string, createdAt = 1_700_000_000_000): RunRecord {
  return {
    runId,
    workflowName: 'etl',
    workflow: { name: 'etl', tasks: [] },
    params: {},
    status: 'running',
    shardKey: 'k',
    createdAt,
  };
}

/** A completion of `attempt` by `workerId`, whose outputs name the worker. */
export function completion(runId: string, taskId: string, attempt = 1, workerId = 'w1') {
  return { runId, taskId, attempt, workerId, outputs: { by: workerId }, startedAt: 1, finishedAt: 2 };
}
