// Original file: proto/smartqueue/v1/smartqueue.proto

import type { SubmitTaskRequest as _smartqueue_v1_SubmitTaskRequest, SubmitTaskRequest__Output as _smartqueue_v1_SubmitTaskRequest__Output } from '../../smartqueue/v1/SubmitTaskRequest.js';

/**
 * Tasks to add to one open run.
 */
export interface SubmitTasksRequest {
  /**
   * The namespace whose open run the tasks join (created on first use). Default `default`.
   * Ignored when `run_id` is set.
   */
  'namespace'?: (string);
  /**
   * A live run to add the tasks to instead of the namespace's run.
   */
  'runId'?: (string);
  /**
   * The tasks, in order (a task may need earlier ones). Their own `namespace` and `run_id` must
   * be empty. Required, not empty.
   */
  'tasks'?: (_smartqueue_v1_SubmitTaskRequest)[];
}

/**
 * Tasks to add to one open run.
 */
export interface SubmitTasksRequest__Output {
  /**
   * The namespace whose open run the tasks join (created on first use). Default `default`.
   * Ignored when `run_id` is set.
   */
  'namespace': (string);
  /**
   * A live run to add the tasks to instead of the namespace's run.
   */
  'runId': (string);
  /**
   * The tasks, in order (a task may need earlier ones). Their own `namespace` and `run_id` must
   * be empty. Required, not empty.
   */
  'tasks': (_smartqueue_v1_SubmitTaskRequest__Output)[];
}
