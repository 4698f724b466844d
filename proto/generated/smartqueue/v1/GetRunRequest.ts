// Original file: proto/smartqueue/v1/smartqueue.proto


/**
 * Reads a run.
 */
export interface GetRunRequest {
  /**
   * Run id. Required.
   */
  'runId'?: (string);
}

/**
 * Reads a run.
 */
export interface GetRunRequest__Output {
  /**
   * Run id. Required.
   */
  'runId': (string);
}
