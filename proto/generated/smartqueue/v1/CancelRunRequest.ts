// Original file: proto/smartqueue/v1/smartqueue.proto


/**
 * Cancels a run.
 */
export interface CancelRunRequest {
  /**
   * Run id. Required.
   */
  'runId'?: (string);
  /**
   * Why, recorded with each cancelled task.
   */
  'reason'?: (string);
}

/**
 * Cancels a run.
 */
export interface CancelRunRequest__Output {
  /**
   * Run id. Required.
   */
  'runId': (string);
  /**
   * Why, recorded with each cancelled task.
   */
  'reason': (string);
}
