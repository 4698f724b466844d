// Original file: proto/smartqueue/v1/workers.proto

import type { AttemptResult as _smartqueue_v1_AttemptResult, AttemptResult__Output as _smartqueue_v1_AttemptResult__Output } from '../../smartqueue/v1/AttemptResult.js';

/**
 * A result reported outside the stream.
 */
export interface ReportResultRequest {
  /**
   * The worker that ran the attempt. Required.
   */
  'workerId'?: (string);
  'result'?: (_smartqueue_v1_AttemptResult | null);
}

/**
 * A result reported outside the stream.
 */
export interface ReportResultRequest__Output {
  /**
   * The worker that ran the attempt. Required.
   */
  'workerId': (string);
  'result': (_smartqueue_v1_AttemptResult__Output | null);
}
