// Original file: proto/smartqueue/v1/smartqueue.proto

import type { TaskStatus as _smartqueue_v1_TaskStatus, TaskStatus__Output as _smartqueue_v1_TaskStatus__Output } from '../../smartqueue/v1/TaskStatus.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';

/**
 * The state of one task.
 */
export interface Task {
  /**
   * Run id.
   */
  'runId'?: (string);
  /**
   * Task id.
   */
  'taskId'?: (string);
  /**
   * Current state.
   */
  'status'?: (_smartqueue_v1_TaskStatus);
  /**
   * Latest attempt number (0 before the first).
   */
  'attempt'?: (number);
  /**
   * Worker of the latest attempt.
   */
  'workerId'?: (string);
  /**
   * Outputs of the successful attempt.
   */
  'outputs'?: (_google_protobuf_Struct | null);
  /**
   * Why the task failed, timed out or was cancelled.
   */
  'error'?: (string);
  /**
   * When the latest attempt started.
   */
  'startedAt'?: (_google_protobuf_Timestamp | null);
  /**
   * When the task finished.
   */
  'finishedAt'?: (_google_protobuf_Timestamp | null);
  /**
   * True when it finished after its deadline.
   */
  'deadlineMissed'?: (boolean);
  /**
   * Metadata given to SubmitTask (GetTask only).
   */
  'metadata'?: ({[key: string]: string});
}

/**
 * The state of one task.
 */
export interface Task__Output {
  /**
   * Run id.
   */
  'runId': (string);
  /**
   * Task id.
   */
  'taskId': (string);
  /**
   * Current state.
   */
  'status': (_smartqueue_v1_TaskStatus__Output);
  /**
   * Latest attempt number (0 before the first).
   */
  'attempt': (number);
  /**
   * Worker of the latest attempt.
   */
  'workerId': (string);
  /**
   * Outputs of the successful attempt.
   */
  'outputs': (_google_protobuf_Struct__Output | null);
  /**
   * Why the task failed, timed out or was cancelled.
   */
  'error': (string);
  /**
   * When the latest attempt started.
   */
  'startedAt': (_google_protobuf_Timestamp__Output | null);
  /**
   * When the task finished.
   */
  'finishedAt': (_google_protobuf_Timestamp__Output | null);
  /**
   * True when it finished after its deadline.
   */
  'deadlineMissed': (boolean);
  /**
   * Metadata given to SubmitTask (GetTask only).
   */
  'metadata': ({[key: string]: string});
}
