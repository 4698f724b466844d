// Original file: proto/smartqueue/v1/workers.proto


/**
 * Abort one attempt.
 */
export interface Cancel {
  'runId'?: (string);
  'taskId'?: (string);
  'attempt'?: (number);
}

/**
 * Abort one attempt.
 */
export interface Cancel__Output {
  'runId': (string);
  'taskId': (string);
  'attempt': (number);
}
