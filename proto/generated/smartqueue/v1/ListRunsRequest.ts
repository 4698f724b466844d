// Original file: proto/smartqueue/v1/smartqueue.proto

import type { RunStatus as _smartqueue_v1_RunStatus, RunStatus__Output as _smartqueue_v1_RunStatus__Output } from '../../smartqueue/v1/RunStatus.js';

/**
 * Lists runs.
 */
export interface ListRunsRequest {
  /**
   * Runs per page; 0 means the server's default, larger values are capped.
   */
  'pageSize'?: (number);
  /**
   * `next_page_token` of the previous page; empty for the first page.
   */
  'pageToken'?: (string);
  /**
   * Only runs in this state.
   */
  'status'?: (_smartqueue_v1_RunStatus);
  /**
   * Only runs of this workflow.
   */
  'workflow'?: (string);
}

/**
 * Lists runs.
 */
export interface ListRunsRequest__Output {
  /**
   * Runs per page; 0 means the server's default, larger values are capped.
   */
  'pageSize': (number);
  /**
   * `next_page_token` of the previous page; empty for the first page.
   */
  'pageToken': (string);
  /**
   * Only runs in this state.
   */
  'status': (_smartqueue_v1_RunStatus__Output);
  /**
   * Only runs of this workflow.
   */
  'workflow': (string);
}
