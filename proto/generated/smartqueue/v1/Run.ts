// Original file: proto/smartqueue/v1/smartqueue.proto

import type { RunStatus as _smartqueue_v1_RunStatus, RunStatus__Output as _smartqueue_v1_RunStatus__Output } from '../../smartqueue/v1/RunStatus.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';
import type { Task as _smartqueue_v1_Task, Task__Output as _smartqueue_v1_Task__Output } from '../../smartqueue/v1/Task.js';

/**
 * A run and its tasks.
 */
export interface Run {
  /**
   * Run id.
   */
  'runId'?: (string);
  /**
   * Workflow name.
   */
  'workflow'?: (string);
  /**
   * Current state.
   */
  'status'?: (_smartqueue_v1_RunStatus);
  /**
   * Param values the run uses (strings, numbers and booleans).
   */
  'params'?: (_google_protobuf_Struct | null);
  /**
   * Labels of the run.
   */
  'labels'?: ({[key: string]: string});
  /**
   * When the run started.
   */
  'createdAt'?: (_google_protobuf_Timestamp | null);
  /**
   * When it finished; unset while running.
   */
  'finishedAt'?: (_google_protobuf_Timestamp | null);
  /**
   * Its deadline, if it has one.
   */
  'deadlineAt'?: (_google_protobuf_Timestamp | null);
  /**
   * True when the run finished after its deadline.
   */
  'deadlineMissed'?: (boolean);
  /**
   * True while the run takes submitted tasks (SubmitTask).
   */
  'open'?: (boolean);
  /**
   * Its tasks (GetRun only; empty in ListRuns).
   */
  'tasks'?: (_smartqueue_v1_Task)[];
}

/**
 * A run and its tasks.
 */
export interface Run__Output {
  /**
   * Run id.
   */
  'runId': (string);
  /**
   * Workflow name.
   */
  'workflow': (string);
  /**
   * Current state.
   */
  'status': (_smartqueue_v1_RunStatus__Output);
  /**
   * Param values the run uses (strings, numbers and booleans).
   */
  'params': (_google_protobuf_Struct__Output | null);
  /**
   * Labels of the run.
   */
  'labels': ({[key: string]: string});
  /**
   * When the run started.
   */
  'createdAt': (_google_protobuf_Timestamp__Output | null);
  /**
   * When it finished; unset while running.
   */
  'finishedAt': (_google_protobuf_Timestamp__Output | null);
  /**
   * Its deadline, if it has one.
   */
  'deadlineAt': (_google_protobuf_Timestamp__Output | null);
  /**
   * True when the run finished after its deadline.
   */
  'deadlineMissed': (boolean);
  /**
   * True while the run takes submitted tasks (SubmitTask).
   */
  'open': (boolean);
  /**
   * Its tasks (GetRun only; empty in ListRuns).
   */
  'tasks': (_smartqueue_v1_Task__Output)[];
}
