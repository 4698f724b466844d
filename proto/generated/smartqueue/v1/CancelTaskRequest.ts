// Original file: proto/smartqueue/v1/smartqueue.proto


/**
 * Cancels one task.
 */
export interface CancelTaskRequest {
  /**
   * Run id. Required.
   */
  'runId'?: (string);
  /**
   * Task id. Required.
   */
  'taskId'?: (string);
  /**
   * Why, recorded with the task.
   */
  'reason'?: (string);
}

/**
 * Cancels one task.
 */
export interface CancelTaskRequest__Output {
  /**
   * Run id. Required.
   */
  'runId': (string);
  /**
   * Task id. Required.
   */
  'taskId': (string);
  /**
   * Why, recorded with the task.
   */
  'reason': (string);
}
