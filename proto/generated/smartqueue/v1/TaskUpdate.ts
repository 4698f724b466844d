// Original file: proto/smartqueue/v1/smartqueue.proto

import type { TaskStatus as _smartqueue_v1_TaskStatus, TaskStatus__Output as _smartqueue_v1_TaskStatus__Output } from '../../smartqueue/v1/TaskStatus.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';
import type { Long } from '@grpc/proto-loader';

/**
 * A task's state after a change.
 */
export interface TaskUpdate {
  /**
   * Position in the run's event log of the change: resume from the last one plus one.
   */
  'seq'?: (number | string | Long);
  'runId'?: (string);
  'taskId'?: (string);
  /**
   * The state the task is now in.
   */
  'status'?: (_smartqueue_v1_TaskStatus);
  /**
   * Attempt the change is about (0 before the first).
   */
  'attempt'?: (number);
  /**
   * Worker of the attempt, once dispatched.
   */
  'workerId'?: (string);
  /**
   * Why it failed, timed out, was skipped or cancelled; or the reason of a retry.
   */
  'error'?: (string);
  /**
   * Outputs, when it succeeded.
   */
  'outputs'?: (_google_protobuf_Struct | null);
  /**
   * Progress the handler reported (0..1), with its message; set on progress updates.
   */
  'progress'?: (number | string);
  'message'?: (string);
  /**
   * When the change happened.
   */
  'at'?: (_google_protobuf_Timestamp | null);
  '_progress'?: "progress";
}

/**
 * A task's state after a change.
 */
export interface TaskUpdate__Output {
  /**
   * Position in the run's event log of the change: resume from the last one plus one.
   */
  'seq': (number);
  'runId': (string);
  'taskId': (string);
  /**
   * The state the task is now in.
   */
  'status': (_smartqueue_v1_TaskStatus__Output);
  /**
   * Attempt the change is about (0 before the first).
   */
  'attempt': (number);
  /**
   * Worker of the attempt, once dispatched.
   */
  'workerId': (string);
  /**
   * Why it failed, timed out, was skipped or cancelled; or the reason of a retry.
   */
  'error': (string);
  /**
   * Outputs, when it succeeded.
   */
  'outputs': (_google_protobuf_Struct__Output | null);
  /**
   * Progress the handler reported (0..1), with its message; set on progress updates.
   */
  'progress'?: (number);
  'message': (string);
  /**
   * When the change happened.
   */
  'at': (_google_protobuf_Timestamp__Output | null);
  '_progress'?: "progress";
}
