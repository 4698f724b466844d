// Original file: proto/smartqueue/v1/smartqueue.proto


/**
 * Starts a run of a workflow given as YAML text.
 */
export interface SubmitWorkflowRequest {
  /**
   * The workflow document(s), as in a workflow file (apiVersion smartqueue/v1). Required.
   */
  'yaml'?: (string);
  /**
   * Name shown in error positions (`file:line:column`). Default `<input>`.
   */
  'fileName'?: (string);
  /**
   * Which workflow to run when the text holds several documents; required then.
   */
  'workflow'?: (string);
  /**
   * Param values by name; strings are converted to each param's declared type.
   */
  'params'?: ({[key: string]: string});
  /**
   * Labels recorded with the run, added to the workflow's own.
   */
  'labels'?: ({[key: string]: string});
  /**
   * Makes the call safe to retry: the same key with the same request returns the original run
   * id; the same key with a different request is ALREADY_EXISTS. Empty: no deduplication.
   */
  'idempotencyKey'?: (string);
}

/**
 * Starts a run of a workflow given as YAML text.
 */
export interface SubmitWorkflowRequest__Output {
  /**
   * The workflow document(s), as in a workflow file (apiVersion smartqueue/v1). Required.
   */
  'yaml': (string);
  /**
   * Name shown in error positions (`file:line:column`). Default `<input>`.
   */
  'fileName': (string);
  /**
   * Which workflow to run when the text holds several documents; required then.
   */
  'workflow': (string);
  /**
   * Param values by name; strings are converted to each param's declared type.
   */
  'params': ({[key: string]: string});
  /**
   * Labels recorded with the run, added to the workflow's own.
   */
  'labels': ({[key: string]: string});
  /**
   * Makes the call safe to retry: the same key with the same request returns the original run
   * id; the same key with a different request is ALREADY_EXISTS. Empty: no deduplication.
   */
  'idempotencyKey': (string);
}
