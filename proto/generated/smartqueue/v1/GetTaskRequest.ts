// Original file: proto/smartqueue/v1/smartqueue.proto


/**
 * Reads one task.
 */
export interface GetTaskRequest {
  /**
   * Run id. Required.
   */
  'runId'?: (string);
  /**
   * Task id. Required.
   */
  'taskId'?: (string);
}

/**
 * Reads one task.
 */
export interface GetTaskRequest__Output {
  /**
   * Run id. Required.
   */
  'runId': (string);
  /**
   * Task id. Required.
   */
  'taskId': (string);
}
