// Original file: proto/smartqueue/v1/smartqueue.proto

/**
 * Lifecycle state of a task.
 */
export const TaskStatus = {
  /**
   * Not set (never returned).
   */
  TASK_STATUS_UNSPECIFIED: 'TASK_STATUS_UNSPECIFIED',
  /**
   * Waiting for its needs.
   */
  TASK_STATUS_PENDING: 'TASK_STATUS_PENDING',
  /**
   * Needs are done; queued for a worker.
   */
  TASK_STATUS_READY: 'TASK_STATUS_READY',
  /**
   * An attempt was sent to a worker.
   */
  TASK_STATUS_DISPATCHED: 'TASK_STATUS_DISPATCHED',
  /**
   * An attempt is running.
   */
  TASK_STATUS_RUNNING: 'TASK_STATUS_RUNNING',
  /**
   * Finished successfully.
   */
  TASK_STATUS_SUCCEEDED: 'TASK_STATUS_SUCCEEDED',
  /**
   * Failed after its retries.
   */
  TASK_STATUS_FAILED: 'TASK_STATUS_FAILED',
  /**
   * Not run: its condition was false or a need did not succeed.
   */
  TASK_STATUS_SKIPPED: 'TASK_STATUS_SKIPPED',
  /**
   * Cancelled by request or with its run.
   */
  TASK_STATUS_CANCELLED: 'TASK_STATUS_CANCELLED',
  /**
   * Its last attempt hit the timeout.
   */
  TASK_STATUS_TIMED_OUT: 'TASK_STATUS_TIMED_OUT',
} as const;

/**
 * Lifecycle state of a task.
 */
export type TaskStatus =
  /**
   * Not set (never returned).
   */
  | 'TASK_STATUS_UNSPECIFIED'
  | 0
  /**
   * Waiting for its needs.
   */
  | 'TASK_STATUS_PENDING'
  | 1
  /**
   * Needs are done; queued for a worker.
   */
  | 'TASK_STATUS_READY'
  | 2
  /**
   * An attempt was sent to a worker.
   */
  | 'TASK_STATUS_DISPATCHED'
  | 3
  /**
   * An attempt is running.
   */
  | 'TASK_STATUS_RUNNING'
  | 4
  /**
   * Finished successfully.
   */
  | 'TASK_STATUS_SUCCEEDED'
  | 5
  /**
   * Failed after its retries.
   */
  | 'TASK_STATUS_FAILED'
  | 6
  /**
   * Not run: its condition was false or a need did not succeed.
   */
  | 'TASK_STATUS_SKIPPED'
  | 7
  /**
   * Cancelled by request or with its run.
   */
  | 'TASK_STATUS_CANCELLED'
  | 8
  /**
   * Its last attempt hit the timeout.
   */
  | 'TASK_STATUS_TIMED_OUT'
  | 9

/**
 * Lifecycle state of a task.
 */
export type TaskStatus__Output = typeof TaskStatus[keyof typeof TaskStatus]
