// Original file: proto/smartqueue/v1/workers.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { AttemptError as _smartqueue_v1_AttemptError, AttemptError__Output as _smartqueue_v1_AttemptError__Output } from '../../smartqueue/v1/AttemptError.js';
import type { Long } from '@grpc/proto-loader';

/**
 * The outcome of one attempt.
 */
export interface AttemptResult {
  'runId'?: (string);
  'taskId'?: (string);
  'attempt'?: (number);
  /**
   * True when the handler returned; `outputs` holds what it returned.
   */
  'ok'?: (boolean);
  'outputs'?: (_google_protobuf_Struct | null);
  /**
   * Set when `ok` is false.
   */
  'error'?: (_smartqueue_v1_AttemptError | null);
  /**
   * When the attempt started and finished on the worker (epoch milliseconds).
   */
  'startedAtMs'?: (number | string | Long);
  'finishedAtMs'?: (number | string | Long);
}

/**
 * The outcome of one attempt.
 */
export interface AttemptResult__Output {
  'runId': (string);
  'taskId': (string);
  'attempt': (number);
  /**
   * True when the handler returned; `outputs` holds what it returned.
   */
  'ok': (boolean);
  'outputs': (_google_protobuf_Struct__Output | null);
  /**
   * Set when `ok` is false.
   */
  'error': (_smartqueue_v1_AttemptError__Output | null);
  /**
   * When the attempt started and finished on the worker (epoch milliseconds).
   */
  'startedAtMs': (number);
  'finishedAtMs': (number);
}
