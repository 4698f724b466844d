// Original file: proto/smartqueue/v1/workers.proto

import type { Register as _smartqueue_v1_Register, Register__Output as _smartqueue_v1_Register__Output } from '../../smartqueue/v1/Register.js';
import type { Heartbeat as _smartqueue_v1_Heartbeat, Heartbeat__Output as _smartqueue_v1_Heartbeat__Output } from '../../smartqueue/v1/Heartbeat.js';
import type { AttemptResult as _smartqueue_v1_AttemptResult, AttemptResult__Output as _smartqueue_v1_AttemptResult__Output } from '../../smartqueue/v1/AttemptResult.js';
import type { Drain as _smartqueue_v1_Drain, Drain__Output as _smartqueue_v1_Drain__Output } from '../../smartqueue/v1/Drain.js';
import type { Progress as _smartqueue_v1_Progress, Progress__Output as _smartqueue_v1_Progress__Output } from '../../smartqueue/v1/Progress.js';

/**
 * A message from a worker on the Connect stream.
 */
export interface WorkerMessage {
  /**
   * First message of every stream.
   */
  'register'?: (_smartqueue_v1_Register | null);
  /**
   * Liveness and load, at least every heartbeat interval.
   */
  'heartbeat'?: (_smartqueue_v1_Heartbeat | null);
  /**
   * The outcome of one assigned attempt.
   */
  'result'?: (_smartqueue_v1_AttemptResult | null);
  /**
   * Stop sending assignments; the worker closes the stream once its attempts are reported.
   */
  'drain'?: (_smartqueue_v1_Drain | null);
  /**
   * How far a running attempt got (recorded in the run's event log; not a heartbeat).
   */
  'progress'?: (_smartqueue_v1_Progress | null);
  'kind'?: "register"|"heartbeat"|"result"|"drain"|"progress";
}

/**
 * A message from a worker on the Connect stream.
 */
export interface WorkerMessage__Output {
  /**
   * First message of every stream.
   */
  'register'?: (_smartqueue_v1_Register__Output | null);
  /**
   * Liveness and load, at least every heartbeat interval.
   */
  'heartbeat'?: (_smartqueue_v1_Heartbeat__Output | null);
  /**
   * The outcome of one assigned attempt.
   */
  'result'?: (_smartqueue_v1_AttemptResult__Output | null);
  /**
   * Stop sending assignments; the worker closes the stream once its attempts are reported.
   */
  'drain'?: (_smartqueue_v1_Drain__Output | null);
  /**
   * How far a running attempt got (recorded in the run's event log; not a heartbeat).
   */
  'progress'?: (_smartqueue_v1_Progress__Output | null);
  'kind'?: "register"|"heartbeat"|"result"|"drain"|"progress";
}
