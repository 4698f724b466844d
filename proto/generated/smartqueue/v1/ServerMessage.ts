// Original file: proto/smartqueue/v1/workers.proto

import type { Registered as _smartqueue_v1_Registered, Registered__Output as _smartqueue_v1_Registered__Output } from '../../smartqueue/v1/Registered.js';
import type { Assignment as _smartqueue_v1_Assignment, Assignment__Output as _smartqueue_v1_Assignment__Output } from '../../smartqueue/v1/Assignment.js';
import type { Cancel as _smartqueue_v1_Cancel, Cancel__Output as _smartqueue_v1_Cancel__Output } from '../../smartqueue/v1/Cancel.js';
import type { Settings as _smartqueue_v1_Settings, Settings__Output as _smartqueue_v1_Settings__Output } from '../../smartqueue/v1/Settings.js';

/**
 * A message from the server on the Connect stream.
 */
export interface ServerMessage {
  /**
   * Answer to Register.
   */
  'registered'?: (_smartqueue_v1_Registered | null);
  /**
   * One attempt to run.
   */
  'assignment'?: (_smartqueue_v1_Assignment | null);
  /**
   * Abort a running attempt (its result is still reported, as cancelled).
   */
  'cancel'?: (_smartqueue_v1_Cancel | null);
  /**
   * New session settings (heartbeat interval) that apply from now on.
   */
  'settings'?: (_smartqueue_v1_Settings | null);
  'kind'?: "registered"|"assignment"|"cancel"|"settings";
}

/**
 * A message from the server on the Connect stream.
 */
export interface ServerMessage__Output {
  /**
   * Answer to Register.
   */
  'registered'?: (_smartqueue_v1_Registered__Output | null);
  /**
   * One attempt to run.
   */
  'assignment'?: (_smartqueue_v1_Assignment__Output | null);
  /**
   * Abort a running attempt (its result is still reported, as cancelled).
   */
  'cancel'?: (_smartqueue_v1_Cancel__Output | null);
  /**
   * New session settings (heartbeat interval) that apply from now on.
   */
  'settings'?: (_smartqueue_v1_Settings__Output | null);
  'kind'?: "registered"|"assignment"|"cancel"|"settings";
}
