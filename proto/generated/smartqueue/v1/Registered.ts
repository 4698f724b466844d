// Original file: proto/smartqueue/v1/workers.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The server accepted the registration.
 */
export interface Registered {
  /**
   * The worker's id as registered.
   */
  'workerId'?: (string);
  /**
   * Send a Heartbeat at least this often (milliseconds). Missing 3 in a row makes the worker lost.
   */
  'heartbeatIntervalMs'?: (number | string | Long);
}

/**
 * The server accepted the registration.
 */
export interface Registered__Output {
  /**
   * The worker's id as registered.
   */
  'workerId': (string);
  /**
   * Send a Heartbeat at least this often (milliseconds). Missing 3 in a row makes the worker lost.
   */
  'heartbeatIntervalMs': (number);
}
