// Original file: proto/smartqueue/v1/smartqueue.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { Long } from '@grpc/proto-loader';

/**
 * One recorded state change of a run.
 */
export interface RunEvent {
  /**
   * Position in the run's event log, increasing from 1: resume from the last one plus one.
   */
  'seq'?: (number | string | Long);
  /**
   * Run id.
   */
  'runId'?: (string);
  /**
   * Event name, `area:noun:verb` (`task:attempt:dispatched`, `task:state:succeeded`,
   * `run:state:succeeded`, ...).
   */
  'type'?: (string);
  /**
   * When it happened.
   */
  'at'?: (_google_protobuf_Timestamp | null);
  /**
   * The task it is about; empty for run events.
   */
  'taskId'?: (string);
  /**
   * Attempt number, for attempt events.
   */
  'attempt'?: (number);
  /**
   * Event details (error message, worker id, reason, ...).
   */
  'data'?: (_google_protobuf_Struct | null);
}

/**
 * One recorded state change of a run.
 */
export interface RunEvent__Output {
  /**
   * Position in the run's event log, increasing from 1: resume from the last one plus one.
   */
  'seq': (number);
  /**
   * Run id.
   */
  'runId': (string);
  /**
   * Event name, `area:noun:verb` (`task:attempt:dispatched`, `task:state:succeeded`,
   * `run:state:succeeded`, ...).
   */
  'type': (string);
  /**
   * When it happened.
   */
  'at': (_google_protobuf_Timestamp__Output | null);
  /**
   * The task it is about; empty for run events.
   */
  'taskId': (string);
  /**
   * Attempt number, for attempt events.
   */
  'attempt': (number);
  /**
   * Event details (error message, worker id, reason, ...).
   */
  'data': (_google_protobuf_Struct__Output | null);
}
