// Original file: proto/smartqueue/v1/workers.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Why an attempt failed.
 */
export interface AttemptError {
  'message'?: (string);
  /**
   * False when retrying cannot help (NonRetryableError, unknown handler).
   */
  'retryable'?: (boolean);
  /**
   * A delay the handler asked for before the next attempt (RetryAfterError); 0: none.
   */
  'retryAfterMs'?: (number | string | Long);
  /**
   * The attempt hit its timeout.
   */
  'timedOut'?: (boolean);
  /**
   * The attempt was cancelled.
   */
  'cancelled'?: (boolean);
}

/**
 * Why an attempt failed.
 */
export interface AttemptError__Output {
  'message': (string);
  /**
   * False when retrying cannot help (NonRetryableError, unknown handler).
   */
  'retryable': (boolean);
  /**
   * A delay the handler asked for before the next attempt (RetryAfterError); 0: none.
   */
  'retryAfterMs': (number);
  /**
   * The attempt hit its timeout.
   */
  'timedOut': (boolean);
  /**
   * The attempt was cancelled.
   */
  'cancelled': (boolean);
}
