// Original file: proto/smartqueue/v1/smartqueue.proto

/**
 * Lifecycle state of a run.
 */
export const RunStatus = {
  /**
   * Not set (never returned).
   */
  RUN_STATUS_UNSPECIFIED: 'RUN_STATUS_UNSPECIFIED',
  /**
   * Tasks are still running or waiting (or the run is open for more tasks).
   */
  RUN_STATUS_RUNNING: 'RUN_STATUS_RUNNING',
  /**
   * Every task succeeded or was skipped.
   */
  RUN_STATUS_SUCCEEDED: 'RUN_STATUS_SUCCEEDED',
  /**
   * At least one task failed or timed out.
   */
  RUN_STATUS_FAILED: 'RUN_STATUS_FAILED',
  /**
   * The run was cancelled.
   */
  RUN_STATUS_CANCELLED: 'RUN_STATUS_CANCELLED',
} as const;

/**
 * Lifecycle state of a run.
 */
export type RunStatus =
  /**
   * Not set (never returned).
   */
  | 'RUN_STATUS_UNSPECIFIED'
  | 0
  /**
   * Tasks are still running or waiting (or the run is open for more tasks).
   */
  | 'RUN_STATUS_RUNNING'
  | 1
  /**
   * Every task succeeded or was skipped.
   */
  | 'RUN_STATUS_SUCCEEDED'
  | 2
  /**
   * At least one task failed or timed out.
   */
  | 'RUN_STATUS_FAILED'
  | 3
  /**
   * The run was cancelled.
   */
  | 'RUN_STATUS_CANCELLED'
  | 4

/**
 * Lifecycle state of a run.
 */
export type RunStatus__Output = typeof RunStatus[keyof typeof RunStatus]
