// Original file: proto/smartqueue/v1/smartqueue.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Watches tasks of a run.
 */
export interface WatchTasksRequest {
  /**
   * Run id; or empty with `namespace` set.
   */
  'runId'?: (string);
  /**
   * Watch the current open run of this namespace (where SubmitTask puts tasks).
   */
  'namespace'?: (string);
  /**
   * Only these tasks; empty: every task of the run (including tasks added later).
   */
  'taskIds'?: (string)[];
  /**
   * First sequence number to consider (1 = from the beginning; 0 also means 1).
   */
  'fromSeq'?: (number | string | Long);
}

/**
 * Watches tasks of a run.
 */
export interface WatchTasksRequest__Output {
  /**
   * Run id; or empty with `namespace` set.
   */
  'runId': (string);
  /**
   * Watch the current open run of this namespace (where SubmitTask puts tasks).
   */
  'namespace': (string);
  /**
   * Only these tasks; empty: every task of the run (including tasks added later).
   */
  'taskIds': (string)[];
  /**
   * First sequence number to consider (1 = from the beginning; 0 also means 1).
   */
  'fromSeq': (number);
}
