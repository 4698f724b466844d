/**
 * The namespace each SmartQueue method touches, for {@link withAuthorization}: SubmitTask,
 * SubmitTasks and WatchTasks name it (or their run does), SubmitWorkflow carries it as a label, and calls on a run id use the run's
 * namespace label. Runs without the label are in `default`. ListRuns spans namespaces.
 */
import type { CheckpointStore } from '../../../engine/stages.js';
import { NAMESPACE_LABEL } from './submit-task.js';

/** Namespace of runs and tasks that name none. */
export const DEFAULT_NAMESPACE = 'default';

interface MaybeRequest {
  namespace?: unknown;
  runId?: unknown;
  labels?: unknown;
}

/** A `namespaceOf` for the SmartQueue service that reads run namespaces from the store. */
export function smartQueueNamespaceOf(
  store: Pick<CheckpointStore, 'getRun'>,
): (method: string, request: unknown) => Promise<string | undefined> {
  const ofRun = async (runId: unknown): Promise<string> => {
    if (typeof runId !== 'string' || !runId) return DEFAULT_NAMESPACE;
    // An unknown run is the handler's NOT_FOUND, after the check: `default` keeps it in reach of
    // default-namespace tokens only, so run ids of other namespaces cannot be probed.
    const run = await store.getRun(runId);
    return run?.labels?.[NAMESPACE_LABEL] ?? DEFAULT_NAMESPACE;
  };
  return async (method, request) => {
    const req = (request ?? {}) as MaybeRequest;
    switch (method) {
      case 'SubmitTask':
      case 'SubmitTasks':
      case 'WatchTasks':
        if (typeof req.runId === 'string' && req.runId) return ofRun(req.runId);
        return typeof req.namespace === 'string' && req.namespace ? req.namespace : DEFAULT_NAMESPACE;
      case 'SubmitWorkflow': {
        const labels = (req.labels ?? {}) as Record<string, unknown>;
        const ns = labels[NAMESPACE_LABEL];
        return typeof ns === 'string' && ns ? ns : DEFAULT_NAMESPACE;
      }
      case 'ListRuns':
        return undefined;
      default:
        return ofRun(req.runId);
    }
  };
}
