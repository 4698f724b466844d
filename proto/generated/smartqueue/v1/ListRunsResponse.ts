// Original file: proto/smartqueue/v1/smartqueue.proto

import type { Run as _smartqueue_v1_Run, Run__Output as _smartqueue_v1_Run__Output } from '../../smartqueue/v1/Run.js';

/**
 * A page of runs.
 */
export interface ListRunsResponse {
  /**
   * The runs, newest first (without their tasks).
   */
  'runs'?: (_smartqueue_v1_Run)[];
  /**
   * Token for the next page; empty on the last page.
   */
  'nextPageToken'?: (string);
}

/**
 * A page of runs.
 */
export interface ListRunsResponse__Output {
  /**
   * The runs, newest first (without their tasks).
   */
  'runs': (_smartqueue_v1_Run__Output)[];
  /**
   * Token for the next page; empty on the last page.
   */
  'nextPageToken': (string);
}
