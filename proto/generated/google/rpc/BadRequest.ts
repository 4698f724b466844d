// Original file: proto/google/rpc/error_details.proto


/**
 * A single bad request field.
 */
export interface _google_rpc_BadRequest_FieldViolation {
  /**
   * Path to the field (`spec.tasks[2].needs[0]`, `deadline`), or empty for the whole request.
   */
  'field'?: (string);
  /**
   * Why the field is wrong: for workflows, `file:line:column path: message` as the CLI prints it.
   */
  'description'?: (string);
}

/**
 * A single bad request field.
 */
export interface _google_rpc_BadRequest_FieldViolation__Output {
  /**
   * Path to the field (`spec.tasks[2].needs[0]`, `deadline`), or empty for the whole request.
   */
  'field': (string);
  /**
   * Why the field is wrong: for workflows, `file:line:column path: message` as the CLI prints it.
   */
  'description': (string);
}

/**
 * Describes violations in a client request, one per wrong field.
 */
export interface BadRequest {
  /**
   * Every violation found.
   */
  'fieldViolations'?: (_google_rpc_BadRequest_FieldViolation)[];
}

/**
 * Describes violations in a client request, one per wrong field.
 */
export interface BadRequest__Output {
  /**
   * Every violation found.
   */
  'fieldViolations': (_google_rpc_BadRequest_FieldViolation__Output)[];
}
