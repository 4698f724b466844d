/** GetRun, GetTask, ListRuns, CancelRun and CancelTask: reads from the store, cancels through the engine. */
import { SmartQueueError } from '../../../engine/errors.js';
import type { CancelRunRequest__Output } from '../../../proto/generated/smartqueue/v1/CancelRunRequest.js';
import type { CancelTaskRequest__Output } from '../../../proto/generated/smartqueue/v1/CancelTaskRequest.js';
import type { GetRunRequest__Output } from '../../../proto/generated/smartqueue/v1/GetRunRequest.js';
import type { GetTaskRequest__Output } from '../../../proto/generated/smartqueue/v1/GetTaskRequest.js';
import type { ListRunsRequest__Output } from '../../../proto/generated/smartqueue/v1/ListRunsRequest.js';
import type { ListRunsResponse } from '../../../proto/generated/smartqueue/v1/ListRunsResponse.js';
import type { Run } from '../../../proto/generated/smartqueue/v1/Run.js';
import type { Task } from '../../../proto/generated/smartqueue/v1/Task.js';
import { runStatusOf, toRun, toTask } from './convert.js';
import { badRequest } from './errors.js';
import type { FieldViolation } from './errors.js';
import type { ResolvedGrpcApiOptions } from './options.js';
import { METADATA_EVENT } from './submit-task.js';

function required(fields: Record<string, string>): void {
  const missing: FieldViolation[] = Object.entries(fields)
    .filter(([, v]) => !v)
    .map(([field]) => ({ field, description: 'is required' }));
  if (missing.length) throw badRequest(missing);
}

export function createQueries(options: ResolvedGrpcApiOptions) {
  const { engine, store } = options;

  const runRecord = async (runId: string) => {
    const rec = await store.getRun(runId);
    if (!rec) throw new SmartQueueError('NOT_FOUND', `unknown run ${runId}`);
    return rec;
  };

  /** NOT_FOUND for an unknown run; FAILED_PRECONDITION for a run that is not live here. */
  const liveRun = async (runId: string) => {
    if (engine.activeRuns().has(runId)) return;
    const rec = await runRecord(runId);
    throw new SmartQueueError('FAILED_PRECONDITION', `run ${runId} is not active (status ${rec.status})`);
  };

  return {
    async getRun(req: GetRunRequest__Output): Promise<Run> {
      required({ run_id: req.runId });
      const rec = await runRecord(req.runId);
      return toRun(rec, await store.getTasks(req.runId));
    },

    async getTask(req: GetTaskRequest__Output): Promise<Task> {
      required({ run_id: req.runId, task_id: req.taskId });
      await runRecord(req.runId);
      const task = (await store.getTasks(req.runId)).find((t) => t.taskId === req.taskId);
      if (!task) throw new SmartQueueError('NOT_FOUND', `run ${req.runId} has no task "${req.taskId}"`);
      const events = await store.getEvents(req.runId);
      const recorded = events.findLast((e) => e.type === METADATA_EVENT && e.taskId === req.taskId);
      return toTask(task, (recorded?.data?.metadata as Record<string, string> | undefined) ?? {});
    },

    async listRuns(req: ListRunsRequest__Output): Promise<ListRunsResponse> {
      if (req.pageSize < 0) throw badRequest([{ field: 'page_size', description: 'must not be negative' }]);
      const status = runStatusOf(req.status);
      const page = await store.listRuns({
        ...(req.pageSize > 0 && { limit: req.pageSize }),
        ...(req.pageToken && { cursor: req.pageToken }),
        ...(status && { status }),
        ...(req.workflow && { workflowName: req.workflow }),
      });
      return { runs: page.runs.map((r) => toRun(r)), nextPageToken: page.nextCursor ?? '' };
    },

    async cancelRun(req: CancelRunRequest__Output): Promise<Record<string, never>> {
      required({ run_id: req.runId });
      await liveRun(req.runId);
      await engine.cancelRun(req.runId, req.reason || undefined);
      return {};
    },

    async cancelTask(req: CancelTaskRequest__Output): Promise<Record<string, never>> {
      required({ run_id: req.runId, task_id: req.taskId });
      await liveRun(req.runId);
      await engine.cancelTask(req.runId, req.taskId, req.reason || undefined);
      return {};
    },
  };
}
