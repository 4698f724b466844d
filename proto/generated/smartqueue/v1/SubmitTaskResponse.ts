// Original file: proto/smartqueue/v1/smartqueue.proto


/**
 * Where SubmitTask put the task.
 */
export interface SubmitTaskResponse {
  /**
   * The task's id (the given one, or the one the server assigned).
   */
  'taskId'?: (string);
  /**
   * The run that holds it.
   */
  'runId'?: (string);
  /**
   * True when the idempotency key was seen before and no new task was added.
   */
  'deduplicated'?: (boolean);
}

/**
 * Where SubmitTask put the task.
 */
export interface SubmitTaskResponse__Output {
  /**
   * The task's id (the given one, or the one the server assigned).
   */
  'taskId': (string);
  /**
   * The run that holds it.
   */
  'runId': (string);
  /**
   * True when the idempotency key was seen before and no new task was added.
   */
  'deduplicated': (boolean);
}
