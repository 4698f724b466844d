// Original file: proto/smartqueue/v1/smartqueue.proto


/**
 * The run started by SubmitWorkflow.
 */
export interface SubmitWorkflowResponse {
  /**
   * Id of the new run (or of the original run for a repeated idempotency key).
   */
  'runId'?: (string);
  /**
   * Name of the workflow that runs.
   */
  'workflow'?: (string);
  /**
   * True when the idempotency key was seen before and no new run was started.
   */
  'deduplicated'?: (boolean);
}

/**
 * The run started by SubmitWorkflow.
 */
export interface SubmitWorkflowResponse__Output {
  /**
   * Id of the new run (or of the original run for a repeated idempotency key).
   */
  'runId': (string);
  /**
   * Name of the workflow that runs.
   */
  'workflow': (string);
  /**
   * True when the idempotency key was seen before and no new run was started.
   */
  'deduplicated': (boolean);
}
