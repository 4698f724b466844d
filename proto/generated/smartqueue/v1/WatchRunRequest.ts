// Original file: proto/smartqueue/v1/smartqueue.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Watches a run.
 */
export interface WatchRunRequest {
  /**
   * Run id. Required.
   */
  'runId'?: (string);
  /**
   * First sequence number to send (1 = from the beginning; 0 also means 1).
   */
  'fromSeq'?: (number | string | Long);
}

/**
 * Watches a run.
 */
export interface WatchRunRequest__Output {
  /**
   * Run id. Required.
   */
  'runId': (string);
  /**
   * First sequence number to send (1 = from the beginning; 0 also means 1).
   */
  'fromSeq': (number);
}
