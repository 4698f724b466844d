// Original file: proto/smartqueue/v1/workers.proto


/**
 * The worker stops taking new assignments.
 */
export interface Drain {
  /**
   * Why (shown in the server log), e.g. `SIGTERM`.
   */
  'reason'?: (string);
}

/**
 * The worker stops taking new assignments.
 */
export interface Drain__Output {
  /**
   * Why (shown in the server log), e.g. `SIGTERM`.
   */
  'reason': (string);
}
