// Original file: proto/smartqueue/v1/smartqueue.proto

import type { SubmitTaskResponse as _smartqueue_v1_SubmitTaskResponse, SubmitTaskResponse__Output as _smartqueue_v1_SubmitTaskResponse__Output } from '../../smartqueue/v1/SubmitTaskResponse.js';

/**
 * Where SubmitTasks put the tasks.
 */
export interface SubmitTasksResponse {
  /**
   * The run that holds them.
   */
  'runId'?: (string);
  /**
   * One per requested task, in the same order.
   */
  'tasks'?: (_smartqueue_v1_SubmitTaskResponse)[];
}

/**
 * Where SubmitTasks put the tasks.
 */
export interface SubmitTasksResponse__Output {
  /**
   * The run that holds them.
   */
  'runId': (string);
  /**
   * One per requested task, in the same order.
   */
  'tasks': (_smartqueue_v1_SubmitTaskResponse__Output)[];
}
